"""Request id, access log, metrics and uniform problem+json errors."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import msgspec
import orjson
from aiohttp import web

from actors.runtime import ActorUnavailable
from ops.logging import request_id_var
from ops.metrics import ERRORS, HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS
from protocols.problems import Problem
from server.auth import client_ip
from server.keys import CONFIG, REQUEST_ID

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

access_log = logging.getLogger("rateline.access")
error_log = logging.getLogger("rateline.errors")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
PROBLEM_TYPE = "application/problem+json"


def _route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (the caller's, if sane), time it, log it."""
    supplied = request.headers.get("X-Request-Id", "")
    request_id = supplied if _CLIENT_ID.match(supplied) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    HTTP_IN_FLIGHT.inc()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:
            response.headers["X-Request-Id"] = request_id
        return response
    finally:
        HTTP_IN_FLIGHT.dec()
        elapsed = time.perf_counter() - started
        route = _route_template(request)
        HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
        HTTP_LATENCY.labels(request.method, route).observe(elapsed)
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
                "remote": client_ip(request),
            },
        )
        request_id_var.reset(token)


def problem_response(request: web.Request, problem: Problem) -> web.Response:
    document = problem.document(instance=request.get(REQUEST_ID, ""))
    return web.Response(
        body=orjson.dumps(msgspec.to_builtins(document)),
        status=problem.status,
        content_type=PROBLEM_TYPE,
        headers=problem.headers,
    )


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> Problem:
    headers: dict[str, str] = {}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        headers["Allow"] = allowed
        detail = f"{request.method} is not allowed on {request.path}; use {allowed}"
    elif isinstance(exc, web.HTTPNotFound):
        detail = f"there is no resource at {request.path}; see /api/openapi.json"
    elif isinstance(exc, web.HTTPRequestEntityTooLarge):
        detail = (
            f"the body is larger than the limit of {request.app[CONFIG].max_body_bytes} bytes; "
            "send less"
        )
    else:
        detail = exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}" else ""
    return Problem(exc.status, exc.reason, detail, headers=headers)


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as RFC 9457; system errors say nothing internal."""
    try:
        return await handler(request)
    except Problem as problem:
        ERRORS.labels("client" if problem.status < 500 else "server").inc()
        return problem_response(request, problem)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        ERRORS.labels("client" if exc.status < 500 else "server").inc()
        return problem_response(request, _from_http_exception(request, exc))
    except ActorUnavailable as exc:
        ERRORS.labels("unavailable").inc()
        error_log.warning("actor unavailable", extra={"path": request.path, "reason": str(exc)})
        return problem_response(
            request,
            Problem(
                503,
                "Service Unavailable",
                "a worker needed for this request is restarting or busy; retry shortly",
                headers={"Retry-After": "1"},
            ),
        )
    except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError):
        ERRORS.labels("client").inc()
        return problem_response(
            request,
            Problem(
                400,
                "Characters that cannot be stored",
                "the request holds a character the server cannot store (such as U+0000); remove it",
            ),
        )
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        ERRORS.labels("internal").inc()
        error_log.exception(
            "unhandled error", extra={"method": request.method, "path": request.path}
        )
        return problem_response(
            request,
            Problem(
                500,
                "Internal Server Error",
                "something went wrong on our side; quote the request id "
                f"{request.get(REQUEST_ID, '')} if you contact support",
            ),
        )
