"""Channel types shared by the rate book, the channel log and the WebSocket
hub: where a channel's history stands, one update on a channel, and the
book's snapshots and commits as the hub is told of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from protocols.rate_sources.records import PRODUCTS, Product, RateRecord


@dataclass(frozen=True, slots=True)
class ChannelHead:
    """Where a channel's history stands: its epoch and the offset of its last update."""

    epoch: str
    offset: int


@dataclass(frozen=True, slots=True)
class ChannelUpdate:
    """One update on one channel, with its JSON `data` already encoded."""

    channel: str
    offset: int
    records: tuple[RateRecord, ...]
    data: bytes


@dataclass(frozen=True)
class RateSnapshot:
    rates: Mapping[Product, RateRecord] = field(default_factory=lambda: MappingProxyType({}))
    heads: Mapping[str, ChannelHead] = field(default_factory=lambda: MappingProxyType({}))

    def ordered(self) -> list[RateRecord]:
        return [self.rates[p] for p in PRODUCTS if p in self.rates]

    def records_for(self, channel: str) -> list[RateRecord]:
        """The records a snapshot of `channel` shows ("rates" or "rates:<product>")."""
        if channel == "rates":
            return self.ordered()
        product = channel.partition(":")[2]
        record = self.rates.get(product)  # type: ignore[call-overload]
        return [record] if record is not None else []


@dataclass(frozen=True)
class RateCommit:
    """What a listener is told after a swap: the new snapshot, the channel
    updates to broadcast (none if only dates moved), and when the change was
    first seen (perf_counter), to time the fan-out end to end."""

    snapshot: RateSnapshot
    updates: tuple[ChannelUpdate, ...]
    seen_at: float
