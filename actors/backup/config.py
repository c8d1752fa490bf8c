"""The backup settings, read once, and the destination they name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from actors.backup.metrics import UPLOAD_RETRIES
from protocols.backup_store import Destination
from protocols.backup_store.folder import FolderDestination
from protocols.backup_store.s3 import S3Destination


def parse_time_of_day(text: str) -> time:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if match is None:
        raise ValueError(
            f"RATELINE_BACKUP_AT={text!r} is not valid: must be HH:MM (UTC), 00:00 to 23:59"
        )
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class BackupConfig:
    interval_hours: int = 24
    at: time = time(3, 0)
    folder: Path = Path("var/backups")
    s3_url: str | None = None
    s3_endpoint_url: str | None = None
    keep_daily: int = 7
    keep_weekly: int = 4
    upload_attempts: int = 5
    retry_seconds: float = 1.0
    pg_bin: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> BackupConfig:
        if settings.backup_s3_url is not None:
            S3Destination(settings.backup_s3_url)  # a bad URL fails at start-up
        return cls(
            interval_hours=settings.backup_interval_hours,
            at=parse_time_of_day(settings.backup_at),
            folder=settings.backup_dir or settings.data_dir / "backups",
            s3_url=settings.backup_s3_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            keep_daily=settings.backup_keep_daily,
            keep_weekly=settings.backup_keep_weekly,
            upload_attempts=settings.backup_upload_attempts,
            retry_seconds=settings.backup_retry_seconds,
            pg_bin=settings.pg_bin,
        )

    def destination(self) -> Destination:
        """A fresh destination client; close it when done."""
        if self.s3_url is None:
            return FolderDestination(self.folder)
        return S3Destination(
            self.s3_url,
            endpoint_url=self.s3_endpoint_url,
            attempts=self.upload_attempts,
            retry_base=self.retry_seconds,
            on_retry=UPLOAD_RETRIES.inc,
        )
