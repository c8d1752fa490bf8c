"""Between the rate book and PostgreSQL: load it at start-up, store each poll.

A poll's observations and the channel updates its changes produce are
written in one transaction, so the history a reconnecting client replays and
the rates that were stored can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from actors.rates.book import ChannelHead, RateBook
from actors.rates.config import RatesConfig
from protocols.rate_sources.records import RATE_CHANNELS, RateRecord
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
) -> tuple[int, dict[str, ChannelHead]]:
    """Store observations and append channel updates; returns how many
    observations were new and the offset each channel update got."""
    async with pool.acquire() as conn, conn.transaction():
        inserted = await rates.insert_observations(conn, [to_row(r) for r in records])
        heads = await channels.append_updates(
            conn, [(channel, data.decode()) for channel, data in entries], keep=keep
        )
    return inserted, {name: ChannelHead(epoch, offset) for name, (epoch, offset) in heads.items()}
