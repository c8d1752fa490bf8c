"""A backup into a folder: dumped, described by its manifest, proved by a real restore."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from actors.backup.manifest import decode, dump_name, manifest_name
from actors.backup.pipeline import StageFailed, dump, verify
from protocols.backup_store.folder import FolderDestination, FolderUpload
from storage import backups as store
from storage.database import Database
from storage.pg_tools import libpq_target
from tests.backup_support import backup_once, folder_config, seed


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_folder_backup_is_verified_by_a_restore(db: Database, tmp_path: Path) -> None:
    await seed(db.pool, 700)
    destination = FolderDestination(tmp_path / "backups")

    outcome = await backup_once(db, folder_config(tmp_path / "backups"), destination)

    assert (outcome.status, outcome.stage, outcome.detail) == ("verified", None, "")
    files = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert files == [dump_name(outcome.id), manifest_name(outcome.id)]
    manifest = decode((tmp_path / "backups" / manifest_name(outcome.id)).read_bytes())
    assert manifest.good
    assert manifest.tables["public.rate_observations"].rows == 700
    assert manifest.tables["public.calculations"].rows == 20
    assert "public.backups" not in manifest.tables
    assert "0080_backups.sql" in manifest.migrations
    assert manifest.size == (tmp_path / "backups" / dump_name(outcome.id)).stat().st_size
    row = await store.get(db.pool, outcome.id)
    assert row is not None and row.status == "verified" and row.size_bytes == manifest.size
    assert metric("rateline_backup_last_good_timestamp_seconds") == row.started_at.timestamp()


class RottingUpload(FolderUpload):
    """Stores the object, then one byte of it changes on disk (bit rot)."""

    async def complete(self) -> None:
        await super().complete()
        if self.final.name.endswith(".dump"):
            with self.final.open("r+b") as handle:
                handle.seek(self.final.stat().st_size // 2)
                byte = handle.read(1)
                handle.seek(-1, 1)
                handle.write(bytes([byte[0] ^ 0x01]))


class RottingFolder(FolderDestination):
    async def start_upload(self, name: str) -> FolderUpload:
        upload = await super().start_upload(name)
        return RottingUpload(upload.final, upload.handle)


async def test_a_flipped_byte_fails_verification_and_is_announced(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(db.pool, 300)
    failures = metric("rateline_backup_failures_total", stage="verify")

    with caplog.at_level(logging.ERROR, logger="rateline.backup"):
        outcome = await backup_once(db, folder_config(tmp_path), RottingFolder(tmp_path))

    announced = [r for r in caplog.records if r.getMessage() == "backup failed"]
    assert [(r.backup_id, r.stage) for r in announced] == [(outcome.id, "verify")]  # type: ignore[attr-defined]

    assert (outcome.status, outcome.stage) == ("failed", "verify")
    assert "SHA-256" in outcome.detail
    row = await store.get(db.pool, outcome.id)
    assert row is not None and row.status == "failed" and row.stage == "verify"
    assert metric("rateline_backup_failures_total", stage="verify") == failures + 1
    manifest = decode((tmp_path / manifest_name(outcome.id)).read_bytes())
    assert manifest.verification is not None and manifest.verification.status == "failed"
    assert await store.last_good(db.pool) is None


async def test_a_dump_taken_during_writes_matches_its_manifest(
    db: Database, tmp_path: Path
) -> None:
    await seed(db.pool, 2000)
    destination = FolderDestination(tmp_path)
    written = 0
    stop = asyncio.Event()

    async def keep_writing() -> None:
        nonlocal written
        while not stop.is_set():
            await seed(db.pool, 50, start=100_000 + written)
            written += 50
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    try:
        await asyncio.sleep(0.05)
        async with db.pool.acquire() as conn:
            manifest = await dump(conn, db.dsn, destination, "during-writes")
    finally:
        stop.set()
        await writer
    taken = manifest.tables["public.rate_observations"].rows
    assert written > 0
    assert 2000 < taken < 2000 + written  # writes before and after the snapshot
    await verify(destination, manifest)  # restored rows equal the manifest's, table by table


async def test_verification_names_the_first_table_that_differs(
    db: Database, tmp_path: Path
) -> None:
    await seed(db.pool, 100)
    destination = FolderDestination(tmp_path)
    async with db.pool.acquire() as conn:
        manifest = await dump(conn, db.dsn, destination, "differs")
    tables = dict(manifest.tables)
    real = tables["public.rate_observations"]
    tables["public.rate_observations"] = type(real)(real.rows + 1, real.hash)
    import msgspec

    wrong = msgspec.structs.replace(manifest, tables=tables)
    try:
        await verify(destination, wrong)
    except StageFailed as exc:
        assert exc.stage == "verify"
        assert exc.detail == "table public.rate_observations: 100 rows, the manifest says 101"
    else:
        raise AssertionError("verification passed against a wrong manifest")


def test_the_password_reaches_pg_dump_through_the_environment_only() -> None:
    url, env = libpq_target("postgresql://app:s%40cret@db.example:5432/rateline?sslmode=require")
    assert url == "postgresql://app@db.example:5432/rateline?sslmode=require"
    assert env == {"PGPASSWORD": "s@cret"}
    embedded = "postgresql://postgres:@/postgres?host=/run/pg"  # no password at all
    assert libpq_target(embedded) == (embedded, {})
