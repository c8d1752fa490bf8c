"""Liveness, readiness, metrics and the API document."""

from __future__ import annotations

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from server import keys, openapi
from server.routing import ApiRoutes, Endpoint, json_response

routes = ApiRoutes(tag="operations")


class Health(msgspec.Struct):
    status: str


class PartStatus(msgspec.Struct):
    part: str
    ok: bool
    detail: str = ""


class ReadyReport(msgspec.Struct):
    status: str
    parts: list[PartStatus]


@routes.get("/healthz", response=Health, summary="The process is up")
async def healthz(request: web.Request) -> Health:
    return Health(status="ok")


@routes.get("/readyz", response=ReadyReport, summary="Database and permanent actors answer")
async def readyz(request: web.Request) -> web.Response:
    parts: list[keys.Readiness] = []
    try:
        await request.app[keys.DB].ping()
        parts.append(keys.Readiness("database", True))
    except Exception as exc:
        parts.append(
            keys.Readiness("database", False, f"database unavailable ({type(exc).__name__})")
        )
    down = request.app[keys.SYSTEM].unhealthy_permanent()
    parts.append(keys.Readiness("actors", not down, ", ".join(f"{n} is down" for n in down)))
    for check in request.app[keys.READINESS_CHECKS]:
        parts.extend(await check())
    ready = all(p.ok for p in parts if p.critical)
    report = ReadyReport(
        status="ready" if ready else "unavailable",
        parts=[PartStatus(p.part, p.ok, p.detail) for p in parts],
    )
    return json_response(report, status=200 if ready else 503)


@routes.get("/metrics", summary="Prometheus metrics")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/api/openapi.json", summary="This document")
async def openapi_document(request: web.Request) -> web.Response:
    endpoints: list[Endpoint] = request.app[keys.ENDPOINTS]
    document = openapi.build(endpoints, title="Rateline", version="0.1.0")
    return json_response(document)
