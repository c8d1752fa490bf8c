"""Capturing leads over HTTP against the real application and PostgreSQL:
consent, idempotency, duplicates, reads and who may see what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ops.config import Settings
from storage.database import Database
from tests.support.leads import broker, lead_body, outbox, person, start
from tests.support.net import eventually


async def test_a_lead_is_stored_with_its_consent_and_confirmed_by_email(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    response = await client.post(
        "/api/leads", json=lead_body(), headers={"User-Agent": "lead-form/1"}
    )
    assert response.status == 202, await response.text()
    body = await response.json()
    assert body["status"] == "received"
    row = await db.pool.fetchrow("SELECT * FROM leads WHERE id = $1", body["id"])
    assert row["phone"] == "+14155550134"
    assert row["consent"] == lead_body()["consent"]
    assert row["consent_user_agent"] == "lead-form/1" and row["consent_ip"] == "127.0.0.1"
    assert await outbox(db, "maria@example.com") == ["lead_received"]
    text = await db.pool.fetchval("SELECT text_body FROM outbox")
    assert f"/api/leads/{body['id']}/opt-out?token=" in text


async def test_without_consent_nothing_is_stored(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    without = lead_body()
    del without["consent"]
    response = await client.post("/api/leads/create", json=without)
    assert response.status == 422
    assert [e["pointer"] for e in (await response.json())["errors"]] == ["/consent"]
    refused = lead_body(consent={**lead_body()["consent"], "agreed": False}, phone="12")
    problem = await (await client.post("/api/leads", json=refused)).json()
    assert {e["pointer"] for e in problem["errors"]} == {"/consent/agreed", "/phone"}
    assert problem["type"] == "about:blank"  # the document states consent must be true
    empty_price = await client.post("/api/leads/create", json=lead_body(price=""))
    assert [e["pointer"] for e in (await empty_price.json())["errors"]] == ["/price"]
    too_much_down = lead_body(price="300000", down_payment="300000")
    problem = await (await client.post("/api/leads", json=too_much_down)).json()
    assert problem["type"] == "tag:rateline,2026:broken-rule"
    assert [e["pointer"] for e in problem["errors"]] == ["/down_payment"]
    assert await db.pool.fetchval("SELECT count(*) FROM leads") == 0
    assert await db.pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_a_retry_with_the_same_idempotency_key_creates_nothing(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    headers = {"Idempotency-Key": "form-7f3a"}
    first = await client.post("/api/leads", json=lead_body(), headers=headers)
    again = await client.post("/api/leads", json=lead_body(), headers=headers)
    assert (first.status, again.status) == (202, 202)
    assert await first.json() == await again.json()
    assert await db.pool.fetchval("SELECT count(*) FROM leads") == 1
    assert await db.pool.fetchval("SELECT count(*) FROM lead_activities") == 1
    assert await outbox(db, "maria@example.com") == ["lead_received"]


async def test_the_same_borrower_within_30_days_joins_the_first_lead(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    first = await (await client.post("/api/leads", json=lead_body())).json()
    by_phone = lead_body(email="other@example.com", phone="+1 415 555 0134")
    second = await client.post("/api/leads", json=by_phone)
    assert second.status == 202 and set(await second.json()) == {"id", "status"}
    assert await db.pool.fetchval("SELECT count(*) FROM leads") == 1
    kinds = await db.pool.fetch("SELECT kind FROM lead_activities ORDER BY id")
    assert [k["kind"] for k in kinds] == ["submitted", "resubmitted"]
    await db.pool.execute("UPDATE leads SET received_at = now() - interval '31 days'")
    third = await (await client.post("/api/leads", json=lead_body())).json()
    assert third["id"] != first["id"]
    assert await db.pool.fetchval("SELECT count(*) FROM leads") == 2


async def test_a_signed_in_users_lead_is_theirs_to_read_and_nobody_elses(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    admin = await person(db, "admin")
    borrower = await person(db, "consumer")
    stranger = await person(db, "consumer")
    holder = await broker(client, db, admin)
    other = await broker(client, db, admin, ("NY",))
    sent = await client.post("/api/leads", json=lead_body(), headers=borrower.headers)
    lead_id = (await sent.json())["id"]

    async def offered() -> bool:
        status = await db.pool.fetchval("SELECT status FROM leads WHERE id = $1", lead_id)
        return bool(status == "offered")

    await eventually(offered)
    mine = await (await client.get(f"/api/leads/{lead_id}", headers=borrower.headers)).json()
    assert mine["email"] == "maria@example.com"
    for who in (stranger, other):
        response = await client.get(f"/api/leads/{lead_id}", headers=who.headers)
        assert response.status == 404
    assert await (await client.get("/api/leads", headers=other.headers)).json() == []

    preview = await (await client.get(f"/api/leads/{lead_id}", headers=holder.headers)).json()
    assert preview["first_name"] == "Maria" and preview["loan_amount"] == "520000.00"
    assert preview["email"] is None and preview["phone"] is None and preview["name"] is None
    listed = await (await client.get("/api/leads", headers=holder.headers)).json()
    assert [lead["id"] for lead in listed] == [lead_id]
    filtered = await client.get("/api/leads?state=NY", headers=admin.headers)
    assert await filtered.json() == []


async def test_a_broker_edits_their_profile_but_not_their_licenses(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    admin = await person(db, "admin")
    who = await broker(client, db, admin)
    mine = await (await client.get("/api/brokers/me", headers=who.headers)).json()
    assert mine["licenses"] == [{"state": "CA", "expires": "2099-12-31"}]
    change = {k: v for k, v in mine.items() if k not in {"id", "name", "email", "open_leads"}}
    sneaky = await client.put(
        "/api/brokers/me",
        json={**change, "licenses": [{"state": "TX", "expires": "2099-12-31"}]},
        headers=who.headers,
    )
    assert sneaky.status == 422
    assert [e["pointer"] for e in (await sneaky.json())["errors"]] == ["/licenses"]
    del change["licenses"]
    bad_zone = await client.put(
        "/api/brokers/me", json={**change, "timezone": "Mars/Olympus"}, headers=who.headers
    )
    assert bad_zone.status == 422
    document = await (await client.get("/api/openapi.json")).json()
    zones = document["components"]["schemas"]["BrokerSelfUpdate"]["properties"]["timezone"]
    assert "America/Chicago" in zones["enum"] and "Mars/Olympus" not in zones["enum"]
    backwards = {**change, "hours": {**change["hours"], "start": "18:00", "end": "09:00"}}
    inverted = await client.put("/api/brokers/me", json=backwards, headers=who.headers)
    assert inverted.status == 422
    problem = await inverted.json()
    assert problem["type"] == "tag:rateline,2026:broken-rule"
    assert [e["pointer"] for e in problem["errors"]] == ["/hours/end"]
    saved = await client.put("/api/brokers/me", json={**change, "capacity": 3}, headers=who.headers)
    body = await saved.json()
    assert body["capacity"] == 3 and body["licenses"][0]["state"] == "CA"
    assert (await client.get("/api/brokers", headers=who.headers)).status == 403
