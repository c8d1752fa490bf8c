"""The OpenAPI 3.1 document, generated from the declared routes' types."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable
from typing import Any

import msgspec
from aiohttp import web

from protocols.problems import BROKEN_RULE, ProblemDocument
from server.routing import Endpoint, Header

_PARAM = re.compile(r"\{(\w+)(?::([^}]*))?\}")
_REF = "#/components/schemas/{name}"
_PROBLEM = {"$ref": "#/components/schemas/ProblemDocument"}
_RULES_NOTE = (
    "Besides the schema, rules spanning fields apply; a request breaking one is "
    f"answered 422 with the problem type {BROKEN_RULE} and a pointer to each field."
)


def build(endpoints: Iterable[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    endpoints = [e for e in endpoints if e.documented and not _is_websocket(e)]
    types: list[Any] = [ProblemDocument]
    for e in endpoints:
        types.extend(t for t in (e.body, e.query, e.response) if t is not None)
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    _decimals_take_numbers(components)
    schema_of = dict(zip(map(id, types), schemas, strict=True))

    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        path = _PARAM.sub(r"{\1}", e.path)
        operation: dict[str, Any] = {
            "tags": [e.tag],
            "summary": e.summary,
            "operationId": f"{e.method.lower()}_{e.handler.__name__}",
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": _path_schema(regex)}
                for name, regex in _PARAM.findall(e.path)
            ],
            "responses": {
                "default": {
                    "description": "A problem (RFC 9457)",
                    "content": {"application/problem+json": {"schema": _PROBLEM}},
                }
            },
        }
        operation["parameters"].extend(_header_parameter(h) for h in e.headers)
        if e.query is not None:
            operation["parameters"].extend(_query_parameters(components, schema_of[id(e.query)]))
        if e.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema_of[id(e.body)]}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if e.response is not None:
            ok["content"] = {"application/json": {"schema": schema_of[id(e.response)]}}
        operation["responses"][str(e.status)] = ok
        notes = []
        if e.auth is not None:
            operation["security"] = [{"session": []}]
            notes.append(f"Requires a session ({e.auth}).")
        if e.check is not None:
            notes.append(_RULES_NOTE)
        if notes:
            operation["description"] = " ".join(notes)
        paths.setdefault(path, {})[e.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Live rates and notifications travel over the WebSocket at "
            "GET /ws, described in the README; this document covers the HTTP API.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}},
        },
    }


def _header_parameter(header: Header) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if header.pattern is not None:
        schema["pattern"] = header.pattern
    return {
        "name": header.name,
        "in": "header",
        "required": header.required,
        "description": header.description,
        "schema": schema,
    }


def _path_schema(regex: str) -> dict[str, Any]:
    """A path parameter as the router matches it (its regex, when it has one)."""
    return {"type": "string", "pattern": f"^({regex})$"} if regex else {"type": "string"}


def _query_parameters(components: dict[str, Any], ref: dict[str, Any]) -> list[dict[str, Any]]:
    schema = components[ref["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _decimals_take_numbers(node: Any) -> None:
    """A bounded decimal input is a decimal string or a JSON number (see
    protocols/api/decimals.py); msgspec writes every Decimal as a string."""
    if isinstance(node, dict):
        if node.get("format") == "decimal" and "pattern" in node:
            del node["format"]
            node["type"] = ["string", "number"]
        for value in node.values():
            _decimals_take_numbers(value)
    elif isinstance(node, list):
        for value in node:
            _decimals_take_numbers(value)


def _is_websocket(endpoint: Endpoint) -> bool:
    """A WebSocket upgrade is not an HTTP operation; the README documents it."""
    try:
        hints = typing.get_type_hints(endpoint.handler)
    except Exception:
        return False
    answer = hints.get("return")
    return isinstance(answer, type) and issubclass(answer, web.WebSocketResponse)
