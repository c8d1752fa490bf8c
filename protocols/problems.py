"""RFC 9457 problem details, raised anywhere and rendered by the server.

Domain code raises `Problem` to say "the client must change something"; the
server's error middleware turns it into `application/problem+json`. Keeping
the exception here (not in server/) lets actors and protocols report precise
user errors without importing the HTTP layer.
"""

from __future__ import annotations

import msgspec

BROKEN_RULE = "tag:rateline,2026:broken-rule"
"""The type of a 422 whose every field has the shape the OpenAPI document
states, but breaks a rule no schema can state: one spanning fields (a down
payment at least the price) or a policy (a guessable password). Clients and
contract tests tell it apart from a schema violation by this type."""


class FieldError(msgspec.Struct, frozen=True):
    """One invalid input, located by a JSON pointer (RFC 6901)."""

    pointer: str
    detail: str


class ProblemDocument(msgspec.Struct, omit_defaults=True):
    """The wire shape of every error response."""

    type: str
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[FieldError] = []


class Problem(Exception):
    """A client-facing error with an HTTP status and a fix-it message."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        errors: list[FieldError] | None = None,
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.type = type
        self.headers = headers or {}

    def document(self, instance: str) -> ProblemDocument:
        return ProblemDocument(
            type=self.type,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )


def invalid(
    pointer: str, detail: str, *, title: str = "Invalid input", type: str = "about:blank"
) -> Problem:
    """A 422 for a single bad field."""
    return Problem(
        422, title, detail, errors=[FieldError(pointer=pointer, detail=detail)], type=type
    )
