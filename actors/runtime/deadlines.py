"""Ask timeouts without a loop timer per ask.

asyncio's call_later/cancel pair costs about as much as the whole rest of an
ask on the default loop (a Python TimerHandle, a heap push, a cancelled
handle to sweep). Asks almost always share a handful of timeout values, and
for one value deadlines arrive in order, so a FIFO per value with a single
armed timer at its head does the same job for a list append per ask.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Expired(Exception):
    """Set on an ask's future when its deadline passes before the reply."""


class Deadlines:
    """Deadlines of pending asks on one event loop (use it from that loop only)."""

    __slots__ = ("_armed", "_loop", "_queues")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: dict[float, deque[list[Any]]] = {}
        self._armed: set[float] = set()

    def watch(self, future: asyncio.Future[Any], timeout: float) -> list[Any]:
        """Fail future with Expired after timeout; set entry[1] = None once it is settled."""
        queue = self._queues.get(timeout)
        if queue is None:
            queue = self._queues[timeout] = deque()
        while queue and queue[0][1] is None:
            queue.popleft()
        entry: list[Any] = [self._loop.time() + timeout, future]
        queue.append(entry)
        if timeout not in self._armed:
            self._armed.add(timeout)
            self._loop.call_at(entry[0], self._fire, timeout)
        return entry

    def _fire(self, timeout: float) -> None:
        queue = self._queues[timeout]
        now = self._loop.time()
        while queue:
            deadline, future = queue[0]
            if future is not None:
                if deadline > now:
                    self._loop.call_at(deadline, self._fire, timeout)
                    return
                if not future.done():
                    future.set_exception(Expired())
            queue.popleft()
        self._armed.discard(timeout)
