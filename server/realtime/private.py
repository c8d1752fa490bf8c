"""Private channels (`user:<id>`, `broker:<id>`, ...): their offsets and broadcasts.

Unlike the rate channels, whose heads travel in the rate book, a private
channel's head is read from the channel log when a client first asks for it
and kept here. Any node may publish to any channel, so the log, shared by
every node, decides the offsets: a publish that finds updates it has not
broadcast (another node's) sends those first, and another node's publish
reaches this node's subscribers through `on_remote`, so each subscriber
sees every offset once and in order, whichever node published it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
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


class PrivateChannels:
    def __init__(self, log_store: ChannelLog, fan_out: FanOut, resync: Callable[[str], None]):
        self.log = log_store
        self._fan_out = fan_out
        self._resync = resync
        self._heads: dict[str, ChannelHead] = {}
        self._lock = asyncio.Lock()

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
        payload = orjson.dumps(data)
        async with self._lock:
            head = await self.log.append(channel, payload)
            known = self._heads.get(channel)
            if known is not None and head.offset > known.offset + 1:
                await self._advance(channel, known, head.offset - 1)  # other nodes' first
            self._heads[channel] = head
            framed = wire.text(update_frame(channel, head.offset, payload))
            FRAMES_SENT.inc(self._fan_out(channel, head.offset, framed))
        return head.offset

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
