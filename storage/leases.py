"""Single-leader work across nodes: a PostgreSQL advisory lock held by a
session of its own.

The lock is held for exactly as long as that session lives, so a node that
dies or loses the database gives it up without anyone's help, and the next
node to ask takes it over. A session whose node falls silent (its host gone,
the network between them cut) can look alive to the database for as long as
TCP does, hours by default; so the database is told to end the session once
it has heard nothing for `silence` seconds, and the holder asks well within
that.
"""

from __future__ import annotations

import contextlib
import logging

import asyncpg

log = logging.getLogger("rateline.leadership")

# Advisory lock keys of single-leader work (storage.migrations has its own).
RATES_LEASE = 0x52_4C_52_41_54_45_53  # "RLRATES"
LEASE_TIMEOUT = 5.0


class AdvisoryLease:
    def __init__(
        self, dsn: str, key: int, *, silence: float, timeout: float = LEASE_TIMEOUT
    ) -> None:
        """`silence`: seconds without a query after which the database ends
        the session, freeing the lock; ask `held` more often than that."""
        self.dsn = dsn
        self.key = key
        self.timeout = timeout
        self.silence = silence
        self._conn: asyncpg.Connection | None = None

    async def try_acquire(self) -> bool:
        """Take the lock if no other session holds it; never waits for it."""
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self.dsn, timeout=self.timeout)
                await self._end_when_silent(self._conn)
            sql = "SELECT pg_try_advisory_lock($1)"
            return bool(await self._conn.fetchval(sql, self.key, timeout=self.timeout))
        except BaseException:
            self._drop()
            raise

    async def held(self) -> bool:
        """Whether the session that took the lock is still alive (it then still holds it)."""
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            await conn.fetchval("SELECT 1", timeout=self.timeout)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            self._drop()
            return False
        return True

    async def _end_when_silent(self, conn: asyncpg.Connection) -> None:
        version = conn.get_server_version()
        if version < (14,):
            log.warning(
                "PostgreSQL %s cannot end a silent session (14 or later can): a node that"
                " hangs while leading keeps the lead until TCP gives it up",
                version.major,
            )
            return
        milliseconds = max(1, round(self.silence * 1000))
        await conn.execute(f"SET idle_session_timeout = {milliseconds}", timeout=self.timeout)

    def _drop(self) -> None:
        """Cut the session without a goodbye: it did not answer, nor would it to that."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def release(self) -> None:
        """End the session, which frees the lock."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=self.timeout)
            if not conn.is_closed():
                conn.terminate()
