"""PostgreSQL LISTEN on a connection of its own, for actors woken by other nodes.

A pooled connection cannot hold a LISTEN (it goes back to the pool), so a
listener owns one dedicated connection for as long as it listens.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg


async def listen(dsn: str, channel: str, on_notify: Callable[[], None]) -> asyncpg.Connection:
    """Call `on_notify` (on the event loop) whenever `channel` is notified.

    Close the returned connection to stop listening."""
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(channel, lambda *_: on_notify())
    return conn
