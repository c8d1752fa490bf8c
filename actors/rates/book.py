"""The rate book: the latest rate of every product, readable from anywhere
without a round trip.

The book holds one immutable `RateSnapshot` and swaps it for a new one on a
change, so a reader (an actor thread, a request handler on the event loop)
just takes `book.snapshot` and never sees half an update. The server creates
the book and hands it to the fetchers through their context, so it outlives
any fetcher that crashes; at start-up it is reloaded from the database.

Writers (one fetcher per source) serialise on `write_lock` for the whole
plan -> store -> swap sequence, so the order of changes in the book, in the
database's channel history and on the wire is one and the same.

When several sources quote a product, the one listed first in
RATELINE_RATE_SOURCES wins; a lower one only fills products the higher ones
do not quote. Within one source, the newest observation wins.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from actors.rates.health import HealthBoard
from protocols.channels import ChannelHead, ChannelUpdate, RateCommit, RateSnapshot
from protocols.frames import rates_data
from protocols.rate_sources.records import PRODUCTS, Product, RateRecord, channel_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """A proposed new book and the channel updates it needs stored:
    (channel, data, records), one update for all products that changed
    together on "rates" and one on each changed product's own channel."""

    rates: dict[Product, RateRecord]
    changed: tuple[RateRecord, ...]
    seen_at: float
    entries: tuple[tuple[str, bytes, tuple[RateRecord, ...]], ...]


def _entries(
    changed: tuple[RateRecord, ...],
) -> tuple[tuple[str, bytes, tuple[RateRecord, ...]], ...]:
    if not changed:
        return ()
    out = [("rates", rates_data(changed), changed)]
    for record in changed:
        out.append((channel_of(record.product), rates_data([record]), (record,)))
    return tuple(out)


Listener = Callable[[RateCommit], None]


class RateBook:
    def __init__(
        self,
        priority: Sequence[str],
        rates: Iterable[RateRecord] = (),
        heads: Mapping[str, ChannelHead] | None = None,
        *,
        unhealthy_after: int = 3,
    ) -> None:
        self.priority = tuple(priority)
        self.write_lock = threading.RLock()
        self.health = HealthBoard(self.priority, unhealthy_after)
        self._listeners: list[Listener] = []
        self._listen_lock = threading.Lock()
        self._snapshot = RateSnapshot(
            MappingProxyType({r.product: r for r in rates}),
            MappingProxyType(dict(heads or {})),
        )

    @property
    def snapshot(self) -> RateSnapshot:
        return self._snapshot

    def _rank(self, source: str) -> int:
        try:
            return self.priority.index(source)
        except ValueError:
            return len(self.priority)

    def _wins(self, new: RateRecord, current: RateRecord | None) -> bool:
        if current is None:
            return True
        rank_new, rank_current = self._rank(new.source), self._rank(current.source)
        if rank_new != rank_current:
            return rank_new < rank_current
        return new.as_of >= current.as_of

    def plan(self, records: Iterable[RateRecord]) -> Plan | None:
        """The book after `records` (oldest first), or None if nothing would change."""
        seen_at = time.perf_counter()
        old = self._snapshot.rates
        rates = dict(old)
        for record in records:
            if self._wins(record, rates.get(record.product)):
                rates[record.product] = record
        if rates == dict(old):
            return None
        changed = tuple(
            rates[p] for p in PRODUCTS if p in rates and not rates[p].same_value(old.get(p))
        )
        return Plan(rates=rates, changed=changed, seen_at=seen_at, entries=_entries(changed))

    def commit(self, plan: Plan, heads: Mapping[str, ChannelHead]) -> RateCommit:
        """Swap in the planned book; `heads` are the offsets the store gave each
        updated channel. Call while holding `write_lock`."""
        merged = dict(self._snapshot.heads)
        merged.update(heads)
        snapshot = RateSnapshot(MappingProxyType(plan.rates), MappingProxyType(merged))
        updates = tuple(
            ChannelUpdate(channel, heads[channel].offset, records, data)
            for channel, data, records in plan.entries
        )
        return self._swap(RateCommit(snapshot, updates, plan.seen_at))

    def follow(
        self,
        records: Iterable[RateRecord],
        heads: Mapping[str, ChannelHead],
        updates: Sequence[ChannelUpdate],
    ) -> RateCommit | None:
        """Take in what another node stored (see store.read_news): its latest
        observations, channel heads and updates. Updates this book already
        has are dropped, so a late or repeated read changes nothing. Call
        while holding `write_lock`; returns None if nothing was new."""
        old = self._snapshot
        fresh = tuple(
            u
            for u in updates
            if u.channel not in old.heads or u.offset > old.heads[u.channel].offset
        )
        plan = self.plan(records)
        if plan is None and not fresh:
            return None
        merged = dict(old.heads)
        for name, head in heads.items():
            if name not in merged or head.offset > merged[name].offset:
                merged[name] = head
        rates = plan.rates if plan is not None else dict(old.rates)
        snapshot = RateSnapshot(MappingProxyType(rates), MappingProxyType(merged))
        return self._swap(RateCommit(snapshot, fresh, time.perf_counter()))

    def _swap(self, commit: RateCommit) -> RateCommit:
        with self._listen_lock:
            self._snapshot = commit.snapshot
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(commit)
            except Exception:
                log.exception("rate book listener failed")
        return commit

    def listen(self, listener: Listener) -> RateSnapshot:
        """Be told of every commit from now on; returns the snapshot to start from,
        so nothing falls between reading the book and listening to it."""
        with self._listen_lock:
            self._listeners.append(listener)
            return self._snapshot

    def unlisten(self, listener: Listener) -> None:
        with self._listen_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
