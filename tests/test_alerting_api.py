"""The admin alert routes and the `alerts:all` channel, on the whole
application: list, acknowledge, silence; admins only; a bad rules file
stops `rateline serve` naming the rule and the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import Gauge

from actors.alerting.actor import NAME, CycleReport, Evaluate
from ops.config import Settings
from server import keys
from server.cli import main
from storage.database import Database
from tests.alerting_support import gauge_rule
from tests.support.accounts import session_for

BACKLOG = Gauge("rateline_test_api_backlog", "A gauge the API tests drive.")


@pytest.fixture
async def client(
    db: Database, settings: Settings, tmp_path: Path, aiohttp_client: Any
) -> TestClient:
    from server.app import create_app

    rules = tmp_path / "rules.json"
    rule = gauge_rule(name="BacklogHigh", metric="rateline_test_api_backlog", severity="warning")
    rules.write_text(json.dumps({"rules": [rule]}))
    BACKLOG.set(0)
    app = create_app(
        settings.replace(alert_rules=rules, alert_eval_seconds=3600, alert_emails="ops@example.com")
    )
    return await aiohttp_client(app)


async def emails_about(db: Database, name: str) -> int:
    sql = "SELECT count(*) FROM outbox WHERE template = 'alert' AND subject LIKE $1"
    return int(await db.pool.fetchval(sql, f"%{name}%"))


async def evaluate(client: TestClient) -> None:
    report = await client.app[keys.SYSTEM].ask(NAME, Evaluate(), timeout=30)
    assert isinstance(report, CycleReport) and report.leading and not report.failed


async def test_admins_list_and_acknowledge_alerts_and_see_them_live(
    client: TestClient, db: Database
) -> None:
    admin = await session_for(db, "admin")
    consumer = await session_for(db, "consumer")
    async with client.ws_connect("/ws", headers=admin) as ws:
        await ws.send_json({"op": "subscribe", "channel": "alerts:all"})
        subscribed = await ws.receive_json(timeout=5)
        assert subscribed["op"] == "subscribed", subscribed
        snapshot = await ws.receive_json(timeout=5)
        assert snapshot["op"] == "snapshot" and snapshot["data"] == {"alerts": []}

        BACKLOG.set(42)
        await evaluate(client)
        update = await ws.receive_json(timeout=5)
        assert update["op"] == "update" and update["data"]["status"] == "firing"
        # Built-in rules watch this process's registry too; look at ours.
        [live] = [a for a in update["data"]["alerts"] if a["name"] == "BacklogHigh"]
        assert live["name"] == "BacklogHigh" and live["notification"] == "firing"

        response = await client.get("/api/admin/alerts?state=firing", headers=admin)
        assert response.status == 200, await response.text()
        [alert] = [a for a in await response.json() if a["name"] == "BacklogHigh"]
        assert all(a["state"] == "firing" for a in await response.json())
        assert await emails_about(db, "BacklogHigh") == 1
        assert alert["fingerprint"] == live["fingerprint"]
        assert alert["summary"] == "the queue holds 42 items" and alert["value"] == 42
        assert alert["severity"] == "warning" and alert["acknowledged_by"] is None

        ack = await client.post(f"/api/admin/alerts/{alert['fingerprint']}/ack", headers=admin)
        assert ack.status == 200
        assert (await ack.json())["acknowledged_by"] == "admin@example.com"
        acked = await ws.receive_json(timeout=5)
        assert acked["data"]["status"] == "acknowledged"
        assert acked["data"]["alerts"][0]["acknowledged_by"] == "admin@example.com"

    listed = await (await client.get("/api/admin/alerts", headers=admin)).json()
    [ours] = [a for a in listed if a["name"] == "BacklogHigh"]
    assert ours["acknowledged_at"] is not None
    assert (await client.get("/api/admin/alerts?state=resolved", headers=admin)).status == 200
    bad = await client.get("/api/admin/alerts?state=burning", headers=admin)
    assert bad.status == 400 and "state" in await bad.text()
    assert (await client.get("/api/admin/alerts", headers=consumer)).status == 403
    assert (await client.get("/api/admin/alerts")).status == 401
    missing = await client.post("/api/admin/alerts/0123456789abcdef/ack", headers=admin)
    assert missing.status == 404

    async with client.ws_connect("/ws", headers=consumer) as ws:
        await ws.send_json({"op": "subscribe", "channel": "alerts:all"})
        refused = await ws.receive_json(timeout=5)
        assert refused["op"] == "error" and refused["code"] == "forbidden"


async def test_silences_are_added_listed_and_ended(client: TestClient, db: Database) -> None:
    admin = await session_for(db, "admin")
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    body = {"matchers": {"alertname": "BacklogHigh"}, "until": until, "comment": "deploying"}
    created = await client.post("/api/admin/silences", json=body, headers=admin)
    assert created.status == 201, await created.text()
    silence = await created.json()
    assert silence["created_by"] == "admin@example.com" and silence["comment"] == "deploying"
    listed = await (await client.get("/api/admin/silences", headers=admin)).json()
    assert [s["id"] for s in listed] == [silence["id"]]

    BACKLOG.set(99)
    await evaluate(client)
    listed = await (await client.get("/api/admin/alerts", headers=admin)).json()
    [alert] = [a for a in listed if a["name"] == "BacklogHigh"]
    assert alert["state"] == "firing"  # still shown, only its notifications are muted
    assert await emails_about(db, "BacklogHigh") == 0

    ended = await client.delete(f"/api/admin/silences/{silence['id']}", headers=admin)
    assert ended.status == 204
    assert await (await client.get("/api/admin/silences", headers=admin)).json() == []
    again = await client.delete(f"/api/admin/silences/{silence['id']}", headers=admin)
    assert again.status == 404

    past = {**body, "until": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    refused = await client.post("/api/admin/silences", json=past, headers=admin)
    assert refused.status == 422
    problem = await refused.json()
    assert problem["errors"][0]["pointer"] == "/until"
    assert problem["type"] == "tag:rateline,2026:broken-rule"  # the clock's rule, not a shape
    bad_regex = {**body, "matchers": {"actor": "~calc("}}
    refused = await client.post("/api/admin/silences", json=bad_regex, headers=admin)
    assert refused.status == 422
    assert (await refused.json())["errors"][0]["pointer"] == "/matchers/actor"
    empty = await client.post("/api/admin/silences", json={**body, "matchers": {}}, headers=admin)
    assert empty.status == 422 and (await empty.json())["errors"][0]["pointer"] == "/matchers"
    assert await (await client.get("/api/admin/silences", headers=admin)).json() == []


def test_a_bad_rules_file_stops_serve_naming_the_rule_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [gauge_rule(name="Backlog", window="5 minutes")]}))
    monkeypatch.setenv("RATELINE_ALERT_RULES", str(rules))
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "rule 'Backlog' (rules[0])" in error and "window: '5 minutes' is not a duration" in error
