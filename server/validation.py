"""Turning request bodies and query strings into typed structs, or into
problem documents that point at every field the client must fix."""

from __future__ import annotations

import re
import typing
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from protocols.problems import FieldError, Problem

T = TypeVar("T")

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
# Numbers become Decimal, so "6.5" and 6.5 reach a money field identically.
_JSON = msgspec.json.Decoder(float_hook=Decimal)


def _pointer(path: str) -> str:
    return "".join(f"/{name or index}" for name, index in _STEP.findall(path))


def field_error(error: msgspec.ValidationError, prefix: str = "") -> FieldError:
    """Translate msgspec's message into a JSON pointer and a readable fix."""
    match = _AT.match(str(error))
    assert match is not None
    message, path = match.group("message"), match.group("path") or ""
    pointer = prefix + _pointer(path)
    if missing := _MISSING.match(message):
        return FieldError(pointer=f"{pointer}/{missing['field']}", detail="is required")
    if unknown := _UNKNOWN.match(message):
        return FieldError(
            pointer=f"{pointer}/{unknown['field']}", detail="is not a known field; remove it"
        )
    return FieldError(pointer=pointer or "/", detail=message)


def every_field_error(data: Any, type_: type[Any]) -> list[FieldError]:
    """msgspec stops at the first error; check each top-level field on its own
    so the client learns everything that is wrong in one round trip."""
    if not (
        isinstance(data, dict) and isinstance(type_, type) and issubclass(type_, msgspec.Struct)
    ):
        return []
    errors: list[FieldError] = []
    info = msgspec.inspect.type_info(type_)
    assert isinstance(info, msgspec.inspect.StructType)
    known = {f.encode_name for f in info.fields}
    hints = typing.get_type_hints(type_, include_extras=True)
    for f in info.fields:
        if f.encode_name not in data:
            if f.required:
                errors.append(FieldError(pointer=f"/{f.encode_name}", detail="is required"))
            continue
        try:
            msgspec.convert(data[f.encode_name], hints[f.name], strict=False)
        except msgspec.ValidationError as exc:
            errors.append(field_error(exc, prefix=f"/{f.encode_name}"))
    if info.forbid_unknown_fields:
        errors.extend(
            FieldError(pointer=f"/{name}", detail="is not a known field; remove it")
            for name in data
            if name not in known
        )
    return errors


async def decode_body(request: web.Request, type_: type[T]) -> T:
    if request.content_type != "application/json" and not request.content_type.endswith("+json"):
        raise Problem(
            415,
            "Unsupported media type",
            f"send the body as application/json, not {request.content_type or 'nothing'}",
        )
    raw = await request.read()
    try:
        data = _JSON.decode(raw)
    except msgspec.DecodeError as exc:
        raise Problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    try:
        return msgspec.convert(data, type_, strict=False)
    except msgspec.ValidationError as exc:
        errors = every_field_error(data, type_) or [field_error(exc)]
        raise Problem(
            422,
            "Invalid input",
            "; ".join(f"{e.pointer}: {e.detail}" for e in errors),
            errors=errors,
        ) from None


def decode_query(request: web.Request, type_: type[T]) -> T:
    data = {key: request.query.getone(key) for key in request.query}
    try:
        return msgspec.convert(data, type_, strict=False)
    except msgspec.ValidationError as exc:
        errors = every_field_error(data, type_) or [field_error(exc)]
        names = ", ".join(e.pointer.lstrip("/") for e in errors)
        raise Problem(
            400,
            "Invalid query parameter",
            "; ".join(f"parameter {e.pointer.lstrip('/')}: {e.detail}" for e in errors)
            or f"check the parameters {names}",
            errors=errors,
        ) from None
