"""The backup actor and the admin routes: scheduled on the leader, asked for by admins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from actors.backup.actor import NAME, BackupActor, Tick
from actors.backup.config import BackupConfig, parse_time_of_day
from actors.backup.schedule import next_slot
from actors.runtime import ActorSystem, ChildSpec, SupervisorSpec
from storage import backups as store
from storage.database import Database
from tests.backup_support import seed
from tests.support.accounts import session_for


@dataclass
class Lead:
    leader: bool


def test_slots_fall_on_the_time_of_day_and_every_interval_after() -> None:
    at = time(3, 0)
    assert next_slot(datetime(2026, 12, 6, 2, 59, tzinfo=UTC), at, 24) == datetime(
        2026, 12, 6, 3, 0, tzinfo=UTC
    )
    assert next_slot(datetime(2026, 12, 6, 3, 0, tzinfo=UTC), at, 24) == datetime(
        2026, 12, 7, 3, 0, tzinfo=UTC
    )
    assert next_slot(datetime(2026, 12, 6, 10, 0, tzinfo=UTC), at, 6) == datetime(
        2026, 12, 6, 15, 0, tzinfo=UTC
    )
    assert next_slot(datetime(2026, 12, 6, 1, 0, tzinfo=UTC), at, 6) == datetime(
        2026, 12, 6, 3, 0, tzinfo=UTC
    )


def test_a_bad_time_of_day_names_the_variable() -> None:
    assert parse_time_of_day("7:30") == time(7, 30)
    with pytest.raises(ValueError, match="RATELINE_BACKUP_AT='25:00' is not valid"):
        parse_time_of_day("25:00")


@asynccontextmanager
async def running(
    db: Database, config: BackupConfig, lead: Lead, node: str
) -> AsyncIterator[ActorSystem]:
    system = ActorSystem(
        asyncio.get_running_loop(), deps={"db": db, "leadership": lead, "node": node}
    )
    spec = ChildSpec(name=NAME, factory=BackupActor, kwargs={"config": config})
    await asyncio.to_thread(system.start, SupervisorSpec(name="test", children=[spec]))
    try:
        yield system
    finally:
        await asyncio.to_thread(system.stop, 5.0)


async def test_only_a_leader_backs_up_at_a_slot_and_only_once(db: Database, tmp_path: Path) -> None:
    await seed(db.pool, 100)
    config = BackupConfig(folder=tmp_path, at=time(3, 0), interval_hours=24)
    slot = next_slot(datetime.now(UTC), config.at, config.interval_hours)
    a, b = Lead(leader=False), Lead(leader=False)
    async with (
        running(db, config, a, "node-a") as node_a,
        running(db, config, b, "node-b") as node_b,
    ):
        before = slot - timedelta(minutes=1)
        for node in (node_a, node_b):
            await node.ask(NAME, Tick(now=before), timeout=60)
            await node.ask(NAME, Tick(now=slot + timedelta(seconds=1)), timeout=60)
        assert await store.listing(db.pool) == []  # neither before the slot nor when following

        # Both believe they lead at the next slot: one backup is taken.
        a.leader = b.leader = True
        tomorrow = slot + timedelta(days=1, seconds=1)
        await asyncio.gather(
            node_a.ask(NAME, Tick(now=tomorrow), timeout=120),
            node_b.ask(NAME, Tick(now=tomorrow), timeout=120),
        )
        taken = await store.listing(db.pool)
        assert [(r.trigger, r.status, r.slot) for r in taken] == [
            ("schedule", "verified", slot + timedelta(days=1))
        ]


async def test_the_timer_takes_the_backup_at_its_slot(db: Database, tmp_path: Path) -> None:
    await seed(db.pool, 100)
    soon = (datetime.now(UTC) + timedelta(seconds=2)).time()
    config = BackupConfig(folder=tmp_path, at=soon, interval_hours=24)
    async with running(db, config, Lead(leader=True), "node-a"):
        deadline = asyncio.get_running_loop().time() + 90
        while not (taken := await store.listing(db.pool)) or taken[0].status == "running":
            assert asyncio.get_running_loop().time() < deadline, "no scheduled backup"
            await asyncio.sleep(0.2)
    [backup] = taken
    assert (backup.trigger, backup.status) == ("schedule", "verified")
    assert backup.slot is not None and backup.slot.time() == soon


async def test_admins_start_a_backup_and_follow_it(app_client: TestClient, db: Database) -> None:
    await seed(db.pool, 100)
    admin = await session_for(db, "admin")
    consumer = await session_for(db, "consumer")

    assert (await app_client.post("/api/admin/backups")).status == 401
    assert (await app_client.post("/api/admin/backups", headers=consumer)).status == 403
    started = await app_client.post("/api/admin/backups", headers=admin)
    assert started.status == 202, await started.text()
    backup_id = (await started.json())["id"]

    again = await app_client.post("/api/admin/backups", headers=admin)
    assert again.status == 409 and backup_id in (await again.json())["detail"]

    deadline = asyncio.get_running_loop().time() + 90
    while True:
        listing = await (await app_client.get("/api/admin/backups", headers=admin)).json()
        item = listing["items"][0]
        if item["status"] != "running" or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert item["id"] == backup_id and item["status"] == "verified", item
    assert item["trigger"] == "manual" and item["size_bytes"] > 0
    assert item["dump_seconds"] > 0 and item["verify_seconds"] > 0
    assert item["failed_stage"] is None
    metrics = await (await app_client.get("/metrics")).text()
    assert "rateline_backup_last_good_timestamp_seconds " in metrics
    assert 'rateline_backup_failures_total{stage="verify"}' in metrics
    document = await (await app_client.get("/api/openapi.json")).json()
    assert "post" in document["paths"]["/api/admin/backups"]
