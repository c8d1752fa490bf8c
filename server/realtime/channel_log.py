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

from collections.abc import Sequence
from typing import Protocol

import asyncpg

from protocols.channels import ChannelHead
from storage import channels

# Channels named per NOTIFY, so a payload stays well under PostgreSQL's 8000 bytes.
ANNOUNCE_CHANNELS = 50


class ChannelLog(Protocol):
    async def head(self, channel: str) -> ChannelHead: ...

    async def append(self, updates: Sequence[tuple[str, bytes]]) -> list[ChannelHead]:
        """Store updates (channel, data), in one transaction; returns each
        one's channel epoch and offset, in order."""
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

    async def append(self, updates: Sequence[tuple[str, bytes]]) -> list[ChannelHead]:
        texts = [(channel, data.decode()) for channel, data in updates]
        heads = await channels.append_and_announce(
            self.pool, texts, keep=self.keep, node=self.node, per_notify=ANNOUNCE_CHANNELS
        )
        return [ChannelHead(epoch, offset) for epoch, offset in heads]

    async def read(self, channel: str, after: int, upto: int) -> list[tuple[int, bytes]]:
        rows = await channels.read_updates(self.pool, channel, after, upto)
        return [(offset, data.encode()) for offset, data in rows]
