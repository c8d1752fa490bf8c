"""The audit actor: scans on a schedule and at start-up, walks the audit
chain daily, and writes checkpoints of its head every hour.

Only the node that leads single-leader work (deps["leadership"]) scans and
checkpoints, so several nodes neither double the findings' events nor
interleave checkpoint lines. Each job tells the actor itself on a timer of
its own; the work runs on the server loop through run_io.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actors.audit.auditor import Auditor
from actors.audit.checkpoints import CheckpointFile
from actors.audit.scan import ScanReport, run_scan, verify_and_record
from actors.audit.verify import Checkpoint, Verdict
from actors.runtime import ActorContext, RatelineActor
from ops.config import Settings
from storage import audit as audit_store

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


def checkpoint_folder(settings: Settings) -> Path:
    return settings.data_dir / "backups"


class AuditActor(RatelineActor):
    def __init__(self, ctx: ActorContext, settings: Settings) -> None:
        super().__init__(ctx)
        self.settings = settings
        self.checkpoints = CheckpointFile(checkpoint_folder(settings))
        self._timers: dict[type, Any] = {}
        self._stopped = False

    @property
    def auditor(self) -> Auditor:
        auditor: Auditor = self.ctx.deps["audit"]
        return auditor

    def on_start(self) -> None:
        hour = 3600.0
        self._every(Scan(), self.settings.security_scan_hours * hour)
        self._every(Verify(), self.settings.audit_verify_hours * hour)
        self._every(TakeCheckpoint(), self.settings.audit_checkpoint_minutes * 60)
        self._tell(Scan())

    def on_stop(self) -> None:
        self._shutdown()

    def on_failure(self, *exc_info: Any) -> None:
        self._shutdown()

    def handle(self, message: Any) -> Any:
        if not self._leads():
            return None
        if isinstance(message, Scan):
            return self.scan()
        if isinstance(message, Verify):
            return self.verify()
        if isinstance(message, TakeCheckpoint):
            return self.checkpoint()
        raise TypeError(f"{self.name} does not handle {message!r}")

    def scan(self) -> ScanReport:
        pool = self.ctx.deps["db"].pool
        report: ScanReport = self.run_io(
            run_scan(pool, self.settings, self.auditor), timeout=IO_TIMEOUT
        )
        return report

    def verify(self) -> Verdict:
        pool = self.ctx.deps["db"].pool
        verdict: Verdict = self.run_io(
            verify_and_record(pool, self.settings, self.auditor, self.checkpoints.read()),
            timeout=IO_TIMEOUT,
        )
        return verdict

    def checkpoint(self) -> Checkpoint:
        pool = self.ctx.deps["db"].pool
        seq, head = self.run_io(audit_store.head(pool), timeout=30)
        checkpoint = Checkpoint(seq, head, datetime.now(UTC))
        self.checkpoints.append(checkpoint)
        return checkpoint

    def _leads(self) -> bool:
        leadership = self.ctx.deps.get("leadership")
        return leadership is None or leadership.leader

    # -- timers --------------------------------------------------------------------

    def _every(self, message: Any, seconds: float) -> None:
        def arm() -> None:
            if not self._stopped:
                self._timers[type(message)] = self.ctx.loop.call_later(seconds, fire)

        def fire() -> None:
            self._tell(message)
            arm()

        self.ctx.loop.call_soon_threadsafe(arm)

    def _tell(self, message: Any) -> None:
        system = self.ctx.system
        if system is not None and not system.stopping and not self._stopped:
            with contextlib.suppress(Exception):  # the name is gone: we are stopping
                system.tell(self.name, message)

    def _shutdown(self) -> None:
        self._stopped = True

        def cancel() -> None:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()

        with contextlib.suppress(RuntimeError):  # the loop is closed already
            self.ctx.loop.call_soon_threadsafe(cancel)
