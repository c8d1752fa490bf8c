"""The WebSocket hub: who is subscribed to what, and getting every update to
every subscriber without letting one slow client hold up the rest.

Fan-out
    A rate change arrives as a `RateCommit` from the rate book (the fetcher's
    thread hands it to the event loop). Each channel's update is framed once
    and the same bytes are written to every subscriber's transport without
    awaiting anyone. A connection whose transport already holds more than
    `send_buffer` unsent bytes is "behind": its rate updates are conflated
    (the newest offset plus the newest record of each product that changed)
    and sent as one `"conflated": true` frame once its buffer drains; one
    that stays behind for `slow_consumer_seconds` is closed with 4008.
    Per-message compression is never negotiated on /ws: it would turn one
    encoded frame into one compressed copy per client. The event loop writes
    every broadcast itself (server.realtime.fanout); more cores are used by
    more nodes on one PostgreSQL (server.realtime.cluster), not by helper
    threads or processes inside one node.

Extension points (private channels, authentication): .extensions. Offsets
of private channels: .private. Several nodes: .cluster.

The hub runs on the event loop only; nothing here is thread-safe except
the book listener installed by `attach`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from actors.rates.book import RateBook
from protocols.channels import ChannelHead, ChannelUpdate, RateCommit, RateSnapshot
from protocols.frames import rates_data, snapshot_frame, update_frame
from protocols.rate_sources.records import PRODUCTS, RATE_CHANNELS
from server.realtime import wire
from server.realtime.channel_log import ChannelLog
from server.realtime.connection import (
    CONFLATED,
    CONNECTIONS,
    FANOUT_SECONDS,
    FRAMES_SENT,
    GOING_AWAY,
    PING_TIMEOUT,
    SERVICE_RESTART,
    SLOW_CONSUMER,
    SLOW_DISCONNECTS,
    SUBSCRIPTIONS,
    Connection,
    HubConfig,
    Pending,
)
from server.realtime.extensions import Authenticator, Authorizer, ChannelKind, SnapshotSource
from server.realtime.fanout import Targets
from server.realtime.heartbeat import Heartbeat
from server.realtime.private import PrivateChannels

log = logging.getLogger("rateline.ws")


def metric_label(channel: str) -> str:
    return channel if channel in RATE_CHANNELS else channel.partition(":")[0]


class Hub:
    def __init__(self, log_store: ChannelLog, config: HubConfig) -> None:
        self.log = log_store
        self.config = config
        self.snapshot = RateSnapshot()
        self.connections: dict[Connection, None] = {}
        self.subscribers: dict[str, dict[Connection, None]] = {}
        # Connections catching up from history: live updates are held for them.
        self._held: dict[str, dict[Connection, list[tuple[int, bytes]]]] = {}
        self.lagging: dict[Connection, None] = {}
        # Per channel, the transports of subscribers not behind: a broadcast
        # writes to these without touching each Connection (a cache miss).
        self._targets: dict[str, Targets] = {}
        self._by_transport: dict[asyncio.Transport, Connection] = {}
        self._heartbeat = Heartbeat(config.heartbeat, config.heartbeat_timeout, time.monotonic())
        self.kinds: dict[str, ChannelKind] = {}
        self.authenticator: Authenticator | None = None
        self.private = PrivateChannels(log_store, self._fan_out, self.resync)
        self._snapshot_frames: dict[str, bytes] = {}
        # Tasks of connections finishing their close handshake.
        self._closing: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._book: RateBook | None = None
        self._listener: Callable[[RateCommit], None] | None = None
        self._low_water = max(config.send_buffer // 4, 1)

    # -- extension points -------------------------------------------------------

    def set_authenticator(self, authenticate: Authenticator) -> None:
        self.authenticator = authenticate

    def add_channel_kind(
        self, prefix: str, authorize: Authorizer, snapshot: SnapshotSource | None = None
    ) -> None:
        if not prefix or ":" in prefix or prefix == "rates" or prefix in self.kinds:
            raise ValueError(f"channel kind {prefix!r} is taken or not a plain word")
        self.kinds[prefix] = ChannelKind(prefix, authorize, snapshot)

    def kind_of(self, channel: str) -> ChannelKind | None:
        prefix, colon, rest = channel.partition(":")
        return self.kinds.get(prefix) if colon and rest else None

    # -- lifecycle ----------------------------------------------------------------

    def attach(self, book: RateBook) -> None:
        """Follow the rate book; call on the event loop before clients connect."""
        loop = asyncio.get_running_loop()

        def listener(commit: RateCommit) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(self.on_commit, commit)

        self._book, self._listener = book, listener
        self.snapshot = book.listen(listener)
        self._snapshot_frames.clear()

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def close(self) -> None:
        if self._book is not None and self._listener is not None:
            self._book.unlisten(self._listener)
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for conn in list(self.connections):
            self.close_connection(conn, GOING_AWAY, "server shutting down")
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=self.config.close_timeout + 1)
        self._targets.clear()

    # -- connections ----------------------------------------------------------------

    def add(self, conn: Connection) -> None:
        self.connections[conn] = None
        self._by_transport[conn.transport] = conn
        self._heartbeat.joined(conn, time.monotonic())
        CONNECTIONS.inc()
        size = self.config.socket_send_buffer
        if size:
            sock = conn.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    def remove(self, conn: Connection) -> None:
        if self.connections.pop(conn, 0) is None:
            CONNECTIONS.dec()
            self._by_transport.pop(conn.transport, None)
        self._detach(conn)

    def _detach(self, conn: Connection) -> None:
        for channel in conn.subs:
            self._unsubscribe(conn, channel)
        conn.subs = {}
        for held in self._held.values():
            held.pop(conn, None)
        self.lagging.pop(conn, None)
        self._heartbeat.forget(conn)

    def subscribe(self, conn: Connection, channel: str) -> None:
        conn.subs[channel] = None
        self.subscribers.setdefault(channel, {})[conn] = None
        self._targets.pop(channel, None)
        SUBSCRIPTIONS.labels(metric_label(channel)).inc()

    def unsubscribe(self, conn: Connection, channel: str) -> None:
        if conn.subs.pop(channel, 0) is None:
            self._unsubscribe(conn, channel)
        if conn.pending is not None:
            conn.pending.pop(channel, None)

    def _unsubscribe(self, conn: Connection, channel: str) -> None:
        subs = self.subscribers.get(channel)
        if subs is not None and subs.pop(conn, 0) is None:
            self._targets.pop(channel, None)
            SUBSCRIPTIONS.labels(metric_label(channel)).dec()
            if not subs:
                del self.subscribers[channel]
                if channel not in self._held:
                    self.private.forget(channel)

    def hold_live(self, conn: Connection, channel: str) -> list[tuple[int, bytes]]:
        """Keep the live updates of `channel` for `conn` while it catches up
        from history or a snapshot: (offset, frame) pairs, appended as they
        are broadcast, until `release`."""
        return self._held.setdefault(channel, {}).setdefault(conn, [])

    def release(self, conn: Connection, channel: str) -> None:
        holding = self._held.get(channel)
        if holding is not None:
            holding.pop(conn, None)
            if not holding:
                del self._held[channel]

    def catching_up(self, conn: Connection, channel: str) -> bool:
        return conn in self._held.get(channel, ())

    def close_connection(self, conn: Connection, code: int, reason: str) -> None:
        """Stop sending to `conn` and have its own task close it
        (server.realtime.conversation.close_handshake).

        The connection's task is woken from its read by cancellation. aiohttp
        closed from another task while one waits in receive() shuts the socket
        without reading what the peer still sends, such as the pong of a slow
        reader catching up; the kernel then resets the connection and drops
        the close frame still queued for the peer."""
        if conn.closing:
            return
        if code == SLOW_CONSUMER:
            SLOW_DISCONNECTS.inc()
        self._detach(conn)
        conn.closing = True
        conn.close_code, conn.close_reason = code, reason
        task = conn.task
        if task is None:
            return
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        if task is not asyncio.current_task():
            conn.woken = True
            task.cancel()

    # -- channel state --------------------------------------------------------------

    async def head(self, channel: str) -> ChannelHead:
        if channel in RATE_CHANNELS:
            return self.snapshot.heads.get(channel) or ChannelHead("", 0)
        return await self.private.head(channel)

    def rates_snapshot_frame(self, channel: str) -> bytes:
        """Framed snapshot of a rate channel at its current offset, built once per change."""
        cached = self._snapshot_frames.get(channel)
        if cached is None:
            head = self.snapshot.heads.get(channel)
            data = rates_data(self.snapshot.records_for(channel))
            cached = wire.text(snapshot_frame(channel, head.offset if head else 0, data))
            self._snapshot_frames[channel] = cached
        return cached

    # -- fan-out --------------------------------------------------------------------

    def on_commit(self, commit: RateCommit) -> None:
        """A new book: remember it and broadcast its updates (on the loop)."""
        last = {channel: head.offset for channel, head in self.snapshot.heads.items()}
        self.snapshot = commit.snapshot
        self._snapshot_frames.clear()
        if not commit.updates:
            return
        sent = 0
        for update in commit.updates:
            channel, offset = update.channel, update.offset
            before, last[channel] = last.get(channel), offset
            if before is not None and offset != before + 1:
                self.resync(channel)
                continue
            framed = wire.text(update_frame(channel, offset, update.data))
            sent += self._fan_out(channel, offset, framed, update)
        FRAMES_SENT.inc(sent)
        FANOUT_SECONDS.observe(time.perf_counter() - commit.seen_at)

    async def publish(self, channel: str, data: Any) -> int:
        """Store and broadcast one update of a private channel; returns its offset."""
        return await self.private.publish(channel, data)

    def resync(self, channel: str) -> None:
        """Updates of `channel` were missed (this node lost touch with the
        others for longer than the history reaches): its subscribers start
        over, and their `since` tells them whether they recovered."""
        log.warning("WebSocket channel %s missed updates; its subscribers resubscribe", channel)
        for conn in list(self.subscribers.get(channel, ())):
            self.close_connection(conn, SERVICE_RESTART, "missed updates, subscribe again")

    def _fan_out(
        self, channel: str, offset: int, framed: bytes, update: ChannelUpdate | None = None
    ) -> int:
        held = self._held.get(channel)
        if held:
            for frames in held.values():
                frames.append((offset, framed))
        targets = self._targets.get(channel)
        if targets is None:
            subs = self.subscribers.get(channel)
            if not subs:
                return 0
            targets = self._targets[channel] = Targets(
                tuple(c.transport for c in subs if c.pending is None)
            )
        sent = 0
        for behind in tuple(self.lagging):
            if channel in behind.subs:
                sent += self._fall_behind(behind, channel, framed, update)
        over: list[asyncio.Transport] = []
        sent += targets.write(framed, self.config.send_buffer, over)
        for transport in over:
            if (conn := self._by_transport.get(transport)) is not None:
                sent += self._fall_behind(conn, channel, framed, update)
        return sent

    def _fall_behind(
        self, conn: Connection, channel: str, framed: bytes, update: ChannelUpdate | None
    ) -> int:
        if conn.closing or conn.transport.is_closing():
            return 0
        if conn.pending is None:
            conn.pending = {}
            conn.behind_since = time.monotonic()
            self.lagging[conn] = None
            self._retarget(conn)
        if update is not None:
            pending = conn.pending.get(channel)
            if pending is None:
                pending = conn.pending[channel] = Pending()
            pending.offset = update.offset
            for record in update.records:
                pending.records[record.product] = record
            CONFLATED.inc()
        else:
            if conn.queued is None:
                conn.queued = deque()
            if len(conn.queued) >= self.config.max_queued_frames:
                self.close_connection(conn, SLOW_CONSUMER, "slow consumer")
                return 0
            conn.queued.append(framed)
        if conn.buffered() <= self._low_water:
            return self.catch_up(conn)
        return 0

    def catch_up(self, conn: Connection) -> int:
        """Send a lagging connection what it missed, conflated; returns frames sent."""
        pending, queued = conn.pending, conn.queued
        conn.pending, conn.queued = None, None
        self.lagging.pop(conn, None)
        self._retarget(conn)
        sent = 0
        for channel, state in (pending or {}).items():
            records = [state.records[p] for p in PRODUCTS if p in state.records]
            data = rates_data(records)
            sent += conn.write(wire.text(update_frame(channel, state.offset, data, conflated=True)))
        for framed in queued or ():
            sent += conn.write(framed)
        return sent

    def _retarget(self, conn: Connection) -> None:
        for channel in conn.subs:
            self._targets.pop(channel, None)

    # -- housekeeping ---------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        tick = self._heartbeat.tick
        while True:
            await asyncio.sleep(0.05 if self.lagging else tick)
            now = time.monotonic()
            try:
                if self.lagging:
                    self._check_lagging(now)
                self._heartbeat.sweep(now, self._ping_timed_out)
            except Exception:
                log.exception("WebSocket housekeeping failed")

    def _check_lagging(self, now: float) -> None:
        sent = 0
        for conn in tuple(self.lagging):
            if conn.closing or conn.transport.is_closing():
                self.lagging.pop(conn, None)
            elif conn.buffered() <= self._low_water:
                sent += self.catch_up(conn)
            elif now - conn.behind_since > self.config.slow_consumer_seconds:
                self.close_connection(conn, SLOW_CONSUMER, "slow consumer")
        FRAMES_SENT.inc(sent)

    def _ping_timed_out(self, conn: Connection) -> None:
        self.close_connection(conn, PING_TIMEOUT, "ping timeout")

    def pong(self, conn: Connection) -> None:
        self._heartbeat.answered(conn, time.monotonic())
