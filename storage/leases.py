"""Single-leader work across nodes: a PostgreSQL advisory lock held by a
session of its own.

The lock is held for exactly as long as that session lives, so a node that
dies or loses the database gives it up without anyone's help, and the next
node to ask takes it over.
"""

from __future__ import annotations

import contextlib

import asyncpg

# Advisory lock keys of single-leader work (storage.migrations has its own).
RATES_LEASE = 0x52_4C_52_41_54_45_53  # "RLRATES"


class AdvisoryLease:
    def __init__(self, dsn: str, key: int, *, timeout: float = 5.0) -> None:
        self.dsn = dsn
        self.key = key
        self.timeout = timeout
        self._conn: asyncpg.Connection | None = None

    async def try_acquire(self) -> bool:
        """Take the lock if no other session holds it; never waits for it."""
        conn = self._conn
        if conn is None or conn.is_closed():
            conn = self._conn = await asyncpg.connect(self.dsn, timeout=self.timeout)
        sql = "SELECT pg_try_advisory_lock($1)"
        return bool(await conn.fetchval(sql, self.key, timeout=self.timeout))

    async def held(self) -> bool:
        """Whether the session that took the lock is still alive (it then still holds it)."""
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            await conn.fetchval("SELECT 1", timeout=self.timeout)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            await self.release()
            return False
        return True

    async def release(self) -> None:
        """End the session, which frees the lock."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=self.timeout)
            if not conn.is_closed():
                conn.terminate()
