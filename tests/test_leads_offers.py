"""Offers over real sockets: a lead reaches a broker's WebSocket, lapses to the
next broker, is taken by exactly one of two brokers, survives the lead actor
being down between store and offer, and stops all contact once opted out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY

from ops.config import Settings
from storage.database import Database
from tests.support.leads import broker, lead_body, next_update, on_channel, outbox, person, start
from tests.support.net import eventually


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_a_lead_reaches_the_brokers_websocket_without_contact_details(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    admin = await person(db, "admin")
    who = await broker(client, db, admin)
    ws = await on_channel(client, who)
    sent = await (await client.post("/api/leads", json=lead_body())).json()
    update = await next_update(ws, "lead_offered")
    assert update["channel"] == f"broker:{who.id}"
    lead = update["data"]["lead"]
    assert lead["id"] == sent["id"] and lead["first_name"] == "Maria" and lead["state"] == "CA"
    assert lead["email"] is None and lead["phone"] is None
    assert update["data"]["deadline"] == lead["offer_deadline"]
    await ws.close()
    stored = await (await client.get("/api/notifications", headers=who.headers)).json()
    assert [n["kind"] for n in stored] == ["lead_offered"]
    read = await client.post(f"/api/notifications/{stored[0]['id']}/read", headers=who.headers)
    assert read.status == 204
    unread = await client.get("/api/notifications?unread=true", headers=who.headers)
    assert await unread.json() == []

    taken = await client.post(f"/api/leads/{sent['id']}/accept", headers=who.headers)
    assert taken.status == 200, await taken.text()
    full = await taken.json()
    assert (full["email"], full["phone"]) == ("maria@example.com", "+14155550134")
    assert await outbox(db, "maria@example.com") == ["lead_received", "lead_assigned"]
    step = await client.post(
        f"/api/leads/{sent['id']}/status", json={"status": "won"}, headers=who.headers
    )
    assert step.status == 409, "accepted must be contacted before won"
    for status in ("contacted", "won"):
        moved = await client.post(
            f"/api/leads/{sent['id']}/status", json={"status": status}, headers=who.headers
        )
        assert (await moved.json())["status"] == status
    assert await eventually(
        lambda: db.pool.fetchval("SELECT score FROM leads WHERE id = $1", sent["id"])
    )


async def test_an_offer_that_lapses_goes_to_the_next_broker(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    expired_before = metric("rateline_lead_offers_expired_total")
    client = await start(aiohttp_client, settings.replace(lead_offer_seconds=0.5))
    admin = await person(db, "admin")
    first, second = await broker(client, db, admin), await broker(client, db, admin)
    sockets = {who.id: await on_channel(client, who) for who in (first, second)}
    sent = await (await client.post("/api/leads", json=lead_body())).json()
    holder = await eventually(
        lambda: db.pool.fetchval("SELECT broker_id FROM lead_offers ORDER BY id LIMIT 1")
    )
    other = second.id if holder == first.id else first.id
    lapsed = await next_update(sockets[holder], "lead_offer_expired")
    assert lapsed["data"]["lead"]["id"] == sent["id"]
    offered = await next_update(sockets[other], "lead_offered")
    assert offered["data"]["lead"]["id"] == sent["id"]
    assert metric("rateline_lead_offers_expired_total") >= expired_before + 1

    # Both let it lapse: nobody eligible is left, so it waits unassigned and
    # the admins are told; a new broker gets it from the queue.
    await eventually(
        lambda: db.pool.fetchval(
            "SELECT status = 'unassigned' FROM leads WHERE id = $1", sent["id"]
        )
    )
    told = await (await client.get("/api/notifications", headers=admin.headers)).json()
    assert [n["kind"] for n in told] == ["leads_unassigned"]
    assert metric("rateline_leads_unassigned") == 1
    newcomer = await broker(client, db, admin)
    await eventually(
        lambda: db.pool.fetchval(
            "SELECT 1 FROM lead_offers WHERE broker_id = $1 AND lead_id = $2",
            newcomer.id,
            sent["id"],
        )
    )
    for ws in sockets.values():
        await ws.close()


async def test_two_brokers_accepting_at_once_one_wins(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    admin = await person(db, "admin")
    first, second = await broker(client, db, admin), await broker(client, db, admin)
    sent = await (await client.post("/api/leads", json=lead_body())).json()
    await eventually(lambda: db.pool.fetchval("SELECT 1 FROM lead_offers"))
    answers = await asyncio.gather(
        *(
            client.post(f"/api/leads/{sent['id']}/accept", headers=b.headers)
            for b in (first, second)
        )
    )
    assert sorted(a.status for a in answers) == [200, 409]
    again = await client.post(
        f"/api/leads/{sent['id']}/accept",
        headers=next(
            b for b, a in zip((first, second), answers, strict=True) if a.status == 200
        ).headers,
    )
    assert again.status == 409
    assert (
        await db.pool.fetchval("SELECT count(*) FROM lead_offers WHERE outcome = 'accepted'") == 1
    )


async def test_a_lead_stored_while_the_lead_actor_was_down_is_offered_after_the_restart(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    down = await start(aiohttp_client, settings, with_leads=False)
    admin = await person(db, "admin")
    who = await broker(down, db, admin)
    sent = await down.post("/api/leads", json=lead_body())
    assert sent.status == 202
    lead_id = (await sent.json())["id"]
    await asyncio.sleep(0.3)
    assert await db.pool.fetchval("SELECT status FROM leads") == "received"
    await down.close()

    restarted = await start(aiohttp_client, settings)
    offered = await eventually(
        lambda: db.pool.fetchval("SELECT status = 'offered' FROM leads WHERE id = $1", lead_id)
    )
    assert offered
    kinds = [
        n["kind"]
        for n in await (await restarted.get("/api/notifications", headers=who.headers)).json()
    ]
    assert kinds == ["lead_offered"]


async def test_opting_out_stops_contact_and_tells_the_broker(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    client = await start(aiohttp_client, settings)
    admin = await person(db, "admin")
    who = await broker(client, db, admin)
    ws = await on_channel(client, who)
    sent = await (await client.post("/api/leads", json=lead_body())).json()
    await next_update(ws, "lead_offered")
    text = await db.pool.fetchval("SELECT text_body FROM outbox WHERE template = 'lead_received'")
    link = next(line for line in text.splitlines() if "/opt-out?token=" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert (await client.post(f"/{path}x")).status == 404, "a wrong token opts nobody out"
    page = await client.get(f"/{path}")
    assert page.status == 200 and "<form" in await page.text()
    done = await client.post(f"/{path}")
    assert done.status == 200 and (await done.json())["status"] == "opted_out"
    told = await next_update(ws, "lead_opted_out")
    assert told["data"]["lead"]["id"] == sent["id"]
    await ws.close()

    taken = await client.post(f"/api/leads/{sent['id']}/accept", headers=who.headers)
    assert taken.status == 409
    assert await outbox(db, "maria@example.com") == ["lead_received"]


async def test_a_lead_left_received_by_another_node_is_offered_by_the_leaders_sweep(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> None:
    leader = await start(aiohttp_client, settings)
    admin = await person(db, "admin")
    who = await broker(leader, db, admin)
    ws = await on_channel(leader, who)
    other = await start(aiohttp_client, settings, with_leads=False)  # captures, never routes
    sent = await other.post("/api/leads", json=lead_body())
    assert sent.status == 202
    update = await next_update(ws, "lead_offered")
    assert update["data"]["lead"]["id"] == (await sent.json())["id"]
    await ws.close()
