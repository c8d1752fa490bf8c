"""Decimals in JSON: the one decoder every request body goes through, and
bounded decimal fields declared once for the validator and the document.

Money and rates arrive as decimal strings or JSON numbers; JSON numbers
become Decimal as they are read (never a float on the way), so "6.5" and
6.5 reach a money field identically; a whole number written 18.0 is the
integer 18 (JSON Schema's "integer" admits it).

A bounded field is `Annotated[Decimal, BOUNDS.meta("what it is"), BOUNDS]`
with `BOUNDS = Bounds(low, high)`. The OpenAPI document shows it as a string whose
pattern admits exactly the decimals in range (digits, an optional point
and fraction, no exponent) or a number with minimum and maximum; the
server checks the raw JSON value against the same `Bounds` before msgspec
converts it (msgspec alone would take "1e5", " 7" or "NaN").
"""

from __future__ import annotations

import functools
import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from protocols.problems import FieldError


def _number(text: str) -> Decimal | int:
    """A JSON number with a point or an exponent: a whole one (18.0, 1e2) is
    an integer, as JSON Schema counts it; the rest stay exact Decimals."""
    value = Decimal(text)
    if value.is_finite() and abs(value) < _WHOLE_LIMIT and value == value.to_integral_value():
        return int(value)
    return value


_WHOLE_LIMIT = Decimal(10) ** 18
_DECODER = msgspec.json.Decoder(float_hook=_number)
DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def decode_json(data: bytes | str) -> Any:
    """Untyped JSON with its fractional numbers as Decimal."""
    return _DECODER.decode(data)


@dataclass(frozen=True)
class Bounds:
    """low ≤ value ≤ high (low < value when `low_open`), whole-number bounds,
    with at most `places` digits after the point (cents for money): tiny
    values such as 5e-324 are not amounts anyone means, and the engine's
    rounding would turn them into zero."""

    low: int
    high: int
    places: int
    low_open: bool = False

    @property
    def wording(self) -> str:
        lower = "greater than" if self.low_open else "at least"
        return f"{lower} {self.low} and at most {self.high}"

    def problem(self, raw: Any) -> str | None:
        """Why a raw JSON value does not fit, or None when it does."""
        if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
            return None  # the wrong type: msgspec says so
        if isinstance(raw, str):
            if not DECIMAL_TEXT.fullmatch(raw):
                return f'must be a decimal number written like "1264.14", {self.wording}'
            if len(raw.partition(".")[2]) > self.places:
                return f"must have at most {self.places} decimals"
            raw = Decimal(raw)
        value = Decimal(raw)
        if not value.is_finite():
            return f"must be a finite number {self.wording}"
        above_low = value > self.low if self.low_open else value >= self.low
        if not (above_low and value <= self.high):
            return f"must be {self.wording}"
        if value != value.quantize(self.quantum):
            return f"must have at most {self.places} decimals"
        return None

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)

    def json_schema(self) -> dict[str, Any]:
        low = "exclusiveMinimum" if self.low_open else "minimum"
        schema: dict[str, Any] = {
            "type": ["string", "number"],
            "pattern": range_pattern(self.low, self.high, self.places, low_open=self.low_open),
            low: self.low,
            "maximum": self.high,
        }
        if self.places:
            schema["multipleOf"] = float(self.quantum)
        else:
            schema["multipleOf"] = 1
        return schema

    def meta(self, description: str = "") -> Meta:
        """The field's documentation: what it is, and its range in words
        and as a schema (string pattern, number bounds)."""
        wording = f"{self.wording}, with at most {self.places} decimals"
        text = f"{description} {wording[0].upper()}{wording[1:]}.".strip()
        return Meta(description=text, extra_json_schema=self.json_schema())


# ---- the pattern of a range --------------------------------------------------


