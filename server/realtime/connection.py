"""One WebSocket client as the hub sees it, the hub's settings and its metrics.

A connection is small on purpose (slots, lazily created buffers): thousands
are held at once, and an idle one should cost little more than aiohttp's own
per-connection state.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

from ops.config import Settings
from protocols.rate_sources.records import RateRecord
from server.realtime import wire

CONNECTIONS = Gauge("rateline_ws_connections", "Open WebSocket connections.")
SUBSCRIPTIONS = Gauge(
    "rateline_ws_subscriptions",
    "Active subscriptions, by channel (private channels by kind).",
    ["channel"],
)
FRAMES_SENT = Counter("rateline_ws_frames_sent_total", "Frames written to WebSocket clients.")
CONFLATED = Counter(
    "rateline_ws_conflated_updates_total",
    "Rate updates folded into a later frame because the client was behind.",
)
SLOW_DISCONNECTS = Counter(
    "rateline_ws_slow_consumer_disconnects_total",
    "Clients closed with 4008 because they stayed behind.",
)
CLIENT_ERRORS = Counter(
    "rateline_ws_client_errors_total", "Error frames sent for bad client input, by code.", ["code"]
)
FANOUT_SECONDS = Histogram(
    "rateline_ws_fanout_duration_seconds",
    "From a rate change being seen to its update written to the last subscriber.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

SLOW_CONSUMER = 4008
POLICY_VIOLATION = 1008
PING_TIMEOUT = 1011
SERVICE_RESTART = 1012
GOING_AWAY = 1001


@dataclass(frozen=True)
class HubConfig:
    heartbeat: float = 25.0
    heartbeat_timeout: float = 10.0
    history: int = 1000
    # Bytes waiting in a connection's user-space send buffer (beyond what the
    # kernel already holds) before rate updates to it are conflated.
    send_buffer: int = 64 * 1024
    # How long a connection may stay behind before it is closed with 4008.
    slow_consumer_seconds: float = 10.0
    close_timeout: float = 5.0
    max_subscriptions: int = 64
    # Frames of non-rate channels held for a connection that is behind.
    max_queued_frames: int = 256
    error_limit: int = 20
    error_window: float = 60.0
    # SO_SNDBUF of WebSocket sockets (the kernel doubles it). Bounded, a reader
    # that stopped reading is noticed after ~100 KB instead of the megabytes
    # that buffer auto-tuning would let pile up; 0 leaves it to the kernel.
    socket_send_buffer: int = 32 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> HubConfig:
        return cls(
            heartbeat=settings.ws_heartbeat,
            heartbeat_timeout=settings.ws_heartbeat_timeout,
            history=settings.channel_history,
            send_buffer=settings.ws_send_buffer,
            slow_consumer_seconds=settings.ws_slow_consumer_seconds,
            socket_send_buffer=settings.ws_socket_send_buffer,
        )


class Pending:
    """Rate updates a lagging client has not been sent yet: the newest offset
    and the newest record of every product that changed since its last frame."""

    __slots__ = ("offset", "records")

    def __init__(self) -> None:
        self.offset = 0
        self.records: dict[str, RateRecord] = {}


class Connection:
    """A subscriber. `identity` is whatever the authenticator returned (None
    while anonymous); extension code may read it, the hub never interprets it."""

    __slots__ = (
        "behind_since",
        "close_code",
        "close_reason",
        "closing",
        "due_tick",
        "errors",
        "identity",
        "next_ping",
        "pending",
        "ping_sent",
        "queued",
        "request",
        "subs",
        "task",
        "transport",
        "woken",
        "ws",
    )

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, now: float) -> None:
        self.ws = ws
        self.request = request
        transport = request.transport
        assert transport is not None
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.subs: dict[str, None] = {}
        self.pending: dict[str, Pending] | None = None
        self.queued: deque[bytes] | None = None
        self.behind_since = 0.0
        self.closing = False
        self.close_code = 0
        self.close_reason = ""
        # The task reading this connection (server.realtime.conversation), while it reads;
        # `woken` once the hub has cancelled it to make it close.
        self.task: asyncio.Task[Any] | None = None
        self.woken = False
        self.errors: deque[float] | None = None
        self.identity: Any = None
        self.next_ping = now
        self.ping_sent: float | None = None
        self.due_tick = -1

    def buffered(self) -> int:
        return self.transport.get_write_buffer_size()

    def write(self, data: bytes) -> bool:
        """Write a framed message now, whatever the buffer holds; False if gone."""
        transport = self.transport
        if self.closing or transport.is_closing():
            return False
        transport.write(data)
        return True

    def send(self, payload: bytes) -> bool:
        """Frame and write one JSON text message meant for this client only."""
        if self.write(wire.text(payload)):
            FRAMES_SENT.inc()
            return True
        return False
