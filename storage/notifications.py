"""PostgreSQL LISTEN on a connection of its own, for work woken by other nodes.

A pooled connection cannot hold a LISTEN (it goes back to the pool), so a
listener owns one dedicated connection for as long as it listens.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg


async def listen(
    dsn: str,
    channel: str,
    on_notify: Callable[[str], None],
    on_lost: Callable[[], None] | None = None,
) -> asyncpg.Connection:
    """Call `on_notify(payload)` (on the event loop) whenever `channel` is
    notified, and `on_lost()` once the connection has ended, for any reason,
    our own close included.

    Close the returned connection to stop listening."""
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(channel, lambda _conn, _pid, _channel, payload: on_notify(payload))
    if on_lost is not None:
        conn.add_termination_listener(lambda _conn: on_lost())
    return conn
