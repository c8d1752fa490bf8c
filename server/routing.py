"""Declaring API routes together with their request and response types.

A route says what it takes and what it answers; the same declaration decodes
the request, encodes the reply and feeds /api/openapi.json, so the document
can never disagree with the code.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson
from aiohttp import web

from server.validation import decode_body, decode_query

Handler = Callable[..., Awaitable[Any]]
AuthGuard = Callable[[web.Request, str | None], Awaitable[Any]]

AUTH_GUARD: web.AppKey[AuthGuard] = web.AppKey("auth_guard")


@dataclass(frozen=True)
class Header:
    """A request header the operation reads, for the document (the handler
    checks it)."""

    name: str
    description: str
    pattern: str | None = None
    required: bool = True


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    tag: str
    summary: str
    body: Any = None
    query: Any = None
    response: Any = None
    status: int = 200
    auth: str | None = None
    check: Callable[[Any], None] | None = None
    documented: bool = True
    headers: tuple[Header, ...] = ()

    @property
    def template(self) -> str:
        """The path as people write it: `{agent}`, without the route's regex."""
        return _REGEX_PARAM.sub(r"{\1}", self.path)


_REGEX_PARAM = re.compile(r"\{(\w+):[^}]*\}")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Encode structs, lists and dicts with orjson; Decimal travels as a string."""
    payload = msgspec.to_builtins(data) if not isinstance(data, (bytes, str)) else data
    return web.Response(
        body=orjson.dumps(payload),
        status=status,
        content_type="application/json",
        headers=headers,
    )


class ApiRoutes:
    """The routes of one area of the API (one OpenAPI tag)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._route("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._route("DELETE", path, **options)

    def _route(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Any = None,
        response: Any = None,
        status: int = 200,
        summary: str = "",
        auth: str | None = None,
        check: Callable[[Any], None] | None = None,
        documented: bool = True,
        headers: tuple[Header, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    handler=handler,
                    tag=self.tag,
                    summary=summary or (handler.__doc__ or "").strip().split("\n")[0],
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    auth=auth,
                    check=check,
                    documented=documented,
                    headers=headers,
                )
            )
            return handler

        return register

    def install(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, _adapt(endpoint))


def _adapt(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if endpoint.auth is not None:
            await request.app[AUTH_GUARD](request, endpoint.auth)
        args: list[Any] = []
        if endpoint.body is not None:
            args.append(await decode_body(request, endpoint.body, endpoint.check))
        if endpoint.query is not None:
            args.append(decode_query(request, endpoint.query))
        result = await endpoint.handler(request, *args)
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result, status=endpoint.status)

    handle.__name__ = endpoint.handler.__name__
    return handle
