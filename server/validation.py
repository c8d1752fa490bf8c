"""Turning request bodies and query strings into typed structs, or into
problem documents that point at every field the client must fix."""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from protocols.api.decimals import bounds_errors, decode_json
from protocols.problems import FieldError, Problem

T = TypeVar("T")

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


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
    return FieldError(pointer=pointer or "/", detail=_plain(message))


_LENGTH = re.compile(r"^Expected `str` of length (?P<op>>=|<=) (?P<n>\d+)$")
_PATTERN = re.compile(r"^Expected `str` matching regex (?P<regex>.+)$", re.DOTALL)


def _plain(message: str) -> str:
    """msgspec's wording of a string constraint, as a fix for a person."""
    if length := _LENGTH.match(message):
        bound = "at least" if length["op"] == ">=" else "at most"
        return f"must be {bound} {length['n']} characters"
    if pattern := _PATTERN.match(message):
        return f"must match the pattern {pattern['regex']} (see /api/openapi.json)"
    return message


class FieldByField:
    """A body decoded one top-level field at a time.

    msgspec stops at the first error; decoding each field on its own tells
    the client everything that is wrong in one round trip, and keeps the
    values that did decode for the rules that span fields."""

    def __init__(self, data: Any, type_: type[Any], *, strict: bool = True) -> None:
        self.strict = strict
        self.errors: list[FieldError] = []
        self.values: dict[str, Any] = {}
        self.struct = (
            isinstance(data, dict) and isinstance(type_, type) and issubclass(type_, msgspec.Struct)
        )
        if not self.struct:
            return
        info = msgspec.inspect.type_info(type_)
        assert isinstance(info, msgspec.inspect.StructType)
        hints = typing.get_type_hints(type_, include_extras=True)
        for f in info.fields:
            pointer = f"/{f.encode_name}"
            if f.encode_name not in data:
                if f.required:
                    self.errors.append(FieldError(pointer=pointer, detail="is required"))
                continue
            raw = data[f.encode_name]
            try:
                self.values[f.name] = msgspec.convert(raw, hints[f.name], strict=self.strict)
            except msgspec.ValidationError as exc:
                self.values[f.name] = raw
                bounds = _integer_bounds(f.type)
                described = _description(f.type)
                if bounds is not None and isinstance(raw, int | str | Decimal):
                    self.errors.append(FieldError(pointer=pointer, detail=bounds))
                elif described and str(exc).startswith("Invalid enum value"):
                    detail = f"{str(exc).split(' - at ')[0]}; expected: {described}"
                    self.errors.append(FieldError(pointer=pointer, detail=detail))
                else:
                    self.errors.append(field_error(exc, prefix=pointer))
        if info.forbid_unknown_fields:
            known = {f.encode_name for f in info.fields}
            self.errors.extend(
                FieldError(pointer=f"/{name}", detail="is not a known field; remove it")
                for name in data
                if name not in known
            )


def _description(type_info: Any) -> str | None:
    """The field's declared description, without its full stop."""
    while isinstance(type_info, msgspec.inspect.Metadata):
        schema = type_info.extra_json_schema or {}
        if schema.get("description"):
            text: str = schema["description"]
            return text.rstrip(".")
        type_info = type_info.type
    return None


def _integer_bounds(type_info: Any) -> str | None:
    """'must be a whole number from 1 to 480' for a bounded integer field."""
    while isinstance(type_info, msgspec.inspect.Metadata):
        type_info = type_info.type
    if not isinstance(type_info, msgspec.inspect.IntType):
        return None
    low = type_info.ge if type_info.ge is not None else type_info.gt
    high = type_info.le if type_info.le is not None else type_info.lt
    if low is None or high is None:
        return None
    lower = "from" if type_info.ge is not None else "greater than"
    upper = "to" if type_info.le is not None else "and below"
    return f"must be a whole number {lower} {low} {upper} {high}"


