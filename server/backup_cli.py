"""`rateline backup` and `rateline restore`: backups from the command line.

`backup` takes one backup now, exactly as the scheduler would (dump,
manifest, verification by a real restore, retention), and waits for the
verdict. `restore` puts a good backup into an empty database and checks
every table against the backup's manifest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path

import asyncpg

from actors.audit.actor import checkpoint_store
from actors.audit.verify import Checkpoint
from actors.backup import service
from actors.backup.config import BackupConfig
from actors.backup.pipeline import StageFailed
from actors.backup.recovery import RecoveryError, choose, restore_into
from ops.config import Settings
from protocols.backup_store import DestinationError
from storage import audit as audit_store
from storage import backups as store
from storage.audit import AuditEvent
from storage.database import Database
from storage.embedded import DataDirInUse, EmbeddedPostgres, running_url

COMMANDS = ("backup", "restore")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = commands.add_parser(
        "backup",
        help="take a backup now and wait until it is verified",
        description="Take a backup now (dump, upload, verify by a restore) and wait for it.",
    )
    backup.add_argument("--data-dir", type=Path, help="data folder (RATELINE_DATA_DIR)")
    restore = commands.add_parser(
        "restore",
        help="restore a good backup into an empty database",
        description="Restore a verified backup into an empty database and check every table"
        " against the backup's manifest.",
    )
    which = restore.add_mutually_exclusive_group()
    which.add_argument("--backup", metavar="ID", help="the backup to restore")
    which.add_argument("--latest", action="store_true", help="the newest good backup (the default)")
    restore.add_argument(
        "--database-url",
        help="database to restore into (default: DATABASE_URL, else the embedded one)",
    )
    restore.add_argument(
        "--force",
        action="store_true",
        help="restore into a database that has tables, replacing those the backup holds",
    )
    restore.add_argument("--data-dir", type=Path, help="data folder (RATELINE_DATA_DIR)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "backup":
        return await backup(settings)
    return await restore(args, settings)


async def backup(settings: Settings) -> int:
    config = BackupConfig.from_settings(settings)
    try:
        db = await Database.open(url=settings.database_url, data_dir=settings.data_dir)
    except DataDirInUse:
        # The server runs the embedded database: back it up through that server's socket.
        url = running_url(settings.data_dir)
        if url is None:
            raise
        db = await Database.open(url=url, data_dir=settings.data_dir, min_size=1, max_size=2)
    destination = config.destination()
    try:
        backup_id = service.new_id()
        node = f"command:{socket.gethostname()}:{os.getpid()}"
        await store.create(
            db.pool,
            id=backup_id,
            trigger="command",
            node=node,
            destination=destination.description,
        )
        print(f"backup {backup_id} to {destination.description} ...", flush=True)
        outcome = await service.run(db.pool, db.dsn, config, destination, backup_id)
        if outcome.status == "verified":
            await service.prune(db.pool, config, destination, service.utcnow())
    finally:
        await destination.close()
        await db.close()
    if outcome.status != "verified":
        print(f"backup {backup_id} failed at {outcome.stage}: {outcome.detail}", file=sys.stderr)
        return 1
    print(
        f"backup {backup_id} verified: {outcome.size} bytes, dumped in"
        f" {outcome.dump_seconds:.1f} s, restored and compared in {outcome.verify_seconds:.1f} s"
    )
    return 0


async def restore(args: argparse.Namespace, settings: Settings) -> int:
    config = BackupConfig.from_settings(settings)
    destination = config.destination()
    embedded: EmbeddedPostgres | None = None
    try:
        dsn = args.database_url or settings.database_url
        if dsn is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            dsn = await asyncio.to_thread(embedded.start)
        manifest = await choose(destination, args.backup)
        print(
            f"restoring backup {manifest.id} (taken {manifest.started_at:%Y-%m-%d %H:%M} UTC,"
            f" {manifest.total_rows} rows in {len(manifest.tables)} tables) ...",
            flush=True,
        )
        restored = await restore_into(
            dsn, destination, manifest, force=args.force, pg_bin=config.pg_bin
        )
        if restored.difference is None:
            await record_restore(dsn, settings, manifest.id, force=args.force)
    except (RecoveryError, DestinationError) as exc:
        print(f"rateline: {exc}", file=sys.stderr)
        return 2
    except StageFailed as exc:
        print(f"rateline: restore failed: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await destination.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    if restored.difference is not None:
        print(
            f"rateline: restored, but it differs from the manifest: {restored.difference}",
            file=sys.stderr,
        )
        return 1
    print(
        f"restored backup {manifest.id}: every table's row count and content hash"
        f" match the manifest ({len(manifest.tables)} tables, {manifest.total_rows} rows)"
    )
    return 0


async def record_restore(dsn: str, settings: Settings, backup_id: str, *, force: bool) -> None:
    """The restore is an audit event of the restored database, and a fresh
    checkpoint: the log went back to the backup's state on purpose."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            [row] = await audit_store.append(
                conn,
                [
                    AuditEvent(
                        "backup_restored", "success", target=backup_id, details={"force": force}
                    )
                ],
            )
    finally:
        await conn.close()
    await checkpoint_store(settings).append(
        Checkpoint(row.seq, row.hash, row.at), restored=backup_id
    )
