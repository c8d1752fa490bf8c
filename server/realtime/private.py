"""Private channels (`user:<id>`, `broker:<id>`, ...): their offsets and broadcasts.

Unlike the rate channels, whose heads travel in the rate book, a private
channel's head is read from the channel log when a client first asks for it
and kept here. Any node may publish to any channel, so the log, shared by
every node, decides the offsets: a publish that finds updates it has not
broadcast (another node's) sends those first, and another node's publish
reaches this node's subscribers through `on_remote`, so each subscriber
sees every offset once and in order, whichever node published it.

Publishes are group-committed: those that arrive while a batch is being
stored wait and go together in the next one, one transaction and one
statement for many channels' updates, so a node's publish rate is not
bound by one commit per update. One batch (or one catch-up from another
node) is handled at a time, so heads here only move forward, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from protocols.channels import ChannelHead
from protocols.frames import update_frame
from protocols.rate_sources.records import RATE_CHANNELS
from server.realtime import wire
from server.realtime.channel_log import ChannelLog
from server.realtime.connection import FRAMES_SENT

log = logging.getLogger("rateline.ws")

FanOut = Callable[[str, int, bytes], int]

# Updates stored in one transaction at most; the rest wait for the next.
BATCH = 500


@dataclass
class _Waiting:
    channel: str
    payload: bytes
    offset: asyncio.Future[int]


class PrivateChannels:
    def __init__(self, log_store: ChannelLog, fan_out: FanOut, resync: Callable[[str], None]):
        self.log = log_store
        self._fan_out = fan_out
        self._resync = resync
        self._heads: dict[str, ChannelHead] = {}
        self._lock = asyncio.Lock()
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """How many channels' heads are kept here."""
        return len(self._heads)

    def forget(self, channel: str) -> None:
        """The channel's last subscriber here left: its head is read again
        when the next one comes, so a server that has seen many users come
        and go does not keep a head for each."""
        self._heads.pop(channel, None)

    async def head(self, channel: str) -> ChannelHead:
        head = self._heads.get(channel)
        if head is None:
            head = self._heads[channel] = await self.log.head(channel)
        return head

    async def publish(self, channel: str, data: Any) -> int:
        """Store and broadcast one update; returns its offset."""
        if channel in RATE_CHANNELS:
            raise ValueError("rate channels are published by the rate book")
        waiting = _Waiting(channel, orjson.dumps(data), asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await asyncio.shield(waiting.offset)

    async def _write(self) -> None:
        """Store and broadcast what waits, a batch at a time, until nothing does."""
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            try:
                async with self._lock:
                    await self._store_and_send(batch)
            except Exception as exc:
                for waiting in batch:
                    if not waiting.offset.done():
                        waiting.offset.set_exception(exc)
            except BaseException:
                for waiting in [*batch, *self._waiting]:
                    waiting.offset.cancel()
                raise

    async def _store_and_send(self, batch: list[_Waiting]) -> None:
        heads = await self.log.append([(w.channel, w.payload) for w in batch])
        sent = 0
        for waiting, head in zip(batch, heads, strict=True):
            channel = waiting.channel
            known = self._heads.get(channel)
            if known is not None and head.offset > known.offset + 1:
                await self._advance(channel, known, head.offset - 1)  # other nodes' first
            self._heads[channel] = head
            framed = wire.text(update_frame(channel, head.offset, waiting.payload))
            sent += self._fan_out(channel, head.offset, framed)
            waiting.offset.set_result(head.offset)
        FRAMES_SENT.inc(sent)

    async def on_remote(self, channel: str, offset: int) -> None:
        """Another node published `channel` up to `offset`: broadcast what this
        node has not (nothing, if no client here ever asked for the channel)."""
        if channel in RATE_CHANNELS:
            return
        async with self._lock:
            known = self._heads.get(channel)
            if known is not None and offset > known.offset:
                await self._advance(channel, known, offset)

    async def refresh(self) -> None:
        """Catch up every channel known here, after announcements may have been missed."""
        for channel in list(self._heads):
            await self.on_remote(channel, (await self.log.head(channel)).offset)

    async def _advance(self, channel: str, known: ChannelHead, upto: int) -> None:
        missed = await self.log.read(channel, known.offset, upto)
        self._heads[channel] = ChannelHead(known.epoch, upto)
        if [at for at, _ in missed] != list(range(known.offset + 1, upto + 1)):
            self._resync(channel)  # the history no longer holds them all
            return
        sent = 0
        for at, data in missed:
            sent += self._fan_out(channel, at, wire.text(update_frame(channel, at, data)))
        FRAMES_SENT.inc(sent)
