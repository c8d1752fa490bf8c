"""WebSocket heartbeats: ping each connection `interval` seconds after it
last answered, and give up on one that does not answer within `timeout`.

Walking every connection on each sweep to find the few that are due touches
thousands of idle objects, each a cache miss, to do nothing. Connections are
filed instead under the tick in which they fall due, and a sweep reads only
the ticks that have come round.

Clients that connect together (after a deploy, or a network blip) would be
pinged together ever after, and a few thousand pings and pongs at once hold
up any broadcast that meets them. So a connection's first ping comes at a
random point in the second half of its first interval, which spreads them
over many sweeps while each sweep still sends a batch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from server.realtime import wire
from server.realtime.connection import Connection


class Scheduled(Protocol):
    due_tick: int


T = TypeVar("T", bound=Scheduled)


class HeartbeatWheel(Generic[T]):
    """Buckets of connections keyed by tick number (time // tick)."""

    def __init__(self, tick: float, now: float) -> None:
        self.tick = tick
        self.buckets: dict[int, dict[T, None]] = {}
        self.next_tick = int(now / tick)

    def schedule(self, item: T, at: float) -> None:
        """File `item` to come due at the first sweep at or after `at`."""
        self.cancel(item)
        due = max(math.ceil(at / self.tick), self.next_tick)
        item.due_tick = due
        bucket = self.buckets.get(due)
        if bucket is None:
            bucket = self.buckets[due] = {}
        bucket[item] = None

    def cancel(self, item: T) -> None:
        bucket = self.buckets.get(item.due_tick)
        if bucket is not None and bucket.pop(item, 0) is None and not bucket:
            del self.buckets[item.due_tick]
        item.due_tick = -1

    def due(self, now: float) -> list[T]:
        """Take out everything due by `now`, in the order it fell due."""
        last = int(now / self.tick)
        found: list[T] = []
        if self.buckets:
            for tick in range(self.next_tick, last + 1):
                bucket = self.buckets.pop(tick, None)
                if bucket:
                    found.extend(bucket)
        for item in found:
            item.due_tick = -1
        self.next_tick = max(self.next_tick, last + 1)
        return found

    def __len__(self) -> int:
        return sum(map(len, self.buckets.values()))


class Heartbeat:
    def __init__(self, interval: float, timeout: float, now: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self.tick = min(1.0, interval / 4, timeout / 4)
        self.wheel: HeartbeatWheel[Connection] = HeartbeatWheel(self.tick, now)

    def joined(self, conn: Connection, now: float) -> None:
        """A new connection: its first ping comes within `interval`, at a
        random point of the second half."""
        self._expect(conn, now + self.interval * (0.5 + 0.5 * random.random()))

    def answered(self, conn: Connection, now: float) -> None:
        """A pong: the next ping is `interval` away."""
        self._expect(conn, now + self.interval)

    def _expect(self, conn: Connection, ping_at: float) -> None:
        conn.ping_sent = None
        conn.next_ping = ping_at
        if not conn.closing:
            self.wheel.schedule(conn, ping_at)

    def forget(self, conn: Connection) -> None:
        self.wheel.cancel(conn)

    def sweep(self, now: float, timed_out: Callable[[Connection], None]) -> None:
        wheel = self.wheel
        for conn in wheel.due(now):
            if conn.closing:
                continue
            if conn.ping_sent is not None:
                if now - conn.ping_sent >= self.timeout:
                    timed_out(conn)
                else:
                    wheel.schedule(conn, conn.ping_sent + self.timeout)
            elif now < conn.next_ping:
                wheel.schedule(conn, conn.next_ping)
            elif conn.write(wire.PING):
                conn.ping_sent = now
                wheel.schedule(conn, now + self.timeout)
