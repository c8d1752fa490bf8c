"""Decimals in JSON: the one decoder every request body goes through.

Money and rates arrive as decimal strings or JSON numbers; JSON numbers
become Decimal as they are read (never a float on the way), so "6.5" and
6.5 reach a money field identically.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode_json(data: bytes | str) -> Any:
    """Untyped JSON with its fractional numbers as Decimal."""
    return _DECODER.decode(data)
