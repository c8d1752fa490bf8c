"""Event-loop lag: how late a periodic timer fires.

A handler or callback that blocks the loop delays everything on it; the
lateness of a timer that should fire every `interval` seconds measures it
directly, whatever did the blocking.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge

LOOP_LAG = Gauge(
    "rateline_event_loop_lag_seconds",
    "How late the event loop ran a periodic timer, at its latest tick.",
)


async def watch_loop_lag(interval: float = 0.5) -> None:
    """Run forever on the loop to watch; cancel to stop."""
    loop = asyncio.get_running_loop()
    while True:
        expected = loop.time() + interval
        await asyncio.sleep(interval)
        LOOP_LAG.set(max(0.0, loop.time() - expected))
