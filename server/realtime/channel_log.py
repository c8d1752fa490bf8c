"""The channel log: every channel's epoch, offsets and recent updates, in
PostgreSQL, shared by all nodes.

Rate updates are appended by the rate store (actors.rates.store) in the same
transaction as the observations they come from; through this log the hub
appends only what `Hub.publish` sends (private channels), reads a private
channel's head, and reads back what a reconnecting client missed (rate and
private channels alike). An append is announced on the bus as it commits, so
the other nodes broadcast it to their own subscribers
(`PrivateChannels.on_remote`, server.realtime.private).
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from protocols import bus
from protocols.channels import ChannelHead
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
