"""The settings as people read them: rows for the README table and for
`rateline serve --help`, drawn from the declaration in ops.config."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.config import Settings


@dataclass(frozen=True)
class SettingDoc:
    env: str
    default: str
    allowed: str
    help: str


def documented() -> Iterator[SettingDoc]:
    for f in dataclasses.fields(Settings):
        default = "" if f.default is None else str(f.default)
        if isinstance(f.default, Path) and not f.default.is_absolute():
            default = f"./{f.default}"
        if isinstance(f.default, bool):
            default = "1" if f.default else "0"
        yield SettingDoc(f.metadata["env"], default, allowed(f.metadata), f.metadata["help"])


def allowed(meta: Mapping[str, Any]) -> str:
    """The bounds of a number, as the README shows them ("> 0", "0–65535")."""
    low, above, high = meta["at_least"], meta["above"], meta["at_most"]
    if low is not None and high is not None:
        return f"{low:g}–{high:g}"
    if low is not None:
        return f"≥ {low:g}"
    if above is not None:
        return f"> {above:g}"
    return f"≤ {high:g}" if high is not None else ""


def markdown_table() -> str:
    lines = ["| Variable | Default | Allowed | What it does |", "|---|---|---|---|"]
    for doc in documented():
        default = f"`{doc.default}`" if doc.default else "(unset)"
        lines.append(f"| `{doc.env}` | {default} | {doc.allowed} | {doc.help} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
