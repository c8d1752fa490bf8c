"""Restoring a good backup into a database, and proving the result.

Works from the destination alone (the manifests beside the dumps say which
backups are good), so it serves after the database the backups came from is
gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from actors.backup.manifest import MANIFEST_SUFFIX, Manifest, decode, manifest_name
from actors.backup.pipeline import compare, restore
from protocols.backup_store import Destination, DestinationError
from storage import backups as store
from storage.pg_tools import find_tools


class RecoveryError(Exception):
    """What the operator must know or change; nothing was restored."""


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    difference: str | None  # None: every table matches the manifest


async def manifests(destination: Destination) -> list[Manifest]:
    """Every backup the destination holds, oldest first."""
    found = []
    for name in await destination.names():
        if name.endswith(MANIFEST_SUFFIX):
            found.append(decode(await destination.get(name)))
    return sorted(found, key=lambda m: (m.started_at, m.id))


async def choose(destination: Destination, backup_id: str | None) -> Manifest:
    """The backup named, or the newest good one."""
    if backup_id is None:
        good = [m for m in await manifests(destination) if m.good]
        if not good:
            raise RecoveryError(f"{destination.description} holds no verified backup")
        return good[-1]
    try:
        manifest = decode(await destination.get(manifest_name(backup_id)))
    except DestinationError:
        raise RecoveryError(f"{destination.description} holds no backup {backup_id}") from None
    if not manifest.good:
        why = manifest.verification.detail if manifest.verification else "it was never verified"
        raise RecoveryError(f"backup {backup_id} is not a good backup: {why}")
    return manifest


async def restore_into(
    dsn: str,
    destination: Destination,
    manifest: Manifest,
    *,
    force: bool = False,
    pg_bin: Path | None = None,
) -> Restored:
    """Restore into `dsn` (empty, unless `force`), then compare with the manifest."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await store.table_names(conn)
        major = conn.get_server_version().major
    finally:
        await conn.close()
    if tables and not force:
        raise RecoveryError(
            f"the database is not empty ({len(tables)} tables, e.g. {tables[0]}); restore into"
            " an empty database, or pass --force to replace the tables the backup holds"
        )
    tools = await find_tools(major, pg_bin)
    await restore(destination, manifest, dsn, tools, clean=bool(tables))
    difference = await compare(dsn, manifest, extra_allowed=True)
    return Restored(manifest, difference)
