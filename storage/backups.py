"""Backups in SQL: the snapshot a dump is taken from, each table's figures
(row count and content hash), and the `backups` table.

A table's content hash is the sum, over its rows, of the MD5 of each row's
text form, in two 64-bit halves: it does not depend on row order (a restore
writes rows in another physical order) yet changes when any row changes,
appears or goes. Row text depends on a few session settings, which are
pinned here so the server and a scratch restore print rows alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from storage.database import Executor

# Rows of this table describe backups, not the platform: a dump leaves them out.
CATALOG_TABLE = "backups"

_PINNED = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 3",
    "SET LOCAL bytea_output = 'hex'",
)

_TABLES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1
"""


@dataclass(frozen=True)
class TableFigures:
    rows: int
    hash: str


@dataclass(frozen=True)
class Snapshot:
    """An open repeatable-read transaction whose snapshot pg_dump can share."""

    id: str
    conn: asyncpg.Connection
    server_version: str
    catalog: str  # the qualified name of the backups table, whose data is left out


@asynccontextmanager
async def exported_snapshot(conn: asyncpg.Connection) -> AsyncIterator[Snapshot]:
    """Export a snapshot; it stays valid until the block ends."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for statement in _PINNED:
            await conn.execute(statement)
        snapshot_id = await conn.fetchval("SELECT pg_export_snapshot()")
        version = await conn.fetchval("SHOW server_version")
        schema = await conn.fetchval("SELECT quote_ident(current_schema())")
        yield Snapshot(snapshot_id, conn, version, f"{schema}.{CATALOG_TABLE}")


async def table_names(conn: Executor) -> list[str]:
    return [row["name"] for row in await conn.fetch(_TABLES)]


async def table_figures(
    conn: asyncpg.Connection, *, skip: Collection[str] = ()
) -> dict[str, TableFigures]:
    """Every user table's row count and content hash, as this transaction sees them.

    Run inside `exported_snapshot`, or call `pinned_figures` elsewhere."""
    figures: dict[str, TableFigures] = {}
    for name in await table_names(conn):
        if name in skip:
            continue
        row = await conn.fetchrow(
            f"""
            SELECT count(*) AS rows,
                   coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0)::text
                   || '.' ||
                   coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0)::text AS hash
            FROM (SELECT md5(t::text) AS h FROM {name} AS t) AS s
            """
        )
        figures[name] = TableFigures(row["rows"], row["hash"])
    return figures


async def pinned_figures(
    conn: asyncpg.Connection, *, skip: Collection[str] = ()
) -> dict[str, TableFigures]:
    """`table_figures` in a transaction of its own with the pinned settings."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for statement in _PINNED:
            await conn.execute(statement)
        return await table_figures(conn, skip=skip)


async def applied_migrations(conn: Executor) -> list[str]:
    if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
        return []
    return [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations ORDER BY 1")]


async def is_empty(conn: Executor) -> bool:
    """True when the database has no table of its own."""
    return not await table_names(conn)


# -- the backups table -------------------------------------------------------


@dataclass(frozen=True)
class BackupRow:
    id: str
    trigger: str
    slot: datetime | None
    node: str
    destination: str
    status: str
    stage: str | None
    detail: str | None
    started_at: datetime
    finished_at: datetime | None
    dump_seconds: float | None
    verify_seconds: float | None
    size_bytes: int | None
    sha256: str | None


_COLUMNS = (
    "id, trigger, slot, node, destination, status, stage, detail, started_at,"
    " finished_at, dump_seconds, verify_seconds, size_bytes, sha256"
)


async def create(
    db: Executor,
    *,
    id: str,
    trigger: str,
    node: str,
    destination: str,
    slot: datetime | None = None,
) -> bool:
    """Record a backup as running; False when another node took this slot."""
    status = await db.execute(
        """
        INSERT INTO backups (id, trigger, slot, node, destination)
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (slot) DO NOTHING
        """,
        id,
        trigger,
        slot,
        node,
        destination,
    )
    return bool(status == "INSERT 0 1")


async def record_dump(
    db: Executor, id: str, *, seconds: float, size: int, sha256: str, manifest: dict[str, Any]
) -> None:
    await db.execute(
        """
        UPDATE backups SET dump_seconds = $2, size_bytes = $3, sha256 = $4, manifest = $5
        WHERE id = $1
        """,
        id,
        seconds,
        size,
        sha256,
        manifest,
    )


async def finish(
    db: Executor,
    id: str,
    *,
    status: str,
    stage: str | None = None,
    detail: str | None = None,
    verify_seconds: float | None = None,
) -> None:
    await db.execute(
        """
        UPDATE backups SET status = $2, stage = $3, detail = $4,
               verify_seconds = coalesce($5, verify_seconds), finished_at = now()
        WHERE id = $1
        """,
        id,
        status,
        stage,
        detail,
        verify_seconds,
    )


async def get(db: Executor, id: str) -> BackupRow | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM backups WHERE id = $1", id)
    return BackupRow(**dict(row)) if row is not None else None


async def listing(db: Executor, *, limit: int = 100) -> list[BackupRow]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM backups ORDER BY started_at DESC, id DESC LIMIT $1", limit
    )
    return [BackupRow(**dict(r)) for r in rows]


async def of_destination(db: Executor, destination: str) -> list[BackupRow]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM backups WHERE destination = $1 ORDER BY started_at", destination
    )
    return [BackupRow(**dict(r)) for r in rows]


async def running_on(db: Executor, node: str) -> str | None:
    """The id of a backup this node is running or has queued, if any."""
    value = await db.fetchval(
        "SELECT id FROM backups WHERE node = $1 AND status = 'running' LIMIT 1", node
    )
    return str(value) if value is not None else None


async def last_good(db: Executor) -> BackupRow | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM backups WHERE status = 'verified' ORDER BY started_at DESC LIMIT 1"
    )
    return BackupRow(**dict(row)) if row is not None else None


async def delete(db: Executor, ids: list[str]) -> None:
    await db.execute("DELETE FROM backups WHERE id = ANY($1::text[])", ids)
