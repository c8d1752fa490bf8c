"""Between the rate book and PostgreSQL: load it at start-up, store each poll.

A poll's observations and the channel updates its changes produce are
written in one transaction, so the history a reconnecting client replays and
the rates that were stored can never disagree. The same transaction
announces the new channel heads on the bus, so the other nodes (which only
follow) read what was stored and broadcast it to their own clients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg
import msgspec

from actors.rates.book import RateBook
from actors.rates.config import RatesConfig
from protocols import bus
from protocols.channels import ChannelHead, ChannelUpdate
from protocols.rate_sources.records import RATE_CHANNELS, RateRecord, RatesResponse
from storage import channels, rates
from storage.rates import ObservationRow


def to_row(record: RateRecord) -> ObservationRow:
    return (
        record.product,
        record.as_of,
        record.source,
        record.rate,
        record.points,
        record.apr,
    )


def from_row(row: asyncpg.Record) -> RateRecord:
    return RateRecord(
        product=row["product"],
        rate=row["rate"],
        points=row["points"],
        apr=row["apr"],
        as_of=row["as_of"],
        source=row["source"],
    )


async def load_book(pool: asyncpg.Pool, config: RatesConfig) -> RateBook:
    """The book as the database last saw it: latest rates and channel offsets."""
    rows = await rates.latest_observations(pool, config.sources)
    heads = await channels.ensure_channels(pool, RATE_CHANNELS)
    return RateBook(
        config.sources,
        [from_row(row) for row in rows],
        {name: ChannelHead(epoch, head) for name, (epoch, head) in heads.items()},
        unhealthy_after=config.unhealthy_after,
    )


async def store_poll(
    pool: asyncpg.Pool,
    records: Sequence[RateRecord],
    entries: Sequence[tuple[str, bytes]],
    *,
    keep: int,
    node: str = "",
) -> tuple[int, dict[str, ChannelHead]]:
    """Store observations and append channel updates; returns how many
    observations were new and the offset each channel update got."""
    async with pool.acquire() as conn, conn.transaction():
        inserted = await rates.insert_observations(conn, [to_row(r) for r in records])
        heads = await channels.append_updates(
            conn, [(channel, data.decode()) for channel, data in entries], keep=keep
        )
        if heads:
            news = bus.Announcement(node, {name: offset for name, (_, offset) in heads.items()})
            await channels.announce(conn, bus.encode(news))
    return inserted, {name: ChannelHead(epoch, offset) for name, (epoch, offset) in heads.items()}


async def read_news(
    pool: asyncpg.Pool, config: RatesConfig, known: Mapping[str, ChannelHead]
) -> tuple[list[RateRecord], dict[str, ChannelHead], list[ChannelUpdate]]:
    """What another node stored since `known`: the latest observations, every
    rate channel's head, and the updates past `known` (oldest first)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        rows = await rates.latest_observations(conn, config.sources)
        heads = await channels.channel_heads(conn, RATE_CHANNELS)
        updates = []
        for name, (_, head) in heads.items():
            after = known[name].offset if name in known else 0
            if head > after:
                for offset, data in await channels.read_updates(conn, name, after, head):
                    encoded = data.encode()
                    records = msgspec.json.decode(encoded, type=RatesResponse).rates
                    updates.append(ChannelUpdate(name, offset, tuple(records), encoded))
    return (
        [from_row(row) for row in rows],
        {name: ChannelHead(epoch, head) for name, (epoch, head) in heads.items()},
        updates,
    )
