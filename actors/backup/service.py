"""One backup run from start to verdict, and the pruning after it.

Used by the backup actor (schedule and admin requests) and by the `rateline
backup` command alike: dump into the destination with the manifest beside
it, verify by a real restore, record the verdict in the backups table and
in the manifest, announce it (log line and metrics), then apply retention.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter

import asyncpg
import msgspec

from actors.backup import retention
from actors.backup.config import BackupConfig
from actors.backup.manifest import (
    Manifest,
    Verification,
    dump_name,
    encode,
    manifest_name,
)
from actors.backup.metrics import FAILURES, LAST_DURATION, LAST_GOOD, LAST_SIZE
from actors.backup.pipeline import StageFailed, dump, verify
from actors.backup.recovery import manifests
from protocols.backup_store import Destination, DestinationError
from protocols.backup_store.s3 import S3Destination
from storage import backups as store

log = logging.getLogger("rateline.backup")


@dataclass(frozen=True)
class Outcome:
    id: str
    status: str  # verified or failed
    stage: str | None = None
    detail: str = ""
    size: int | None = None
    dump_seconds: float | None = None
    verify_seconds: float | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(now: datetime | None = None) -> str:
    """Sortable and readable: 20261206T030000Z-1a2b3c."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


# With no good backup at all, the gauge says since when there has been none
# here: a new install is not an alert at once, and one that never gets a
# good backup is one 26 hours later.
_LOOKING_SINCE = time.time()


async def refresh_last_good(pool: asyncpg.Pool) -> None:
    """Set the last-good gauge from the table (every node, so any node's metrics tell)."""
    row = await store.last_good(pool)
    LAST_GOOD.set(row.started_at.timestamp() if row is not None else _LOOKING_SINCE)


async def run(
    pool: asyncpg.Pool, dsn: str, config: BackupConfig, destination: Destination, backup_id: str
) -> Outcome:
    """Take, store and verify the backup recorded (as running) under `backup_id`."""
    started = perf_counter()
    dump_seconds: float | None = None
    manifest: Manifest | None = None
    stage = "dump"
    try:
        async with pool.acquire() as conn:
            manifest = await dump(conn, dsn, destination, backup_id, pg_bin=config.pg_bin)
        stage = "upload"
        await destination.put(manifest_name(backup_id), encode(manifest))
        dump_seconds = perf_counter() - started
        await store.record_dump(
            pool,
            backup_id,
            seconds=dump_seconds,
            size=manifest.size,
            sha256=manifest.sha256,
            manifest=msgspec.to_builtins(manifest),
        )
        stage = "verify"
        verify_started = perf_counter()
        await verify(destination, manifest, pg_bin=config.pg_bin)
        verify_seconds = perf_counter() - verify_started
        verdict = Verification("verified", datetime.now(UTC))
        stage = "upload"
        await destination.put(manifest_name(backup_id), encode(_with(manifest, verdict)))
        outcome = Outcome(
            backup_id, "verified", None, "", manifest.size, dump_seconds, verify_seconds
        )
    except StageFailed as exc:
        size = manifest.size if manifest is not None else None
        outcome = Outcome(backup_id, "failed", exc.stage, exc.detail, size, dump_seconds)
    except DestinationError as exc:
        outcome = Outcome(backup_id, "failed", stage, str(exc), None, dump_seconds)
    except Exception as exc:  # whatever broke, the verdict is recorded and announced
        log.exception("backup %s failed at %s", backup_id, stage)
        outcome = Outcome(backup_id, "failed", stage, f"{type(exc).__name__}: {exc}")
    total = perf_counter() - started
    if outcome.status == "failed" and manifest is not None:
        await _mark_failed_manifest(destination, manifest, outcome)
    await _record(pool, outcome, total)
    return outcome


def _with(manifest: Manifest, verdict: Verification) -> Manifest:
    return msgspec.structs.replace(manifest, verification=verdict)


async def _mark_failed_manifest(
    destination: Destination, manifest: Manifest, outcome: Outcome
) -> None:
    verdict = Verification("failed", datetime.now(UTC), f"{outcome.stage}: {outcome.detail}")
    try:
        await destination.put(manifest_name(manifest.id), encode(_with(manifest, verdict)))
    except DestinationError as exc:
        log.warning("could not mark the manifest of %s failed: %s", manifest.id, exc)


async def _record(pool: asyncpg.Pool, outcome: Outcome, total: float) -> None:
    LAST_DURATION.labels("total").set(total)
    if outcome.dump_seconds is not None:
        LAST_DURATION.labels("dump").set(outcome.dump_seconds)
    if outcome.verify_seconds is not None:
        LAST_DURATION.labels("verify").set(outcome.verify_seconds)
    if outcome.size is not None:
        LAST_SIZE.set(outcome.size)
    facts = {
        "backup_id": outcome.id,
        "status": outcome.status,
        "seconds": round(total, 3),
        "size_bytes": outcome.size,
    }
    if outcome.status == "verified":
        log.info("backup verified", extra=facts)
    else:
        FAILURES.labels(outcome.stage or "dump").inc()
        log.error(
            "backup failed", extra={**facts, "stage": outcome.stage, "detail": outcome.detail}
        )
    try:
        await store.finish(
            pool,
            outcome.id,
            status=outcome.status,
            stage=outcome.stage,
            detail=outcome.detail or None,
            verify_seconds=outcome.verify_seconds,
        )
        await refresh_last_good(pool)
    except (asyncpg.PostgresError, OSError) as exc:
        log.error("could not record the verdict of backup %s: %r", outcome.id, exc)


async def prune(
    pool: asyncpg.Pool, config: BackupConfig, destination: Destination, now: datetime
) -> list[str]:
    """Delete what retention lets go, objects first, then their rows.

    Backups the destination holds but the table does not know (taken before
    the database was restored from one of them) count too, by their manifests."""
    rows = await store.of_destination(pool, destination.description)
    entries = [retention.Entry(r.id, r.started_at, r.status) for r in rows]
    deleted: list[str] = []
    try:
        known = {r.id for r in rows}
        for manifest in await manifests(destination):
            if manifest.id not in known:
                verdict = manifest.verification
                status = verdict.status if verdict is not None else "running"
                entries.append(retention.Entry(manifest.id, manifest.started_at, status))
        doomed = retention.to_delete(
            entries, now, keep_daily=config.keep_daily, keep_weekly=config.keep_weekly
        )
        for backup_id in sorted(doomed):
            await destination.delete(dump_name(backup_id))
            await destination.delete(manifest_name(backup_id))
            deleted.append(backup_id)
        if isinstance(destination, S3Destination):
            await destination.abort_stale_uploads()
    except DestinationError as exc:
        FAILURES.labels("retention").inc()
        log.error("retention could not delete every backup it should: %s", exc)
    finally:
        await store.delete(pool, deleted)
    if deleted:
        log.info("retention deleted backups", extra={"backups": deleted})
    return deleted
