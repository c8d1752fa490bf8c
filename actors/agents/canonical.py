"""One key per question, however it was written.

Two requests that mean the same thing must share a cache entry: the order of
fields, `6.5` versus `"6.500"`, a trailing space or an explicitly sent default
must not cost a second model call. Inputs are hashed after they were decoded
into the agent's input type (so defaults are filled in and numbers are
Decimals), then every number is written in its shortest exact form.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
import orjson


def _number(value: Decimal) -> str:
    if not value.is_finite():
        return str(value)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def canonical(value: Any) -> Any:
    """A JSON-ready structure in which insignificant differences are gone."""
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value, builtin_types=(Decimal, datetime, date))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int):
        return _number(Decimal(value))
    if isinstance(value, float):
        return _number(Decimal(repr(value)))
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    return orjson.dumps(canonical(value), option=orjson.OPT_SORT_KEYS)


def input_hash(value: Any) -> str:
    """SHA-256 of the canonical form: the cache key and the stored lookup key."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