Check = Callable[[Any], None]


async def decode_body(request: web.Request, type_: type[T], check: Check | None = None) -> T:
    """Decode the body into `type_` (checking each decimal against the bounds
    its type declares), then apply `check` (the rules spanning fields), so
    one 422 names every field to fix."""
    if request.content_type != "application/json" and not request.content_type.endswith("+json"):
        raise Problem(
            415,
            "Unsupported media type",
            f"send the body as application/json, not {request.content_type or 'nothing'}",
        )
    raw = await request.read()
    try:
        data = decode_json(raw)
    except msgspec.DecodeError as exc:
        raise Problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _too_deep() from None
    out_of_range = bounds_errors(data, type_)
    try:
        body = msgspec.convert(data, type_)
    except RecursionError:
        raise _too_deep() from None
    except msgspec.ValidationError as exc:
        decoded = FieldByField(data, type_)
        errors = out_of_range + _beside(out_of_range, decoded.errors or [field_error(exc)])
        if check is not None and decoded.struct:
            errors += _rule_errors(errors, lambda: type_(**decoded.values), check)
        raise _invalid(errors) from None
    if out_of_range:
        if check is not None:
            out_of_range += _rule_errors(out_of_range, lambda: body, check)
        raise _invalid(out_of_range)
    if check is not None:
        check(body)
    return body


def _numbers_for_times(data: dict[str, str], type_: Any) -> list[FieldError]:
    """Times written as numbers: msgspec's lax mode would read "0.5" as a Unix
    time, but the document says a query time is an RFC 3339 date-time."""
    if not (isinstance(type_, type) and issubclass(type_, msgspec.Struct)):
        return []
    hints = typing.get_type_hints(type_)
    errors = []
    for field in msgspec.structs.fields(type_):
        text, hint = data.get(field.encode_name), hints[field.name]
        if text is not None and datetime in (hint, *typing.get_args(hint)):
            try:
                float(text)
            except ValueError:
                continue
            errors.append(
                FieldError(
                    pointer=f"/{field.encode_name}",
                    detail="must be a date and time like 2026-01-05T18:00:00Z, not a number",
                )
            )
    return errors


def _beside(known: list[FieldError], more: list[FieldError]) -> list[FieldError]:
    """`more`, less the errors about a field `known` already reports on."""
    reported = {e.pointer for e in known}
    return [
        e
        for e in more
        if not any(e.pointer == p or e.pointer.startswith(p + "/") for p in reported)
    ]


def _too_deep() -> Problem:
    return Problem(
        400,
        "Malformed JSON",
        "the body nests arrays or objects too deeply; send the document the API describes",
    )


def _rule_errors(
    known: list[FieldError], build: Callable[[], Any], check: Check
) -> list[FieldError]:
    """The rules' verdict on the fields that did decode, so a client sending a
    bad type in one field still hears about a broken rule elsewhere."""
    try:
        check(build())
    except Problem as problem:
        return _beside(known, problem.errors)
    except Exception:
        return []
    return []


def _invalid(errors: list[FieldError]) -> Problem:
    return Problem(
        422,
        "Invalid input",
        "; ".join(f"{e.pointer}: {e.detail}" for e in errors),
        errors=errors,
    )


def decode_query(request: web.Request, type_: type[T]) -> T:
    data = {key: request.query.getone(key) for key in request.query}
    errors = _numbers_for_times(data, type_)
    if not errors:
        try:
            return msgspec.convert(data, type_, strict=False)  # every query value is text
        except msgspec.ValidationError as exc:
            errors = FieldByField(data, type_, strict=False).errors or [field_error(exc)]
    names = ", ".join(e.pointer.lstrip("/") for e in errors)
    raise Problem(
        400,
        "Invalid query parameter",
        "; ".join(f"parameter {e.pointer.lstrip('/')}: {e.detail}" for e in errors)
        or f"check the parameters {names}",
        errors=errors,
    )
