"""Response types of /api/admin/backups."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec


class BackupOut(msgspec.Struct, kw_only=True):
    id: str
    status: Literal["running", "verified", "failed"]
    trigger: Literal["schedule", "manual", "command"]
    destination: str
    started_at: datetime
    finished_at: datetime | None
    size_bytes: int | None
    sha256: str | None
    dump_seconds: float | None
    verify_seconds: float | None
    failed_stage: str | None
    detail: str | None


class BackupList(msgspec.Struct, kw_only=True):
    items: list[BackupOut]


class BackupStarted(msgspec.Struct, kw_only=True):
    id: str
    status: Literal["running"] = "running"
