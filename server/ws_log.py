"""Where the hub keeps channel offsets and recent updates: PostgreSQL.

Rate updates are appended by the fetchers in the same transaction as the
observations they come from; the hub appends only what `Hub.publish` sends
(private channels) and reads back what a reconnecting client missed. An
append is announced on the bus as it commits, so the other nodes broadcast
it to their own subscribers (`Hub.on_remote`).
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from actors.rates.book import ChannelHead
from protocols import bus
from storage import channels


class ChannelLog(Protocol):
    async def head(self, channel: str) -> ChannelHead: ...

    async def append(self, channel: str, data: bytes) -> ChannelHead:
        """Store one update; returns the channel's epoch and the update's offset."""
        ...

    async def read(self, channel: str, after: int, upto: int) -> list[tuple[int, bytes]]:
        """(offset, data) of the kept updates with after < offset <= upto, in order."""
        ...


class PgChannelLog:
    def __init__(self, pool: asyncpg.Pool, keep: int, node: str = "") -> None:
        self.pool = pool
        self.keep = keep
        self.node = node

    async def head(self, channel: str) -> ChannelHead:
        epoch, offset = (await channels.ensure_channels(self.pool, [channel]))[channel]
        return ChannelHead(epoch, offset)

    async def append(self, channel: str, data: bytes) -> ChannelHead:
        async with self.pool.acquire() as conn, conn.transaction():
            heads = await channels.append_updates(conn, [(channel, data.decode())], keep=self.keep)
            epoch, offset = heads[channel]
            news = bus.Announcement(self.node, {channel: offset})
            await channels.announce(conn, bus.encode(news))
        return ChannelHead(epoch, offset)

    async def read(self, channel: str, after: int, upto: int) -> list[tuple[int, bytes]]:
        rows = await channels.read_updates(self.pool, channel, after, upto)
        return [(offset, data.encode()) for offset, data in rows]
