"""The security scanner against a real PostgreSQL configured each way: a
finding appears when the weakness does and is resolved when it goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from actors.audit.auditor import Auditor
from actors.audit.checks import (
    AccountFacts,
    DeploymentFacts,
    Finding,
    check_accounts,
    check_deployment,
)
from actors.audit.scan import gather, run_scan
from ops.config import Settings
from storage.database import Database
from tests.support.accounts import session_for
from tests.support.cli import run_cli

SAFE = DeploymentFacts(
    host="127.0.0.1",
    public_url="http://127.0.0.1:8080",
    dev_mailbox=True,
    argon2_memory_kib=65536,
    argon2_time_cost=3,
    trusted_proxies=[],
)


def ids(findings: Iterable[Finding]) -> set[str]:
    return {f.id for f in findings}


def test_a_loopback_developer_setup_has_no_deployment_findings() -> None:
    assert list(check_deployment(SAFE)) == []


WEAKNESSES = [
    ({"host": "0.0.0.0"}, "app.dev_mailbox", "critical"),
    ({"argon2_memory_kib": 8192}, "app.argon2_weak", "high"),
    ({"argon2_time_cost": 1}, "app.argon2_weak", "high"),
    ({"trusted_proxies": ["10.0.0.1", "0.0.0.0/0"]}, "app.trusted_proxies_all:0.0.0.0/0", "high"),
    ({"keyed_urls": [("OpenAI", "http://llm.example.com/v1")]}, "app.key_over_http:OpenAI", "high"),
    (
        {"stripe_secret_key": "sk_live_x", "stripe_webhook_secret": "whsec"},
        "app.stripe_live_without_https",
        "critical",
    ),
    ({"stripe_secret_key": "sk_test_x"}, "app.stripe_no_webhook_secret", "high"),
    ({"host": "10.1.2.3", "dev_mailbox": False}, "app.public_url_http", "medium"),
]


@pytest.mark.parametrize(("change", "expected", "severity"), WEAKNESSES)
def test_each_deployment_weakness_is_a_finding(
    change: dict[str, object], expected: str, severity: str
) -> None:
    facts = DeploymentFacts(**{**SAFE.__dict__, **change})  # type: ignore[arg-type]
    found = {f.id: f.severity for f in check_deployment(facts)}
    assert found.get(expected) == severity, found


def test_a_loopback_key_url_and_https_public_url_are_fine() -> None:
    facts = DeploymentFacts(
        **{
            **SAFE.__dict__,
            "keyed_urls": [("OpenAI", "http://127.0.0.1:9999/v1")],
            "host": "0.0.0.0",
            "dev_mailbox": False,
            "public_url": "https://rates.example.com",
        }
    )
    assert list(check_deployment(facts)) == []


def test_credential_stuffing_and_hammered_accounts() -> None:
    stuffing = [(f"user{n}@example.com", "203.0.113.9") for n in range(10)]
    hammered = [("ada@example.com", f"198.51.100.{n}") for n in range(20)]
    found = {
        f.id: f.severity
        for f in check_accounts(
            AccountFacts(admins=[("root@example.com", True)], failed_sign_ins=stuffing + hammered)
        )
    }
    assert found == {
        "accounts.credential_stuffing:203.0.113.9": "critical",
        "accounts.failures:ada@example.com": "high",
    }
    nine = stuffing[:9]
    assert list(check_accounts(AccountFacts([("root@example.com", True)], nine))) == []


def test_admin_counts_and_unverified_admins() -> None:
    assert ids(check_accounts(AccountFacts(admins=[]))) == {"accounts.no_admin"}
    many = [(f"a{n}@example.com", True) for n in range(6)]
    assert ids(check_accounts(AccountFacts(admins=many, max_admins=5))) == {"accounts.many_admins"}
    found = ids(check_accounts(AccountFacts(admins=[("new@example.com", False)])))
    assert found == {"accounts.admin_unverified:new@example.com"}


@pytest.fixture
async def restricted_pool(db: Database, pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool connected as a role with only the privileges the app needs."""
    await db.pool.execute(
        """
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rateline_app') THEN
                CREATE ROLE rateline_app LOGIN PASSWORD 'app-password-for-tests';
            END IF;
        END $$;
        GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO rateline_app;
        """
    )
    parts = urlsplit(pg_url)
    url = urlunsplit(parts._replace(netloc="rateline_app:app-password-for-tests@"))
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_superuser_connection_is_a_finding_and_a_restricted_role_is_not(
    db: Database, settings: Settings, restricted_pool: asyncpg.Pool
) -> None:
    as_superuser = await gather(db.pool, settings, _now())
    assert "pg.superuser" in ids(as_superuser)
    as_app = await gather(restricted_pool, settings, _now())
    assert "pg.superuser" not in ids(as_app)
    assert not [f for f in as_app if f.check == "pg.passwordless_login"]  # not readable


