"""The rate fetcher: one actor per source, polling it on a timer.

Each poll: fetch (on the event loop, with a deadline), reject what is not
sane, store every accepted observation, and publish only changes of value,
through the rate book. A source that fails is counted and retried with
backoff; the actor itself only crashes on a bug, and then its supervisor
starts a fresh incarnation that finds the rate book (which the server owns)
exactly as it was.

The next poll is a `Tick` the fetcher tells itself later (`tell_later`); the
timer dies with its incarnation, so a successor starts its own.

With several nodes on one database only the node that leads "rates"
(ctx.deps["leadership"]) polls; the others' fetchers tick idly, every
`check_every` seconds, so a node that takes over polls at once, with a
source built afresh from the book it has been following.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from actors.rates.book import RateBook
from actors.rates.config import RatesConfig
from actors.rates.health import CHANGES, OBSERVATIONS
from actors.rates.sources import RateSource, SourceFactory
from actors.rates.store import store_poll
from actors.runtime import ActorContext, RatelineActor
from protocols.backoff import backoff_delay
from protocols.rate_sources.base import TIMEOUT, SourceError

log = logging.getLogger("rateline.rates")

STORAGE = "storage"


@dataclass(frozen=True)
class Tick:
    """Time for the next poll."""


@dataclass(frozen=True)
class PollNow:
    """Ask a fetcher to poll at once (operators, tests); replies with a PollReport."""


@dataclass(frozen=True)
class PollReport:
    source: str
    ok: bool
    accepted: int
    stored: int
    changed: int
    rejected: dict[str, int]
    error: str = ""
    following: bool = False  # another node leads: nothing was polled


class RateFetcher(RatelineActor):
    def __init__(self, ctx: ActorContext, make_source: SourceFactory, config: RatesConfig) -> None:
        super().__init__(ctx)
        self.book: RateBook = ctx.deps["rate_book"]
        self.config = config
        self.leadership = ctx.deps.get("leadership")
        self.make_source = make_source
        self.source: RateSource = make_source(self.book.snapshot)
        self.source_name = self.source.name
        self._leading = self._leads()

    # -- timer ---------------------------------------------------------------

    def on_start(self) -> None:
        self.tell_later(0.0, Tick())

    def on_stop(self) -> None:
        self._close_source()

    def on_failure(self, *exc_info: Any) -> None:
        self._close_source()

    def _close_source(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to release
            asyncio.run_coroutine_threadsafe(self.source.close(), self.ctx.loop)

    # -- messages ------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        if isinstance(message, Tick):
            self.tell_later(self._next_delay(self.poll()), Tick())
            return None
        if isinstance(message, PollNow):
            return self.poll()
        return super().handle(message)

    def _next_delay(self, report: PollReport) -> float:
        interval = self.config.interval(self.source_name)
        if report.following and self.leadership is not None:
            return min(interval, self.leadership.check_every)
        if report.ok:
            return interval
        failures = self.book.health.failures(self.source_name)  # 1 after the first
        return backoff_delay(failures - 1, initial=self.config.retry_seconds, cap=interval)

    # -- one poll ------------------------------------------------------------

    def _leads(self) -> bool:
        return self.leadership is None or self.leadership.leader

    def poll(self) -> PollReport:
        name, health = self.source_name, self.book.health
        if not self._leads():
            self._leading = False
            return PollReport(name, True, 0, 0, 0, {}, following=True)
        if not self._leading:  # just took over: start from the book as it stands
            self._leading = True
            self._close_source()
            self.source = self.make_source(self.book.snapshot)
        now = datetime.now(UTC)
        try:
            result = self.run_io(self.source.fetch(now), timeout=self.config.source_timeout + 5)
        except SourceError as exc:
            return self._failed(exc.reason, exc.detail)
        except TimeoutError:
            return self._failed(TIMEOUT, "the poll did not finish in time")

        rejected = Counter(r.reason for r in result.rejected)
        for reason, count in rejected.items():
            health.count(name, reason, count)
        for i, error in enumerate(result.errors):
            log.warning("rate source %s: %s", name, error)
            if i < len(result.errors) - 1:
                health.count(name, error.reason)  # counted; the poll fails once below
            else:
                health.failure(name, error.reason, error.detail)

        try:
            stored, changed = self._commit(result.records)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            return self._failed(STORAGE, f"could not store: {type(exc).__name__}")

        if not result.errors:
            health.success(name)
        if result.records:
            OBSERVATIONS.labels(name).inc(len(result.records))
        return PollReport(
            source=name,
            ok=not result.errors,
            accepted=len(result.records),
            stored=stored,
            changed=changed,
            rejected=dict(rejected),
            error="; ".join(str(e) for e in result.errors),
        )

    def _commit(self, records: list[Any]) -> tuple[int, int]:
        """Propose, store, swap: under the book's write lock so every writer's
        changes reach the book, the history and the wire in one order."""
        if not records:
            return 0, 0
        book = self.book
        pool = self.ctx.deps["db"].pool
        with book.write_lock:
            proposal = book.propose(records)
            entries = proposal.entries if proposal is not None else ()
            stored, heads = self.run_io(
                store_poll(
                    pool,
                    records,
                    [(channel, data) for channel, data, _ in entries],
                    keep=self.config.channel_history,
                    node=self.ctx.deps.get("node", ""),
                ),
                timeout=30.0,
            )
            if proposal is None:
                return stored, 0
            book.commit(proposal, heads)
        for record in proposal.changed:
            CHANGES.labels(record.product).inc()
        return stored, len(proposal.changed)

    def _failed(self, reason: str, detail: str) -> PollReport:
        failures = self.book.health.failure(self.source_name, reason, detail)
        log.warning(
            "rate source %s failed (%s in a row): %s: %s",
            self.source_name,
            failures,
            reason,
            detail,
        )
        return PollReport(self.source_name, False, 0, 0, 0, {}, f"{reason}: {detail}")
