"""Admin actions on alerts, silences, refunds and plans land in the audit log:
the admin as actor, the object as target, the outcome, IP and request id."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from prometheus_client import Gauge

from actors.alerting.actor import NAME, CycleReport, Evaluate
from ops.config import Settings
from server import keys
from storage.database import Database
from tests.alerting_support import gauge_rule
from tests.payments_support import FakeStripe, signed_in

WATCHED = Gauge("rateline_test_audited_backlog", "A gauge the admin audit tests drive.")


@pytest.fixture
async def client(
    db: Database, settings: Settings, tmp_path: Path, aiohttp_client: Any
) -> TestClient:
    from server.app import create_app

    rules = tmp_path / "rules.json"
    rule = gauge_rule(name="AuditedBacklog", metric="rateline_test_audited_backlog")
    rules.write_text(json.dumps({"rules": [rule]}))
    WATCHED.set(0)
    return await aiohttp_client(
        create_app(settings.replace(alert_rules=rules, alert_eval_seconds=3600))
    )


async def admin_session(db: Database) -> tuple[str, dict[str, str]]:
    admin_id, headers = await signed_in(db, "ops-admin@example.com", role="admin")
    return str(admin_id), headers


async def audited(client: TestClient, admin: dict[str, str], action: str) -> list[dict[str, Any]]:
    response = await client.get("/api/admin/audit", params={"action": action}, headers=admin)
    assert response.status == 200, await response.text()
    events: list[dict[str, Any]] = (await response.json())["events"]
    return events


def assert_event(
    event: dict[str, Any], response: ClientResponse, admin_id: str, target: str, outcome: str
) -> None:
    assert event["actor"] == admin_id
    assert event["target"] == target
    assert event["outcome"] == outcome
    assert event["ip"] == "127.0.0.1"
    assert event["request_id"] == response.headers["X-Request-Id"]
    assert event["details"]["admin"] == "ops-admin@example.com"


async def test_acknowledging_an_alert_is_audited(client: TestClient, db: Database) -> None:
    admin_id, admin = await admin_session(db)
    WATCHED.set(50)
    report = await client.app[keys.SYSTEM].ask(NAME, Evaluate(), timeout=30)
    assert isinstance(report, CycleReport) and report.leading
    listed = await (await client.get("/api/admin/alerts", headers=admin)).json()
    [alert] = [a for a in listed if a["name"] == "AuditedBacklog"]

    ack = await client.post(f"/api/admin/alerts/{alert['fingerprint']}/ack", headers=admin)
    assert ack.status == 200
    [event] = await audited(client, admin, "alert_acknowledged")
    assert_event(event, ack, admin_id, alert["fingerprint"], "success")
    assert event["details"]["alert"] == "AuditedBacklog"

    missing = await client.post("/api/admin/alerts/00000000deadbeef/ack", headers=admin)
    assert missing.status == 404
    failed, _ = await audited(client, admin, "alert_acknowledged")
    assert_event(failed, missing, admin_id, "00000000deadbeef", "failure")


async def test_creating_and_deleting_a_silence_is_audited(client: TestClient, db: Database) -> None:
    admin_id, admin = await admin_session(db)
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"matchers": {"alertname": "AuditedBacklog"}, "until": until, "comment": "db"}
    created = await client.post("/api/admin/silences", json=body, headers=admin)
    assert created.status == 201, await created.text()
    silence_id = (await created.json())["id"]
    [event] = await audited(client, admin, "silence_created")
    assert_event(event, created, admin_id, silence_id, "success")
    assert event["details"]["matchers"] == {"alertname": "AuditedBacklog"}
    assert event["details"]["comment"] == "db"

    deleted = await client.delete(f"/api/admin/silences/{silence_id}", headers=admin)
    assert deleted.status == 204
    [event] = await audited(client, admin, "silence_deleted")
    assert_event(event, deleted, admin_id, silence_id, "success")

    consumer = await signed_in(db, "nosy@example.com")
    refused = await client.post("/api/admin/silences", json=body, headers=consumer[1])
    assert refused.status == 403
    assert len(await audited(client, admin, "silence_created")) == 1


async def test_refunding_a_payment_is_audited(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    admin_id, admin = await admin_session(db)
    buyer_id, buyer = await signed_in(db, "buyer@example.com")
    body = {"plan": "rate_report", "payment_method": await fake_stripe.card()}
    created = await (await pay_client.post("/api/payments/create", json=body, headers=buyer)).json()
    path = f"/api/payments/{created['payment_id']}/refund"

    too_early = await pay_client.post(path, headers=admin)  # not paid yet
    assert too_early.status == 409
    [event] = await audited(pay_client, admin, "payment_refunded")
    assert_event(event, too_early, admin_id, created["payment_id"], "failure")
    assert event["details"]["status"] == 409

    intent = await db.pool.fetchval(
        "SELECT payment_intent_id FROM payments WHERE id = $1", uuid.UUID(created["payment_id"])
    )
    await fake_stripe.confirm(intent)
    confirm = {"payment_id": created["payment_id"]}
    await pay_client.post("/api/payments/confirm", json=confirm, headers=buyer)
    refunded = await pay_client.post(path, headers=admin)
    assert refunded.status == 200 and (await refunded.json())["status"] == "refunded"
    event, _ = await audited(pay_client, admin, "payment_refunded")
    assert_event(event, refunded, admin_id, created["payment_id"], "success")
    assert event["details"]["user_id"] == str(buyer_id)
    assert event["details"]["amount_cents"] == 1900


async def test_adding_a_plan_is_audited(pay_client: TestClient, db: Database) -> None:
    admin_id, admin = await admin_session(db)
    plan = {"code": "audit_report", "name": "Audit report", "amount_cents": 3900}
    created = await pay_client.post("/api/payments/plans", json=plan, headers=admin)
    assert created.status == 201
    [event] = await audited(pay_client, admin, "plan_added")
    assert_event(event, created, admin_id, "audit_report", "success")
    assert event["details"]["amount_cents"] == 3900

    again = await pay_client.post("/api/payments/plans", json=plan, headers=admin)
    assert again.status == 409
    failed, _ = await audited(pay_client, admin, "plan_added")
    assert_event(failed, again, admin_id, "audit_report", "failure")
