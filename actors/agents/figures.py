"""The figure check: a model may phrase the advice, never do the arithmetic.

Every number a model's answer quotes must be one the engine produced (or one
the user typed). A quote may be rounded to whole units — "$1,264" for
1264.14 — but anything else is a figure nobody computed, and the answer is
rejected in favour of the built-in advisor's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import msgspec

_NUMBER = re.compile(r"(?<![\w.])-?\$?\d(?:[\d,]*\d)?(?:\.\d+)?")


def numbers_in(text: str) -> list[Decimal]:
    """Numbers as a reader would see them: "$1,264.14", "6.5%", "-120"."""
    found = []
    for match in _NUMBER.finditer(text):
        token = match.group().replace("$", "").replace(",", "")
        try:
            found.append(Decimal(token))
        except InvalidOperation:
            continue
    return found


def strings_in(value: Any) -> Iterable[str]:
    """Every string inside a struct, list or dict, keys excluded."""
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value)
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings_in(item)


def figures_of(*values: Any) -> set[Decimal]:
    """The set of figures quoted anywhere in these values (numbers and
    numeric strings alike)."""
    figures: set[Decimal] = set()
    for value in values:
        builtins = msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
        _collect(builtins, figures)
    return {f.normalize() for f in figures}


def _collect(value: Any, into: set[Decimal]) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, Decimal)):
        into.add(Decimal(value))
    elif isinstance(value, float):
        into.add(Decimal(repr(value)))
    elif isinstance(value, str):
        into.update(numbers_in(value))
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, into)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            _collect(item, into)


def _whole(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def unknown_figures(answer: Any, allowed: set[Decimal]) -> list[Decimal]:
    """The numbers `answer` quotes that are not in `allowed`; empty means it
    passes. Signs are ignored (a saving may be written as a cost)."""
    allowed_abs = {abs(a).normalize() for a in allowed}
    rounded = {_whole(a) for a in allowed_abs if a >= 100}
    bad = []
    for text in strings_in(answer):
        for number in numbers_in(text):
            quoted = abs(number).normalize()
            if quoted in allowed_abs or (quoted == _whole(quoted) and quoted in rounded):
                continue
            bad.append(number)
    return bad
