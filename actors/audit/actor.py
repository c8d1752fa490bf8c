"""The audit actor: scans on a schedule and at start-up, walks the audit
chain daily, and writes checkpoints of its head every hour and after each
good backup (it looks every minute).

Only the node that leads single-leader work (deps["leadership"]) scans and
checkpoints, so several nodes neither double the findings' events nor
interleave checkpoint lines. Each job comes back on its own timer
(tell_later); the work runs on the server loop through run_io.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.audit.auditor import Auditor
from actors.audit.checkpoints import CheckpointStore, checkpoint_due
from actors.audit.scan import ScanReport, run_scan, verify_and_record
from actors.audit.verify import Checkpoint, Verdict
from actors.backup.config import BackupConfig
from actors.runtime import ActorContext, RatelineActor
from ops.config import Settings
from storage import audit as audit_store
from storage import backups as backup_store

log = logging.getLogger("rateline.audit")

NAME = "audit"
IO_TIMEOUT = 600.0


@dataclass(frozen=True)
class Scan:
    """Run the security scan now."""


@dataclass(frozen=True)
class Verify:
    """Walk the audit chain now."""


@dataclass(frozen=True)
class TakeCheckpoint:
    """Write the log's head outside the table now."""


@dataclass(frozen=True)
class Every:
    """A job's timer: do `message`, then again in `seconds`."""

    message: Any
    seconds: float


@dataclass(frozen=True)
class CheckpointIfDue:
    """Write the head if the interval has passed or a backup was verified since."""


WATCH_SECONDS = 60.0


def checkpoint_store(settings: Settings) -> CheckpointStore:
    """Checkpoints live in the backup destination, beside the backups."""
    return CheckpointStore(BackupConfig.from_settings(settings).destination)


class AuditActor(RatelineActor):
    def __init__(self, ctx: ActorContext, settings: Settings) -> None:
        super().__init__(ctx)
        self.settings = settings
        self.checkpoints = checkpoint_store(settings)
        self.last_checkpoint: datetime | None = None

    @property
    def auditor(self) -> Auditor:
        auditor: Auditor = self.ctx.deps["audit"]
        return auditor

    def on_start(self) -> None:
        hour = 3600.0
        for every in (
            Every(Scan(), self.settings.security_scan_hours * hour),
            Every(Verify(), self.settings.audit_verify_hours * hour),
            Every(CheckpointIfDue(), WATCH_SECONDS),
        ):
            self.tell_later(every.seconds, every)
        self.tell_later(0.0, Scan())

    def handle(self, message: Any) -> Any:
        if isinstance(message, Every):
            self.tell_later(message.seconds, message)
            message = message.message
        if not self._leads():
            return None
        if isinstance(message, Scan):
            return self.scan()
        if isinstance(message, Verify):
            return self.verify()
        if isinstance(message, TakeCheckpoint):
            return self.checkpoint()
        if isinstance(message, CheckpointIfDue):
            return self.checkpoint() if self._checkpoint_due() else None
        raise TypeError(f"{self.name} does not handle {message!r}")

    def scan(self) -> ScanReport:
        pool = self.ctx.deps["db"].pool
        report: ScanReport = self.run_io(
            run_scan(pool, self.settings, self.auditor), timeout=IO_TIMEOUT
        )
        return report

    def verify(self) -> Verdict:
        pool = self.ctx.deps["db"].pool

        async def work() -> Verdict:
            checkpoints = await self.checkpoints.read()
            return await verify_and_record(pool, self.settings, self.auditor, checkpoints)

        verdict: Verdict = self.run_io(work(), timeout=IO_TIMEOUT)
        return verdict

    def checkpoint(self) -> Checkpoint:
        pool = self.ctx.deps["db"].pool
        seq, head = self.run_io(audit_store.head(pool), timeout=30)
        checkpoint = Checkpoint(seq, head, datetime.now(UTC))
        self.run_io(self.checkpoints.append(checkpoint), timeout=IO_TIMEOUT)
        self.last_checkpoint = checkpoint.at
        return checkpoint

    def _checkpoint_due(self) -> bool:
        if self.last_checkpoint is None:
            kept = self.run_io(self.checkpoints.read(), timeout=IO_TIMEOUT)
            self.last_checkpoint = kept[-1].at if kept else None
        newest = self.run_io(backup_store.last_good(self.ctx.deps["db"].pool), timeout=30)
        return checkpoint_due(
            datetime.now(UTC),
            self.last_checkpoint,
            timedelta(minutes=self.settings.audit_checkpoint_minutes),
            newest.finished_at if newest is not None else None,
        )

    def _leads(self) -> bool:
        leadership = self.ctx.deps.get("leadership")
        return leadership is None or leadership.leader
