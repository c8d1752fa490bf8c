"""Retention: which backups stay, over a simulated month and in a real folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from actors.backup import service
from actors.backup.config import BackupConfig
from actors.backup.manifest import Manifest, Verification, encode
from actors.backup.retention import Entry, to_delete
from protocols.backup_store.folder import FolderDestination
from storage import backups as store
from storage.database import Database


def at(day: str, hour: int = 3) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_a_simulated_month_keeps_seven_daily_and_four_weekly() -> None:
    kept: dict[str, Entry] = {}

    def backup(entry: Entry, now: datetime) -> None:
        kept[entry.id] = entry
        for gone in to_delete(kept.values(), now, keep_daily=7, keep_weekly=4):
            del kept[gone]

    day = at("2026-11-01")
    while day <= at("2026-12-01"):
        backup(Entry(f"{day:%m-%d}", day, "verified"), day + timedelta(minutes=5))
        if day.date().isoformat() == "2026-11-28":
            backup(Entry("failed-11-28", day + timedelta(hours=1), "failed"), day)
        if day.date().isoformat() == "2026-11-20":
            backup(Entry("stuck-11-20", day + timedelta(hours=2), "running"), day)
        day += timedelta(days=1)
    now = at("2026-12-01", 16)
    backup(Entry("failed-12-01", at("2026-12-01", 10), "failed"), now)
    backup(Entry("running-12-01", at("2026-12-01", 15), "running"), now)
    backup(Entry("manual-12-01", at("2026-12-01", 15), "verified"), now)

    assert set(kept) == {
        # the newest of each of the last seven days (today's manual one replaces 03:00)
        "manual-12-01", "11-30", "11-29", "11-28", "11-27", "11-26", "11-25",
        # the newest of each of the last four ISO weeks: 49 (today), 48, 47, 46
        "11-22", "11-15",
        # failed and running ones younger than a day
        "failed-12-01", "running-12-01",
    }  # fmt: skip


def test_the_newest_good_backup_is_never_deleted() -> None:
    now = at("2026-12-10")
    entries = [
        Entry("old-good", at("2026-11-01"), "verified"),
        Entry("older-good", at("2026-10-01"), "verified"),
        *(Entry(f"failed-{i}", now - timedelta(days=i), "failed") for i in range(2, 30)),
    ]
    doomed = to_delete(entries, now, keep_daily=0, keep_weekly=0)
    assert "old-good" not in doomed
    assert doomed == {e.id for e in entries} - {"old-good"}


def test_days_without_a_good_backup_do_not_use_up_the_daily_ones() -> None:
    now = at("2026-12-20")
    good = [Entry(f"good-{d}", at(f"2026-12-{d:02d}"), "verified") for d in range(1, 11)]
    doomed = to_delete(good, now, keep_daily=3, keep_weekly=0)
    assert doomed == {f"good-{d}" for d in range(1, 8)}


def manifest(backup_id: str, now: datetime, days_ago: int) -> bytes:
    taken = now - timedelta(days=days_ago)
    return encode(
        Manifest(
            id=backup_id,
            started_at=taken,
            finished_at=taken,
            postgres_version="18",
            migrations=[],
            size=4,
            sha256="",
            dump=f"{backup_id}.dump",
            tables={},
            verification=Verification("verified", taken),
        )
    )


async def test_pruning_deletes_the_objects_and_rows_retention_lets_go(
    db: Database, tmp_path: Path
) -> None:
    destination = FolderDestination(tmp_path)
    now = datetime.now(UTC)
    for days, status in ((0, "verified"), (1, "verified"), (3, "verified"), (2, "failed")):
        backup_id = f"b{days}"
        await store.create(
            db.pool, id=backup_id, trigger="schedule", node="n", destination=destination.description
        )
        await db.pool.execute(
            "UPDATE backups SET status = $2, started_at = $3 WHERE id = $1",
            backup_id,
            status,
            now - timedelta(days=days),
        )
        await destination.put(f"{backup_id}.dump", b"dump")
        await destination.put(f"{backup_id}.manifest.json", manifest(backup_id, now, days))
    # Taken before the database was restored: known from its manifest only.
    await destination.put("b9.dump", b"dump")
    await destination.put("b9.manifest.json", manifest("b9", now, 9))
    config = BackupConfig(folder=tmp_path, keep_daily=2, keep_weekly=0)

    deleted = await service.prune(db.pool, config, destination, now)

    assert sorted(deleted) == ["b2", "b3", "b9"]
    assert await destination.names() == [
        "b0.dump", "b0.manifest.json", "b1.dump", "b1.manifest.json"
    ]  # fmt: skip
    assert [r.id for r in await store.listing(db.pool)] == ["b0", "b1"]
