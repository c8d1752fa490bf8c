"""`rateline restore`: a good backup into an empty database, checked table by table."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from actors.backup.recovery import RecoveryError, choose, restore_into
from protocols.backup_store.folder import FolderDestination
from storage.database import Database
from storage.embedded import EmbeddedPostgres
from tests.backup_support import backup_once, folder_config, seed

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("rate_observations", "calculations", "schema_migrations")


@pytest.fixture
async def empty_url(pg_url: str) -> AsyncIterator[str]:
    """A new, empty database on the test server."""
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_url)
    await admin.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(pg_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def contents(url: str) -> dict[str, list[tuple[object, ...]]]:
    conn = await asyncpg.connect(url)
    try:
        return {
            t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in TABLES
        }
    finally:
        await conn.close()


async def test_restore_round_trip_gives_identical_tables(
    db: Database, tmp_path: Path, empty_url: str
) -> None:
    await seed(db.pool, 400)
    folder = tmp_path / "backups"
    outcome = await backup_once(db, folder_config(folder), FolderDestination(folder))
    assert outcome.status == "verified"
    source = await contents(db.dsn)
    await seed(db.pool, 5, start=10_000)  # after the backup: must not come back

    env = {**os.environ, "RATELINE_BACKUP_DIR": str(folder), "RATELINE_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "server.cli", "restore", "--latest"]
    done = await asyncio.to_thread(
        subprocess.run,
        [*command, "--database-url", empty_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert f"restored backup {outcome.id}: every table's row count and content hash" in done.stdout
    restored = await contents(empty_url)
    assert len(restored["rate_observations"]) == 400
    assert restored == source


async def test_restore_refuses_a_database_that_has_tables(db: Database, tmp_path: Path) -> None:
    await seed(db.pool, 50)
    destination = FolderDestination(tmp_path)
    outcome = await backup_once(db, folder_config(tmp_path), destination)
    await seed(db.pool, 7, start=5_000)
    manifest = await choose(destination, outcome.id)

    with pytest.raises(RecoveryError, match="not empty"):
        await restore_into(db.dsn, destination, manifest)

    assert await db.pool.fetchval("SELECT count(*) FROM rate_observations") == 57


async def test_restore_with_force_replaces_the_tables_it_holds(
    db: Database, tmp_path: Path
) -> None:
    await seed(db.pool, 50)
    destination = FolderDestination(tmp_path)
    outcome = await backup_once(db, folder_config(tmp_path), destination)
    await seed(db.pool, 7, start=5_000)

    restored = await restore_into(db.dsn, destination, await choose(destination, None), force=True)

    assert restored.manifest.id == outcome.id and restored.difference is None
    assert await db.pool.fetchval("SELECT count(*) FROM rate_observations") == 50


async def test_a_failed_backup_is_not_offered_for_restore(tmp_path: Path) -> None:
    destination = FolderDestination(tmp_path)
    with pytest.raises(RecoveryError, match="no verified backup"):
        await choose(destination, None)
    with pytest.raises(RecoveryError, match="no backup nope"):
        await choose(destination, "nope")


async def test_rateline_backup_works_beside_a_server_on_the_embedded_database(
    data_dir: Path,
) -> None:
    server = EmbeddedPostgres(data_dir)  # what `rateline serve` holds while it runs
    url = await asyncio.to_thread(server.start)
    try:
        db = await Database.open(url=url, data_dir=data_dir, min_size=1, max_size=2)
        try:
            await seed(db.pool, 30)
        finally:
            await db.close()
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "server.cli", "backup", "--data-dir", str(data_dir)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert " verified: " in done.stdout
        names = sorted(p.name for p in (data_dir / "backups").iterdir())
        assert len(names) == 2 and names[0].endswith(".dump")
        manifest = await choose(FolderDestination(data_dir / "backups"), None)
        assert manifest.tables["public.rate_observations"].rows == 30
    finally:
        await asyncio.to_thread(server.stop)


async def test_a_restore_is_audited_and_its_log_verifies_against_the_checkpoints(
    db: Database, tmp_path: Path, empty_url: str
) -> None:
    from datetime import UTC, datetime

    from actors.audit.actor import checkpoint_store
    from actors.audit.auditor import Auditor
    from actors.audit.scan import verify_chain
    from actors.audit.verify import Checkpoint
    from ops.config import Settings
    from storage import audit as audit_store

    folder = tmp_path / "backups"
    settings = Settings.from_env({}, data_dir=tmp_path, backup_dir=folder)
    checkpoints = checkpoint_store(settings)
    auditor = Auditor(db.pool)
    for n in range(5):
        await auditor.record("sign_in", "success", target=f"user{n}@example.com")
    outcome = await backup_once(db, folder_config(folder), FolderDestination(folder))
    assert outcome.status == "verified"
    for n in range(5):  # after the backup, then checkpointed: gone after the restore
        await auditor.record("sign_in", "failure", target=f"late{n}@example.com")
    seq, head = await audit_store.head(db.pool)
    await checkpoints.append(Checkpoint(seq, head, datetime.now(UTC)))

    env = {**os.environ, "RATELINE_BACKUP_DIR": str(folder), "RATELINE_DATA_DIR": str(tmp_path)}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "restore", "--latest", "--database-url", empty_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    restored = await asyncpg.create_pool(empty_url, min_size=1, max_size=2)
    try:
        last = await restored.fetchrow("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1")
        assert (last["action"], last["target"]) == ("backup_restored", outcome.id)
        assert last["seq"] == 6
        verdict = await verify_chain(restored, await checkpoints.read())
        assert verdict.intact and verdict.count == 6, verdict.describe()
    finally:
        await restored.close()
