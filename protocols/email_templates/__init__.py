"""Email templates: a plain-text and an HTML body per message kind.

A template is two files named after it, `<name>.txt` and `<name>.html`, with
`${placeholders}`. The text file starts with header lines and a blank line:
`Subject:` (required, may use placeholders) and `Sensitive: yes` for emails
carrying a secret link, whose bodies the outbox blanks once delivered. Values
are HTML-escaped in the HTML body only.

Other packages ship their own templates in their own folder and announce it
once with `add_folder`, so a receipt or a lead notification needs no edit here.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_FOLDERS: list[Path] = [Path(__file__).parent]


class TemplateError(LookupError):
    """Unknown template, or a placeholder the caller gave no value for."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    sensitive: bool


@dataclass(frozen=True)
class _Template:
    name: str
    subject: string.Template
    text: string.Template
    html: string.Template
    sensitive: bool


def add_folder(folder: Path) -> None:
    """Make the templates in `folder` available by name (later folders win)."""
    folder = Path(folder)
    if folder not in _FOLDERS:
        _FOLDERS.append(folder)
        _load.cache_clear()


def names() -> list[str]:
    found = {p.stem for folder in _FOLDERS for p in folder.glob("*.txt")}
    return sorted(n for n in found if _find(n, ".html") is not None)


def render(name: str, context: Mapping[str, object]) -> RenderedEmail:
    template = _load(name)
    values = {key: "" if value is None else str(value) for key, value in context.items()}
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    try:
        subject = template.subject.substitute(values)
        text = template.text.substitute(values)
        body = template.html.substitute(escaped)
    except KeyError as exc:
        raise TemplateError(f"template {name!r} needs a value for {exc.args[0]!r}") from None
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=text,
        html=body,
        sensitive=template.sensitive,
    )


def _find(name: str, suffix: str) -> Path | None:
    for folder in reversed(_FOLDERS):
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


@cache
def _load(name: str) -> _Template:
    text_path, html_path = _find(name, ".txt"), _find(name, ".html")
    if text_path is None or html_path is None:
        raise TemplateError(f"no email template {name!r}; known: {', '.join(names())}")
    head, sep, body = text_path.read_text(encoding="utf-8").partition("\n\n")
    if not sep:
        raise TemplateError(f"{text_path.name}: headers must end with a blank line")
    headers: dict[str, str] = {}
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        if not colon:
            raise TemplateError(f"{text_path.name}: header line {line!r} has no colon")
        headers[key.strip().lower()] = value.strip()
    if "subject" not in headers:
        raise TemplateError(f"{text_path.name}: a Subject: header is required")
    return _Template(
        name=name,
        subject=string.Template(headers["subject"]),
        text=string.Template(body),
        html=string.Template(html_path.read_text(encoding="utf-8")),
        sensitive=headers.get("sensitive", "no").lower() in {"yes", "true", "1"},
    )
