"""The database handle every other part receives: an asyncpg pool, and the
embedded PostgreSQL behind it when no URL was configured."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from storage import migrations
from storage.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)

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
    def __init__(self, pool: asyncpg.Pool, dsn: str, embedded: EmbeddedPostgres | None) -> None:
        self.pool = pool
        self.dsn = dsn
        self.embedded = embedded

    @classmethod
    async def open(
        cls,
        *,
        url: str | None,
        data_dir: Path,
        min_size: int = 2,
        max_size: int = 10,
        migrate: bool = True,
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
            db = cls(pool, url, embedded)
            if migrate:
                await db.migrate()
            return db
        except BaseException:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise

    async def migrate(self) -> list[str]:
        async with self.pool.acquire() as conn:
            return await migrations.migrate(conn)

    async def ping(self) -> None:
        """Raise unless the database answers within two seconds."""
        await self.pool.fetchval("SELECT 1", timeout=2.0)

    async def close(self) -> None:
        await self.pool.close()
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
