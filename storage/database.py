"""The database handle every other part receives: an asyncpg pool, and the
embedded PostgreSQL behind it when no URL was configured.

The pool reconnects by itself: asyncpg replaces a closed connection on the
next acquire. While the database is away, queries raise connection errors;
`is_unavailable` is the one place that tells those apart from bugs, so the
HTTP front answers 503 and actors wait instead of crashing. An embedded
cluster that dies is restarted by a watchdog here, in the layer that owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy
from prometheus_client import Counter

from storage import migrations
from storage.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)

RESTARTS = Counter(
    "rateline_embedded_postgres_restarts_total",
    "Times the watchdog restarted the embedded PostgreSQL after it died.",
)

# What asyncpg raises when the server is gone, refusing, or shutting down.
SERVER_AWAY: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# What it raises then too, but also for other reasons: a refused or missing
# socket while connecting, a timeout, a closed connection or pool, a protocol
# state upset by a session terminated mid-query (asyncpg issue 784), and bugs.
MAYBE_AWAY: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
CONNECTION_ERRORS = SERVER_AWAY + MAYBE_AWAY


def connection_error(exc: BaseException) -> BaseException | None:
    """The database connection error behind `exc` (itself or a cause), if any."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, CONNECTION_ERRORS):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


# What every query function accepts: the pool, or a connection taken from it
# (inside the caller's transaction).
Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool | PoolConnectionProxy


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


@dataclass(frozen=True)
class PoolStats:
    size: int
    idle: int
    max_size: int
    waiting: int


class Database:
    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        embedded: EmbeddedPostgres | None,
        *,
        watch_every: float = 1.0,
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.embedded = embedded
        self.restarts = 0
        self._watchdog: asyncio.Task[None] | None = None
        if embedded is not None:
            self._watchdog = asyncio.get_running_loop().create_task(
                self._watch(embedded, watch_every), name="embedded-postgres-watchdog"
            )

    @classmethod
    async def open(
        cls,
        *,
        url: str | None,
        data_dir: Path,
        min_size: int = 2,
        max_size: int = 10,
        migrate: bool = True,
        watch_every: float = 1.0,
    ) -> Database:
        """Connect (starting the embedded server when `url` is None) and migrate."""
        embedded = None
        if url is None:
            embedded = EmbeddedPostgres(data_dir)
            url = await asyncio.to_thread(embedded.start)
        try:
            pool = await asyncpg.create_pool(
                url, min_size=min_size, max_size=max_size, init=_init_connection
            )
        except BaseException:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise
        db = cls(pool, url, embedded, watch_every=watch_every)
        try:
            if migrate:
                await db.migrate()
        except BaseException:
            await db.close()
            raise
        return db

    async def migrate(self) -> list[str]:
        async with self.pool.acquire() as conn:
            return await migrations.migrate(conn)

    async def ping(self, timeout: float = 2.0) -> None:  # noqa: ASYNC109
        """Raise unless the database answers within `timeout` seconds."""
        async with asyncio.timeout(timeout):
            await self.pool.fetchval("SELECT 1", timeout=timeout)

    async def is_unavailable(self, exc: BaseException) -> bool:
        """Whether `exc` means the database is away (not a bug of ours).

        PostgreSQL's connection and shutdown errors say so outright; the
        others could come from elsewhere, so the database is asked."""
        cause = connection_error(exc)
        if cause is None:
            return False
        if isinstance(cause, SERVER_AWAY):
            return True
        try:
            await self.ping(timeout=1.0)
        except Exception:
            return True
        return False

    async def _watch(self, embedded: EmbeddedPostgres, every: float) -> None:
        """Restart the embedded cluster whenever its postmaster is gone."""
        failures = 0
        while True:
            await asyncio.sleep(min(every * 2**failures, 30.0))
            if await asyncio.to_thread(embedded.running):
                failures = 0
                continue
            log.error("embedded PostgreSQL is down", extra={"pgdata": str(embedded.pgdata)})
            try:
                await asyncio.to_thread(embedded.restart)
            except Exception as exc:
                failures += 1
                log.warning(
                    "embedded PostgreSQL did not restart; retrying",
                    extra={"error": repr(exc), "attempt": failures},
                )
            else:
                failures = 0
                self.restarts += 1
                RESTARTS.inc()
                await self.pool.expire_connections()

    async def close(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        try:
            await asyncio.wait_for(self.pool.close(), timeout)
        except TimeoutError:
            log.warning("database pool did not close in time; terminating its connections")
            self.pool.terminate()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)

    def stats(self) -> PoolStats:
        queue: Any = getattr(self.pool, "_queue", None)
        waiting = len(getattr(queue, "_getters", ()) or ())
        return PoolStats(
            size=self.pool.get_size(),
            idle=self.pool.get_idle_size(),
            max_size=self.pool.get_max_size(),
            waiting=waiting,
        )
