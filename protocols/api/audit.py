"""Request and response types of the audit log and the security scanner."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Severity = Literal["critical", "high", "medium", "low"]


class AuditQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    since: (
        Annotated[datetime, Meta(tz=True, description="Only events at or after this time")] | None
    ) = None
    action: Annotated[str, Meta(max_length=100)] | None = None
    actor: Annotated[str, Meta(max_length=100, description="A user id, or `system`")] | None = None
    before: (
        Annotated[int, Meta(ge=1, description="Page on: the `next_before` of the previous page")]
        | None
    ) = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


class AuditEventView(msgspec.Struct, kw_only=True):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    ip: str | None
    request_id: str | None
    details: dict[str, Any]
    hash: Annotated[str, Meta(description="SHA-256 of the previous hash and this event, hex")]


class AuditPage(msgspec.Struct, kw_only=True):
    """Newest first; `next_before` is null on the last page."""

    events: list[AuditEventView]
    next_before: int | None


class FindingView(msgspec.Struct, kw_only=True):
    id: str
    check: str
    severity: Severity
    title: str
    evidence: str
    remedy: str
    first_seen: datetime
    last_seen: datetime


class ScanResult(msgspec.Struct, kw_only=True):
    """What this scan found; `opened` and `resolved` name the findings that
    changed state with it."""

    findings: list[FindingView]
    opened: list[str]
    resolved: list[str]
