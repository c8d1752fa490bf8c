"""Request and response types of /api/admin/alerts and /api/admin/silences."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from protocols.api.mortgage import DateTimeIn

State = Literal["pending", "firing", "resolved"]
Severity = Literal["critical", "warning", "info"]


class AlertOut(msgspec.Struct):
    """One alert instance (one label set of one rule), its latest episode."""

    fingerprint: str
    name: str
    state: State
    severity: Severity
    labels: dict[str, str]
    summary: str
    description: str
    value: float
    started_at: datetime
    resolved_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None


class AlertQuery(msgspec.Struct, forbid_unknown_fields=True):
    state: State | None = None
    severity: Severity | None = None


class SilenceIn(msgspec.Struct, forbid_unknown_fields=True):
    """Mute notifications of alerts whose labels match every matcher until `until`.

    A matcher value starting with `~` is a regular expression over the whole
    label value: {"alertname": "EventLoopLag"}, {"actor": "~calc.*"}."""

    matchers: Annotated[dict[str, str], msgspec.Meta(min_length=1)]
    until: Annotated[
        DateTimeIn,
        msgspec.Meta(tz=True, description="A time with its zone, later than now."),
    ]
    comment: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class SilenceOut(msgspec.Struct):
    id: uuid.UUID
    matchers: dict[str, str]
    until: Annotated[
        DateTimeIn,
        msgspec.Meta(tz=True, description="A time with its zone, later than now."),
    ]
    comment: str
    created_by: str
    created_at: datetime
