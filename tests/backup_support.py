"""Helpers shared by the backup tests: data to back up, and running one backup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg

from actors.backup import service
from actors.backup.config import BackupConfig
from protocols.backup_store import Destination
from storage import backups as store
from storage.database import Database


async def seed(pool: asyncpg.Pool, count: int = 500, *, start: int = 0) -> None:
    """Rate history rows (and a few calculations) with varied content."""
    base = datetime(2020, 1, 1, tzinfo=UTC)
    await pool.executemany(
        "INSERT INTO rate_observations (product, as_of, source, rate, points, apr)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (
                f"p{i % 7}",
                base + timedelta(hours=i),
                "simulated",
                Decimal("5.000") + Decimal(i % 900) / 1000,
                Decimal("0.500"),
                None if i % 3 else Decimal("6.125"),
            )
            for i in range(start, start + count)
        ],
    )
    await pool.execute(
        "INSERT INTO calculations (id, inputs, rates, rates_as_of, document)"
        " SELECT gen_random_uuid(), jsonb_build_object('price', g), '{}'::jsonb, now(),"
        " json_build_object('n', g, 'text', repeat('x', g % 50))"
        " FROM generate_series(1, 20) AS g"
    )


def folder_config(folder: Path) -> BackupConfig:
    return BackupConfig(folder=folder, retry_seconds=0.05, upload_attempts=3)


async def backup_once(
    db: Database, config: BackupConfig, destination: Destination, *, trigger: str = "command"
) -> service.Outcome:
    backup_id = service.new_id()
    created = await store.create(
        db.pool, id=backup_id, trigger=trigger, node="test", destination=destination.description
    )
    assert created
    return await service.run(db.pool, db.dsn, config, destination, backup_id)
