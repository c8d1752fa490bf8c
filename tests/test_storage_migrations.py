"""Migrations: order, once only, refusal of edited files, two nodes at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from storage.migrations import MigrationError, discover, migrate

Connect = Callable[[], Awaitable[asyncpg.Connection]]


@pytest.fixture
async def empty_database(pg_url: str) -> AsyncIterator[Connect]:
    """A brand-new database on the session's server, dropped afterwards."""
    name = f"mig_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield lambda: asyncpg.connect(pg_url, database=name)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def write(folder: Path, name: str, sql: str) -> None:
    (folder / name).write_text(sql)


async def test_applies_in_order_and_records_each_once(
    empty_database: Connect, tmp_path: Path
) -> None:
    write(tmp_path, "0002_add_column.sql", "ALTER TABLE things ADD COLUMN colour text;")
    write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    conn = await empty_database()
    try:
        assert await migrate(conn, tmp_path) == ["0001_things.sql", "0002_add_column.sql"]
        assert await migrate(conn, tmp_path) == []
        rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["name"]) for r in rows] == [
            (1, "0001_things.sql"),
            (2, "0002_add_column.sql"),
        ]
        await conn.execute("INSERT INTO things (id, colour) VALUES (1, 'red')")
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(
    empty_database: Connect, tmp_path: Path
) -> None:
    write(tmp_path, "0001_ok.sql", "CREATE TABLE ok (id int);")
    write(tmp_path, "0002_broken.sql", "CREATE TABLE half (id int); SELECT no_such_function();")
    conn = await empty_database()
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, tmp_path)
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables")}
        assert "ok" in tables and "half" not in tables
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        assert versions == [1]
    finally:
        await conn.close()


async def test_an_edited_applied_migration_is_refused_by_name(
    empty_database: Connect, tmp_path: Path
) -> None:
    write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int);")
    conn = await empty_database()
    try:
        await migrate(conn, tmp_path)
        write(tmp_path, "0001_things.sql", "CREATE TABLE things (id bigint);")
        with pytest.raises(MigrationError, match=r"0001_things\.sql was changed"):
            await migrate(conn, tmp_path)
    finally:
        await conn.close()


async def test_two_nodes_starting_together_migrate_once(
    empty_database: Connect, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "0001_slow.sql",
        "SELECT pg_sleep(0.3); CREATE TABLE once (id int); INSERT INTO once VALUES (1);",
    )
    first = await empty_database()
    second = await empty_database()
    try:
        results = await asyncio.gather(migrate(first, tmp_path), migrate(second, tmp_path))
        assert sorted(results, key=len) == [[], ["0001_slow.sql"]]
        assert await first.fetchval("SELECT count(*) FROM once") == 1
    finally:
        await first.close()
        await second.close()


def test_badly_named_or_duplicate_files_are_rejected(tmp_path: Path) -> None:
    write(tmp_path, "1_short.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        discover(tmp_path)
    (tmp_path / "1_short.sql").unlink()
    write(tmp_path, "0001_a.sql", "SELECT 1;")
    write(tmp_path, "0001_b.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="number 1 is used"):
        discover(tmp_path)


def test_shipped_migrations_are_well_formed() -> None:
    for migration in discover():
        assert migration.sql.strip(), f"{migration.name} is empty"
