"""One client's conversation with the hub: reading its frames and answering.

Everything a client sends is checked here; a bad frame gets an error frame
with a specific code and never reaches the hub's state. A client that keeps
sending garbage (more than `error_limit` errors within `error_window`
seconds) is closed with 1008. Any failure while handling a frame is caught
and answered, so no input can end another connection or the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

import orjson
from aiohttp import WSMsgType, web

from protocols.frames import (
    ALREADY_SUBSCRIBED,
    AUTH_UNAVAILABLE,
    AUTHENTICATED_FRAME,
    BINARY_NOT_SUPPORTED,
    FORBIDDEN,
    NOT_SUBSCRIBED,
    PONG_FRAME,
    TOO_MANY_SUBSCRIPTIONS,
    UNAUTHORIZED,
    UNKNOWN_CHANNEL,
    Auth,
    FrameError,
    Ping,
    Subscribe,
    Unsubscribe,
    decode_client_frame,
    error_frame,
    snapshot_frame,
    subscribed_frame,
    unsubscribed_frame,
    update_frame,
)
from protocols.rate_sources.records import RATE_CHANNELS
from server.realtime import wire
from server.realtime.connection import (
    CLIENT_ERRORS,
    FRAMES_SENT,
    POLICY_VIOLATION,
    SLOW_CONSUMER,
    Connection,
)
from server.realtime.hub import Hub

log = logging.getLogger("rateline.ws")

# Larger frames are refused by the protocol layer outright (close 1009);
# between 64 KiB and this the client gets a `frame_too_large` error.
MAX_READ_BYTES = 1024 * 1024
# Replies (pongs, errors) to a client that does not read them pile up in its
# send buffer; past this many times the send buffer bound, it is closed.
REPLY_BACKLOG_FACTOR = 4


async def serve(hub: Hub, request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(
        autoping=False,
        compress=False,
        max_msg_size=MAX_READ_BYTES,
        decode_text=False,
        timeout=hub.config.close_timeout,
    )
    await ws.prepare(request)
    conn = Connection(ws, request, time.monotonic())
    task = conn.task = asyncio.current_task()
    hub.add(conn)
    conversation = Conversation(hub, conn)
    try:
        async for message in ws:
            kind = message.type
            if kind is WSMsgType.TEXT:
                await conversation.on_text(message.data)
            elif kind is WSMsgType.PONG:
                hub.pong(conn)
            elif kind is WSMsgType.PING:
                conn.write(wire.pong(message.data))
            elif kind is WSMsgType.BINARY:
                conversation.error(BINARY_NOT_SUPPORTED, "send JSON text frames")
            elif kind is WSMsgType.ERROR:
                break
            if conn.closing:
                break
    except asyncio.CancelledError:
        # the hub's wake-up to close is expected; any other cancel goes on
        if task is None or not conn.woken or task.uncancel() > 0:
            raise
    finally:
        conn.task = None
        hub.remove(conn)
    if conn.closing:
        await close_handshake(conn, hub.config.close_timeout)
    return ws


async def close_handshake(conn: Connection, grace: float) -> None:
    """Send the close frame and read until the peer's, dropping what comes
    before it; a peer that does not finish within `grace` seconds is cut off."""
    transport = conn.transport
    try:
        async with asyncio.timeout(grace):
            await conn.ws.close(
                code=conn.close_code, message=conn.close_reason.encode(), drain=False
            )
    except Exception as exc:  # the peer is gone or stuck; the abort below ends it
        log.debug("close of a WebSocket failed: %r", exc)
    finally:
        asyncio.get_running_loop().call_later(grace, _abort, transport)


def _abort(transport: asyncio.Transport) -> None:
    with contextlib.suppress(Exception):
        if not transport.is_closing() or transport.get_write_buffer_size():
            transport.abort()


class Conversation:
    """What one client asked and what it was answered: its frames, its
    subscriptions' start (snapshot or replay) and its error budget."""

    __slots__ = ("conn", "hub")

    def __init__(self, hub: Hub, conn: Connection) -> None:
        self.hub = hub
        self.conn = conn

    async def on_text(self, raw: bytes) -> None:
        conn, hub = self.conn, self.hub
        if conn.buffered() > REPLY_BACKLOG_FACTOR * hub.config.send_buffer:
            # it asks but does not read the answers: the backlog must not grow
            hub.close_connection(conn, SLOW_CONSUMER, "slow consumer")
            return
        try:
            frame = decode_client_frame(raw)
            if isinstance(frame, Subscribe):
                await self.subscribe(frame)
            elif isinstance(frame, Unsubscribe):
                self.unsubscribe(frame.channel)
            elif isinstance(frame, Ping):
                self.conn.send(PONG_FRAME)
            elif isinstance(frame, Auth):
                await self.authenticate(frame.token)
        except FrameError as exc:
            self.error(exc.code, exc.message)
        except Exception:
            log.exception("WebSocket frame handling failed")
            self.conn.send(error_frame("internal_error", "the server could not handle that frame"))

    def error(self, code: str, message: str) -> None:
        conn, config = self.conn, self.hub.config
        CLIENT_ERRORS.labels(code).inc()
        conn.send(error_frame(code, message))
        now = time.monotonic()
        if conn.errors is None:
            conn.errors = deque()
        errors = conn.errors
        errors.append(now)
        while errors and errors[0] < now - config.error_window:
            errors.popleft()
        if len(errors) > config.error_limit:
            self.hub.close_connection(conn, POLICY_VIOLATION, "too many errors")

    # -- ops ------------------------------------------------------------------------

    async def authenticate(self, token: str) -> None:
        authenticate = self.hub.authenticator
        if authenticate is None:
            raise FrameError(AUTH_UNAVAILABLE, "this server does not take auth frames")
        identity = await authenticate(self.conn, token)
        if identity is None:
            raise FrameError(UNAUTHORIZED, "the token is not valid")
        self.conn.identity = identity
        self.conn.send(AUTHENTICATED_FRAME)

    def unsubscribe(self, channel: str) -> None:
        if channel not in self.conn.subs:
            raise FrameError(NOT_SUBSCRIBED, f"not subscribed to {channel[:80]!r}")
        self.hub.unsubscribe(self.conn, channel)
        self.conn.send(unsubscribed_frame(channel))

    async def subscribe(self, frame: Subscribe) -> None:
        hub, conn, channel = self.hub, self.conn, frame.channel
        kind = None
        if channel not in RATE_CHANNELS:
            kind = hub.kind_of(channel)
            if kind is None:
                raise FrameError(UNKNOWN_CHANNEL, f"unknown channel {channel[:80]!r}")
        if channel in conn.subs or hub.catching_up(conn, channel):
            raise FrameError(ALREADY_SUBSCRIBED, f"already subscribed to {channel!r}")
        if len(conn.subs) >= hub.config.max_subscriptions:
            raise FrameError(
                TOO_MANY_SUBSCRIPTIONS,
                f"at most {hub.config.max_subscriptions} subscriptions per connection",
            )
        if kind is not None and not await kind.authorize(conn, channel):
            raise FrameError(FORBIDDEN, f"not allowed to subscribe to {channel!r}")
        if conn.closing:
            return
        head = await hub.head(channel)
        since = frame.since
        if since is None:
            await self._start_fresh(channel, None)
            return
        gap = head.offset - since
        if (frame.epoch is not None and frame.epoch != head.epoch) or not (
            0 <= gap <= hub.config.history
        ):
            await self._start_fresh(channel, False)
            return
        await self._replay(channel, since, head.offset, head.epoch)

    async def _start_fresh(self, channel: str, recovered: bool | None) -> None:
        """`subscribed` at the channel's current offset, then its snapshot."""
        hub, conn = self.hub, self.conn
        if channel in RATE_CHANNELS:
            head = await hub.head(channel)  # rate heads are in memory: no suspension
            conn.send(subscribed_frame(channel, head.offset, head.epoch, recovered))
            if conn.write(hub.rates_snapshot_frame(channel)):
                FRAMES_SENT.inc()
            hub.subscribe(conn, channel)
            return
        kind = hub.kind_of(channel)
        held = hub.hold_live(conn, channel)
        try:
            head = await hub.head(channel)
            data = await kind.snapshot(conn, channel) if kind and kind.snapshot else None
        finally:
            hub.release(conn, channel)
        if conn.closing:
            return
        conn.send(subscribed_frame(channel, head.offset, head.epoch, recovered))
        if data is not None:
            conn.send(snapshot_frame(channel, head.offset, orjson.dumps(data)))
        FRAMES_SENT.inc(sum(conn.write(framed) for offset, framed in held if offset > head.offset))
        hub.subscribe(conn, channel)

    async def _replay(self, channel: str, since: int, upto: int, epoch: str) -> None:
        """Send the stored updates since+1..upto, then whatever arrived meanwhile."""
        hub, conn = self.hub, self.conn
        if since == upto:
            conn.send(subscribed_frame(channel, upto, epoch, True))
            hub.subscribe(conn, channel)
            return
        held = hub.hold_live(conn, channel)
        rows: list[tuple[int, bytes]] | None
        try:
            rows = await hub.log.read(channel, since, upto)
        except Exception:
            log.exception("reading the history of %s failed", channel)
            rows = None
        finally:
            hub.release(conn, channel)
        if conn.closing:
            return
        if rows is None or [offset for offset, _ in rows] != list(range(since + 1, upto + 1)):
            await self._start_fresh(channel, False)
            return
        conn.send(subscribed_frame(channel, upto, epoch, True))
        sent = 0
        for offset, data in rows:
            sent += conn.write(wire.text(update_frame(channel, offset, data)))
        for offset, framed in held:
            if offset > upto:
                sent += conn.write(framed)
        FRAMES_SENT.inc(sent)
        hub.subscribe(conn, channel)
