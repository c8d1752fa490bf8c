"""The audit log: every append chains onto the last, tampering of every kind
is named at its position by `rateline audit verify`, and admins read it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from actors.audit.actor import checkpoint_store
from actors.audit.auditor import Auditor
from actors.audit.scan import verify_chain
from actors.audit.verify import Checkpoint
from ops.config import Settings
from storage import audit as store
from storage.audit import AuditWriter
from storage.database import Database
from tests.support.accounts import session_for
from tests.support.cli import run_cli


async def fill(db: Database, count: int) -> None:
    auditor = Auditor(db.pool)
    for n in range(count):
        await auditor.record("sign_in", "failure", target=f"user{n}@example.com", ip="192.0.2.7")


async def tamper(db: Database, sql: str, *args: object) -> None:
    """As a superuser who has disabled the append-only trigger."""
    async with db.pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute(sql, *args)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


async def test_an_untouched_log_verifies_and_names_its_head(db: Database) -> None:
    await fill(db, 30)
    verdict = await verify_chain(db.pool, [])
    seq, head = await store.head(db.pool)
    assert verdict.intact and verdict.count == seq == 30
    assert verdict.describe() == f"30 events, chain intact up to {head.hex()}"


async def test_the_table_refuses_updates_and_deletes(db: Database) -> None:
    await fill(db, 2)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.pool.execute("UPDATE audit_log SET outcome = 'success' WHERE seq = 1")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.pool.execute("DELETE FROM audit_log WHERE seq = 2")
    assert (await verify_chain(db.pool, [])).intact


async def test_a_changed_row_is_named_at_its_position(db: Database) -> None:
    await fill(db, 20)
    await tamper(db, "UPDATE audit_log SET outcome = 'success' WHERE seq = 7")
    verdict = await verify_chain(db.pool, [])
    assert (verdict.broken_at, verdict.count) == (7, 6)
    assert "changed row" in verdict.describe()


async def test_a_deleted_row_is_named_at_its_position(db: Database) -> None:
    await fill(db, 20)
    await tamper(db, "DELETE FROM audit_log WHERE seq = 12")
    verdict = await verify_chain(db.pool, [])
    assert verdict.broken_at == 12 and "missing row" in (verdict.reason or "")


async def test_a_truncated_tail_is_caught_by_the_checkpoint(db: Database) -> None:
    await fill(db, 20)
    seq, head = await store.head(db.pool)
    checkpoint = Checkpoint(seq, head, datetime.now(UTC))
    await tamper(db, "DELETE FROM audit_log WHERE seq > 15")
    assert (await verify_chain(db.pool, [])).intact  # the chain alone cannot tell
    verdict = await verify_chain(db.pool, [checkpoint])
    assert verdict.broken_at == 16
    assert "truncated after checkpoint: 20 events were recorded" in (verdict.reason or "")


async def test_a_rewritten_chain_differs_from_its_checkpoint(db: Database) -> None:
    await fill(db, 10)
    seq, head = await store.head(db.pool)
    checkpoints = [Checkpoint(seq, head, datetime.now(UTC))]
    rows = [r async for batch in store.walk(db.pool) for r in batch]
    await tamper(db, "DELETE FROM audit_log")
    async with db.pool.acquire() as conn, conn.transaction():  # a forger re-chains all
        forged = [
            store.AuditEvent(r["action"], "success", r["actor"], r["target"], r["ip"]) for r in rows
        ]
        await store.append(conn, forged)
    assert (await verify_chain(db.pool, [])).intact
    verdict = await verify_chain(db.pool, checkpoints)
    assert verdict.broken_at == 10 and "rewritten" in (verdict.reason or "")


async def test_fifty_concurrent_appends_keep_one_unbroken_chain(db: Database) -> None:
    writer = AuditWriter(db.pool)

    async def in_own_transaction(n: int) -> None:
        async with db.pool.acquire() as conn, conn.transaction():
            await store.append(conn, [store.AuditEvent("role_changed", "success", target=str(n))])

    await asyncio.gather(
        *(writer.record(store.AuditEvent("sign_in", "success", target=str(n))) for n in range(25)),
        *(in_own_transaction(n) for n in range(25)),
    )
    verdict = await verify_chain(db.pool, [])
    assert verdict.intact and verdict.count == 50
    seqs = [r["seq"] for batch in [b async for b in store.walk(db.pool)] for r in batch]
    assert seqs == list(range(1, 51))


async def test_rateline_audit_verify_reports_intact_then_the_truncation(
    db: Database, settings: Settings
) -> None:
    await fill(db, 12)
    seq, head = await store.head(db.pool)
    await checkpoint_store(settings).append(Checkpoint(seq, head, datetime.now(UTC)))
    intact = await asyncio.to_thread(run_cli, settings, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == f"12 events, chain intact up to {head.hex()}"

    await tamper(db, "DELETE FROM audit_log WHERE seq >= 11")
    broken = await asyncio.to_thread(run_cli, settings, "audit", "verify")
    assert broken.returncode == 1
    assert "chain broken at position 11: truncated after checkpoint" in broken.stdout
    findings = await db.pool.fetch(
        "SELECT id, severity FROM security_findings WHERE resolved_at IS NULL"
    )
    assert ("audit.chain_broken", "critical") in [tuple(r) for r in findings]


async def test_sign_ins_reach_the_audit_log_and_admins_page_through_it(
    app_client: TestClient, db: Database
) -> None:
    for _ in range(3):
        response = await app_client.post(
            "/api/auth/login", json={"email": "nobody@example.com", "password": "x" * 12}
        )
        assert response.status == 401
    admin = await session_for(db, "admin")
    first = await app_client.get("/api/admin/audit?action=sign_in&limit=2", headers=admin)
    assert first.status == 200, await first.text()
    page = await first.json()
    assert [e["outcome"] for e in page["events"]] == ["failure", "failure"]
    event = page["events"][0]
    assert event["target"] == "nobody@example.com" and event["actor"] == "anonymous"
    assert event["ip"] == "127.0.0.1" and event["request_id"]
    rest = await app_client.get(
        f"/api/admin/audit?action=sign_in&limit=2&before={page['next_before']}", headers=admin
    )
    assert len((await rest.json())["events"]) == 1
    as_number = await app_client.get("/api/admin/audit?since=0.5", headers=admin)
    assert as_number.status == 400  # the document says a date-time, not a Unix time
    assert (await as_number.json())["errors"][0]["pointer"] == "/since"

    consumer = await session_for(db, "consumer")
    assert (await app_client.get("/api/admin/audit", headers=consumer)).status == 403
    assert (await app_client.get("/api/admin/audit")).status == 401
    assert (await verify_chain(db.pool, [])).intact


def test_a_checkpoint_is_due_each_interval_and_after_each_good_backup() -> None:
    from datetime import timedelta

    from actors.audit.checkpoints import checkpoint_due

    hour = timedelta(hours=1)
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert checkpoint_due(now, None, hour, None)
    assert not checkpoint_due(now, now - timedelta(minutes=59), hour, None)
    assert checkpoint_due(now, now - hour, hour, None)
    last = now - timedelta(minutes=10)
    assert checkpoint_due(now, last, hour, last + timedelta(minutes=1))
    assert not checkpoint_due(now, last, hour, last - timedelta(minutes=1))
