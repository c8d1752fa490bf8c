"""A critical finding of the security scan reaches the alerting notifications
through the built-in rule, on the whole application: the webhook receiver
and the ops mailbox hear it fire, and hear it resolve once it is fixed."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from actors.alerting.builtin import BUILTIN_RULES
from actors.audit.actor import NAME as AUDIT
from actors.audit.actor import Scan
from actors.audit.scan import FINDINGS_OPEN
from ops.config import Settings
from server import keys
from storage.database import Database
from tests.alerting_support import Receiver
from tests.support.accounts import session_for

RULE = "SecurityCriticalFindings"
OPS = "security-ops@example.com"
TRUST = "host all all 10.0.0.0/8 trust\n"


def test_the_builtin_rule_watches_open_critical_findings() -> None:
    [rule] = [r for r in BUILTIN_RULES if r["name"] == RULE]
    assert rule["metric"] == "rateline_security_findings_open"
    assert rule["labels"] == {"severity": "critical"}
    assert (rule["op"], rule["threshold"], rule["severity"]) == (">", 0, "critical")


async def until(check: Callable[[], Any | Awaitable[Any]], seconds: float = 15.0) -> Any:
    """Poll `check` (plain or async) until it answers something truthy."""
    async with asyncio.timeout(seconds):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(0.1)


def notifications(receiver: Receiver, status: str) -> list[dict[str, Any]]:
    return [
        alert
        for body in receiver.bodies
        if body["status"] == status
        for alert in body["alerts"]
        if alert["labels"]["alertname"] == RULE
    ]


async def ops_emails(db: Database) -> list[str]:
    rows = await db.pool.fetch(
        "SELECT subject FROM outbox WHERE template = 'alert' AND to_address = $1 ORDER BY id", OPS
    )
    return [r["subject"] for r in rows]


async def test_a_critical_finding_fires_the_alert_and_notifies_then_resolves(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    from server.app import create_app

    FINDINGS_OPEN.labels("critical").set(0)  # another test's scan may have left it up
    receiver = Receiver()
    async with receiver.running() as url:
        app = create_app(
            settings.replace(alert_eval_seconds=0.2, alert_webhook_url=url, alert_emails=OPS)
        )
        client: TestClient = await aiohttp_client(app)
        admin = await session_for(db, "admin")

        async def scan() -> set[str]:
            response = await client.post("/api/admin/security/scans", headers=admin)
            assert response.status == 200, await response.text()
            return {f["id"] for f in (await response.json())["findings"]}

        async def our_alert() -> dict[str, Any] | None:
            listed = await (await client.get("/api/admin/alerts", headers=admin)).json()
            return next((a for a in listed if a["name"] == RULE), None)

        assert not any(f.startswith("pg.hba_trust") for f in await scan())
        await asyncio.sleep(0.6)  # a few evaluations: nothing to tell
        assert await our_alert() is None and notifications(receiver, "firing") == []

        hba = Path(await db.pool.fetchval("SHOW hba_file"))
        original = await asyncio.to_thread(hba.read_text)
        try:
            await asyncio.to_thread(hba.write_text, original + TRUST)
            assert "pg.hba_trust:10.0.0.0/255.0.0.0" in await scan()
            [fired] = await until(lambda: notifications(receiver, "firing"))
        finally:
            await asyncio.to_thread(hba.write_text, original)

        assert fired["labels"] == {"alertname": RULE, "severity": "critical"}
        assert fired["annotations"]["summary"] == "1 critical security findings are open"
        assert "/api/admin/security/findings" in fired["annotations"]["description"]
        alert = await our_alert()
        assert alert is not None and alert["state"] == "firing" and alert["value"] == 1
        assert alert["fingerprint"] == fired["fingerprint"]
        [subject] = await until(lambda: ops_emails(db))
        assert RULE in subject

        assert "pg.hba_trust:10.0.0.0/255.0.0.0" not in await scan()
        [resolved] = await until(lambda: notifications(receiver, "resolved"))
        assert resolved["fingerprint"] == fired["fingerprint"]
        assert (await our_alert() or {}).get("state") == "resolved"


async def test_a_finding_another_node_stored_fires_on_the_node_that_evaluates(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    """Only the leading node scans; the alerting lead may be elsewhere."""
    from server.app import create_app

    receiver = Receiver()
    async with receiver.running() as url:
        app = create_app(settings.replace(alert_eval_seconds=0.2, alert_webhook_url=url))
        client: TestClient = await aiohttp_client(app)
        await client.app[keys.SYSTEM].ask(AUDIT, Scan(), timeout=60)  # after the start-up scan
        critical = {"severity": "critical"}
        assert REGISTRY.get_sample_value("rateline_security_findings_open", critical) == 0

        await db.pool.execute(
            """
            INSERT INTO security_findings
                (id, check_id, severity, title, evidence, remedy, first_seen, last_seen)
            VALUES ('app.dev_mailbox', 'app.dev_mailbox', 'critical',
                    'The dev mailbox is served on a network address',
                    'RATELINE_DEV_MAILBOX is on and the server listens on 10.1.2.3',
                    'configure SMTP', now(), now())
            """
        )
        [fired] = await until(lambda: notifications(receiver, "firing"))
        assert fired["annotations"]["summary"] == "1 critical security findings are open"

        await db.pool.execute("UPDATE security_findings SET resolved_at = now()")
        [resolved] = await until(lambda: notifications(receiver, "resolved"))
        assert resolved["fingerprint"] == fired["fingerprint"]
