"""The OpenAPI 3.1 document, generated from the declared routes' types."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from protocols.problems import ProblemDocument
from server.routing import Endpoint

_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_REF = "#/components/schemas/{name}"
_PROBLEM = {"$ref": "#/components/schemas/ProblemDocument"}


def build(endpoints: Iterable[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    endpoints = list(endpoints)
    types: list[Any] = [ProblemDocument]
    for e in endpoints:
        types.extend(t for t in (e.body, e.query, e.response) if t is not None)
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    schema_of = dict(zip(map(id, types), schemas, strict=True))

    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        path = _PARAM.sub(r"{\1}", e.path)
        operation: dict[str, Any] = {
            "tags": [e.tag],
            "summary": e.summary,
            "operationId": f"{e.method.lower()}_{e.handler.__name__}",
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(e.path)
            ],
            "responses": {
                "default": {
                    "description": "A problem (RFC 9457)",
                    "content": {"application/problem+json": {"schema": _PROBLEM}},
                }
            },
        }
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
        if e.auth is not None:
            operation["security"] = [{"session": []}]
            operation["description"] = f"Requires a session ({e.auth})."
        paths.setdefault(path, {})[e.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}},
        },
    }


def _query_parameters(components: dict[str, Any], ref: dict[str, Any]) -> list[dict[str, Any]]:
    schema = components[ref["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]
