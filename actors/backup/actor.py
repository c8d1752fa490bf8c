"""The backup actor: scheduled backups on the leading node, and backups asked for.

The actor tells itself `Tick` (tell_later) at each slot of the schedule
(and at least hourly, so a changed clock or lead is noticed). At a
slot, only the node that leads single-leader work (ctx.deps["leadership"])
backs up, and the slot is recorded with the backup, so two nodes that both
believe they lead for a moment still take one. Every tick also refreshes the
last-good gauge from the table, so every node's metrics tell the truth.

A backup runs on the server loop (`run_io`) while this actor's thread waits:
requests that arrive meanwhile queue in its mailbox.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from actors.backup import service
from actors.backup.config import BackupConfig
from actors.backup.schedule import next_slot
from actors.runtime import ActorContext, RatelineActor, Timer
from storage import backups as store

log = logging.getLogger("rateline.backup")

NAME = "backup"
LONGEST_WAIT = 3600.0
LONGEST_RUN = 12 * 3600.0


@dataclass(frozen=True)
class Tick:
    """The timer fired; `now` stands in for the clock when given (tests, operators)."""

    now: datetime | None = None


@dataclass(frozen=True)
class RunBackup:
    """Take the backup already recorded as running under `id`; replies with an Outcome."""

    id: str


class BackupActor(RatelineActor):
    def __init__(self, ctx: ActorContext, config: BackupConfig) -> None:
        super().__init__(ctx)
        self.config = config
        self.leadership = ctx.deps.get("leadership")
        self.node = str(ctx.deps.get("node", ""))
        self.slot = next_slot(datetime.now(UTC), config.at, config.interval_hours)
        self._next_tick: Timer | None = None

    def on_start(self) -> None:
        log.info("next scheduled backup", extra={"slot": self.slot.isoformat()})
        self._refresh()
        self._arm()

    def handle(self, message: Any) -> Any:
        if isinstance(message, Tick):
            self._tick(message.now or datetime.now(UTC))
            return None
        if isinstance(message, RunBackup):
            return self._take(message.id)
        raise TypeError(f"{self.name} does not handle {message!r}")

    # -- the schedule ----------------------------------------------------------

    def _tick(self, now: datetime) -> None:
        if now >= self.slot:
            slot, self.slot = self.slot, next_slot(now, self.config.at, self.config.interval_hours)
            if self.leadership is None or self.leadership.leader:
                self._scheduled(slot)
        self._refresh()
        self._arm()

    def _scheduled(self, slot: datetime) -> None:
        db = self.ctx.deps["db"]
        backup_id = service.new_id()
        destination = self.config.destination()
        try:
            taken = self.run_io(
                store.create(
                    db.pool,
                    id=backup_id,
                    trigger="schedule",
                    node=self.node,
                    destination=destination.description,
                    slot=slot,
                ),
                timeout=30,
            )
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            log.error("could not start the scheduled backup: %r", exc)
            return
        finally:
            self.run_io(destination.close(), timeout=30)
        if taken:
            self._take(backup_id)
        else:
            log.info("another node took the scheduled backup", extra={"slot": slot.isoformat()})

    def _refresh(self) -> None:
        with contextlib.suppress(asyncpg.PostgresError, OSError, TimeoutError):
            self.run_io(service.refresh_last_good(self.ctx.deps["db"].pool), timeout=30)

    # -- one backup --------------------------------------------------------------

    def _take(self, backup_id: str) -> service.Outcome:
        db = self.ctx.deps["db"]
        destination = self.config.destination()

        async def work() -> service.Outcome:
            try:
                outcome = await service.run(db.pool, db.dsn, self.config, destination, backup_id)
                await service.prune(db.pool, self.config, destination, datetime.now(UTC))
                return outcome
            finally:
                await destination.close()

        outcome: service.Outcome = self.run_io(work(), timeout=LONGEST_RUN)
        return outcome

    # -- the timer ---------------------------------------------------------------

    def _arm(self) -> None:
        """One tick pending: at the next slot, or within the hour."""
        if self._next_tick is not None:
            self._next_tick.cancel()
        wait = min(max((self.slot - datetime.now(UTC)).total_seconds(), 0.0), LONGEST_WAIT)
        self._next_tick = self.tell_later(wait, Tick())
