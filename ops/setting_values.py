"""Settings from text: an environment variable's string made the declared
type, and a number checked against its bounds."""

from __future__ import annotations

import math
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin


class ConfigError(ValueError):
    pass


def out_of_bounds(
    value: float, at_least: float | None, above: float | None, at_most: float | None
) -> str:
    """What is wrong with `value` for these bounds; empty if nothing."""
    if at_least is not None and value < at_least:
        return f"must be at least {at_least:g}"
    if above is not None and value <= above:
        return f"must be more than {above:g}"
    if at_most is not None and value > at_most:
        return f"must be at most {at_most:g}"
    return ""


def parse_value(env: str, raw: str, hint: Any) -> Any:
    target = hint
    if get_origin(hint) in (Union, types.UnionType):
        target = next(a for a in get_args(hint) if a is not type(None))
    try:
        if target is bool:
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected 1/0, true/false, yes/no or on/off")
        if target is int:
            return int(raw)
        if target is float:
            number = float(raw)
            if not math.isfinite(number):
                raise ValueError("expected a finite number")
            return number
        if target is Path:
            return Path(raw)
        return raw
    except ValueError as exc:
        raise ConfigError(f"{env}={raw!r} is not valid: {exc}") from None