async def test_public_create_is_found_then_resolved_when_revoked(
    db: Database, settings: Settings
) -> None:
    auditor = Auditor(db.pool)
    await db.pool.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    try:
        report = await run_scan(db.pool, settings, auditor)
        assert "pg.public_create" in report.opened
        open_ids = {r["id"] for r in await db.pool.fetch(OPEN)}
        assert "pg.public_create" in open_ids
    finally:
        await db.pool.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    report = await run_scan(db.pool, settings, auditor)
    assert report.resolved == ["pg.public_create"]
    assert "pg.public_create" not in {r["id"] for r in await db.pool.fetch(OPEN)}
    events = await db.pool.fetch(
        "SELECT outcome FROM audit_log WHERE action = 'security_finding' "
        "AND target = 'pg.public_create' ORDER BY seq"
    )
    assert [e["outcome"] for e in events] == ["opened", "resolved"]


async def test_a_trust_rule_for_the_network_is_critical_until_removed(
    db: Database, settings: Settings
) -> None:
    hba = Path(await db.pool.fetchval("SHOW hba_file"))
    original = await asyncio.to_thread(hba.read_text)
    try:
        await asyncio.to_thread(hba.write_text, original + "host all all 10.0.0.0/8 trust\n")
        report = await run_scan(db.pool, settings, Auditor(db.pool))
        found = {f.id: f.severity for f in report.findings}
        assert found["pg.hba_trust:10.0.0.0/255.0.0.0"] == "critical"
        assert _gauge("critical") >= 1
    finally:
        await asyncio.to_thread(hba.write_text, original)
    report = await run_scan(db.pool, settings, Auditor(db.pool))
    assert "pg.hba_trust:10.0.0.0/255.0.0.0" in report.resolved


async def test_a_disabled_audit_trigger_makes_the_scan_command_fail(
    db: Database, settings: Settings
) -> None:
    await db.pool.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    try:
        result = await asyncio.to_thread(run_cli, settings, "security", "scan")
    finally:
        await db.pool.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    assert result.returncode == 1, result.stderr
    assert "[critical] The audit log can be changed: its append-only trigger is disabled" in (
        result.stdout
    )
    clean = await asyncio.to_thread(run_cli, settings, "security", "scan")
    assert "append-only trigger" not in clean.stdout


async def test_admins_scan_on_demand_and_read_the_open_findings(
    app_client: TestClient, db: Database
) -> None:
    admin = await session_for(db, "admin")
    await db.pool.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    try:
        scan = await app_client.post("/api/admin/security/scans", headers=admin)
        assert scan.status == 200, await scan.text()
        body = await scan.json()
        assert "pg.public_create" in {f["id"] for f in body["findings"]}
    finally:
        await db.pool.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    listed = await (await app_client.get("/api/admin/security/findings", headers=admin)).json()
    finding = next(f for f in listed if f["id"] == "pg.public_create")
    assert finding["severity"] == "medium" and finding["remedy"].startswith("REVOKE")
    assert finding["first_seen"] <= finding["last_seen"]
    consumer = await session_for(db, "consumer")
    assert (await app_client.post("/api/admin/security/scans", headers=consumer)).status == 403


OPEN = "SELECT id FROM security_findings WHERE resolved_at IS NULL"


def _gauge(severity: str) -> float:
    value = REGISTRY.get_sample_value("rateline_security_findings_open", {"severity": severity})
    return value or 0.0


def _now() -> datetime:
    return datetime.now(UTC)