def range_pattern(low: int, high: int, places: int, *, low_open: bool = False) -> str:
    """An anchored regex matching exactly the decimal strings (DECIMAL_TEXT,
    at most `places` decimals) whose value lies in the range; leading zeros
    and trailing fraction zeros are allowed, as Decimal reads them."""
    if high < low or (low_open and low != 0) or (low > 0 and high == low):
        raise ValueError("a range is low < high, open at the low end only from 0")
    fraction = f"(\\.[0-9]{{1,{places}}})?" if places else ""
    zeros = f"(\\.0{{1,{places}}})?" if places else ""
    parts = []
    if high > 0:
        start = max(low, 1 if low_open else 0)
        if start <= high - 1:
            parts.append(f"0*({_integers(start, high - 1)}){fraction}")
        if low_open and places:
            small = "|".join(
                "0" * k + "[1-9]" + (f"[0-9]{{0,{places - k - 1}}}" if places - k > 1 else "")
                for k in range(places)
            )
            parts.append(f"0+\\.({small})")
        parts.append(f"0*{high}{zeros}")
    elif not low_open:
        parts.append(f"0+{zeros}")
    if low == 0 and not low_open:
        parts.append(f"-0+{zeros}")  # minus zero is zero
    if low < 0:
        magnitude = -low
        negative = f"0*({_integers(0, magnitude - 1)}){fraction}|0*{magnitude}{zeros}"
        parts.append(f"-({negative})")
    return "^(" + "|".join(parts) + ")$"


@functools.cache
def _integers(low: int, high: int) -> str:
    """low..high (0 ≤ low ≤ high) written without leading zeros, as regex
    alternatives, one group of them per number of digits."""
    parts = []
    for width in range(len(str(low)), len(str(high)) + 1):
        first = max(low, 10 ** (width - 1) if width > 1 else 0)
        last = min(high, 10**width - 1)
        if first <= last:
            parts.append(_same_width(str(first), str(last)))
    return "|".join(parts)


def _same_width(first: str, last: str) -> str:
    """Every number from `first` to `last`, both written with the same digits count."""
    if first == last:
        return first
    head, tail = first[0], len(first) - 1
    if first[1:] == "0" * tail and last[1:] == "9" * tail:
        digit = head if head == last[0] else f"[{head}-{last[0]}]"
        return digit + (f"[0-9]{{{tail}}}" if tail else "")
    if head == last[0]:
        return head + "(" + _same_width(first[1:], last[1:]) + ")"
    parts = [head + "(" + _same_width(first[1:], "9" * tail) + ")"]
    if int(last[0]) - int(head) > 1:
        middle = f"[{int(head) + 1}-{int(last[0]) - 1}]"
        parts.append(middle + f"[0-9]{{{tail}}}")
    parts.append(last[0] + "(" + _same_width("0" * tail, last[1:]) + ")")
    return "|".join(parts)


# ---- checking a raw body -----------------------------------------------------


def bounds_errors(data: Any, type_: Any, pointer: str = "") -> list[FieldError]:
    """Every bounded decimal in `data` (raw JSON, or a struct of `type_`)
    that does not fit its declared `Bounds`, by JSON pointer; other mistakes
    are msgspec's to find."""
    errors: list[FieldError] = []
    _walk(data, type_, pointer, errors)
    return errors


def _walk(data: Any, type_: Any, pointer: str, errors: list[FieldError]) -> None:
    if data is None:
        return
    origin = typing.get_origin(type_)
    if origin is Annotated:
        bounds = next((m for m in type_.__metadata__ if isinstance(m, Bounds)), None)
        if bounds is not None:
            detail = bounds.problem(data)
            if detail is not None:
                errors.append(FieldError(pointer=pointer or "/", detail=detail))
            return
        _walk(data, type_.__origin__, pointer, errors)
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(type_):
            if arg is not type(None):
                _walk(data, arg, pointer, errors)
                return
    elif origin is list and isinstance(data, list):
        (item,) = typing.get_args(type_)
        for k, value in enumerate(data):
            _walk(value, item, f"{pointer}/{k}", errors)
    elif origin is dict and isinstance(data, dict):
        _, item = typing.get_args(type_)
        for key, value in data.items():
            _walk(value, item, f"{pointer}/{key}", errors)
    elif isinstance(type_, type) and issubclass(type_, msgspec.Struct):
        for name, attribute, field_type in _struct_fields(type_):
            if isinstance(data, dict) and name in data:
                _walk(data[name], field_type, f"{pointer}/{name}", errors)
            elif isinstance(data, type_):
                _walk(getattr(data, attribute), field_type, f"{pointer}/{name}", errors)


@functools.cache
def _struct_fields(type_: type[msgspec.Struct]) -> tuple[tuple[str, str, Any], ...]:
    hints = typing.get_type_hints(type_, include_extras=True)
    return tuple((f.encode_name, f.name, hints[f.name]) for f in msgspec.structs.fields(type_))
