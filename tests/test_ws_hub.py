"""/ws end to end: real server, real clients (aiohttp's and `websockets`),
rate changes driven through the real fetcher actor, book and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
from websockets.asyncio.client import connect as ws_connect

from actors.rates import child_specs
from actors.runtime import SupervisorSpec
from protocols.rate_sources.records import PRODUCTS
from server.app import create_app
from server.keys import HUB
from tests.support.ws import recv, subscribe

# -- subscribe, snapshot, updates -----------------------------------------------------


async def test_a_subscriber_gets_a_snapshot_then_every_change_in_order(live):
    client, market = await live()
    await market.move()
    async with client.ws_connect("/ws") as ws, client.ws_connect("/ws") as one:
        subscribed = await subscribe(ws)
        assert subscribed["op"] == "subscribed" and subscribed["channel"] == "rates"
        assert subscribed["offset"] == 1 and subscribed["epoch"]
        snapshot = await recv(ws)
        assert snapshot["op"] == "snapshot" and snapshot["offset"] == 1
        rates = snapshot["data"]["rates"]
        assert [r["product"] for r in rates] == list(PRODUCTS)
        assert rates[0]["rate"] == "6.001" and rates[0]["source"] == "simulated"
        assert rates[0]["as_of"].endswith("Z") or "+00:00" in rates[0]["as_of"]

        assert (await subscribe(one, "rates:15y_fixed"))["offset"] == 1
        single = await recv(one)
        assert [r["product"] for r in single["data"]["rates"]] == ["15y_fixed"]

        await market.move(("30y_fixed", "15y_fixed"))
        await market.move(("jumbo_30",))
        await market.move(("15y_fixed",))

        updates = [await recv(ws) for _ in range(3)]
        assert [u["op"] for u in updates] == ["update"] * 3
        assert [u["offset"] for u in updates] == [2, 3, 4]
        assert [[r["product"] for r in u["data"]["rates"]] for u in updates] == [
            ["30y_fixed", "15y_fixed"],
            ["jumbo_30"],
            ["15y_fixed"],
        ]
        assert updates[0]["data"]["rates"][0]["rate"] == "6.002"
        assert updates[0]["data"]["rates"][1]["rate"] == "7.002"
        assert "conflated" not in updates[0]

        mine = [await recv(one) for _ in range(2)]
        assert [(u["channel"], u["offset"]) for u in mine] == [
            ("rates:15y_fixed", 2),
            ("rates:15y_fixed", 3),
        ]
        assert [u["data"]["rates"][0]["rate"] for u in mine] == ["7.002", "6.004"]


async def test_the_websockets_client_can_ping_unsubscribe_and_resubscribe(live):
    client, market = await live()
    url = str(client.make_url("/ws")).replace("http", "ws", 1)
    async with ws_connect(url, proxy=None) as ws:
        await ws.send('{"op":"ping"}')
        assert orjson.loads(await ws.recv()) == {"op": "pong"}
        await ws.send('{"op":"subscribe","channel":"rates:va_30"}')
        assert orjson.loads(await ws.recv())["op"] == "subscribed"
        snapshot = orjson.loads(await ws.recv())
        assert snapshot["op"] == "snapshot" and snapshot["data"]["rates"] == []
        await market.move(("va_30",))
        update = orjson.loads(await ws.recv())
        assert update["offset"] == 1 and update["data"]["rates"][0]["product"] == "va_30"

        await ws.send('{"op":"unsubscribe","channel":"rates:va_30"}')
        assert orjson.loads(await ws.recv()) == {"op": "unsubscribed", "channel": "rates:va_30"}
        await market.move(("va_30",))
        await ws.send('{"op":"ping"}')
        assert orjson.loads(await ws.recv()) == {"op": "pong"}  # no update in between

        await ws.send('{"op":"subscribe","channel":"rates:va_30"}')
        again = orjson.loads(await ws.recv())
        assert again["offset"] == 2
        assert orjson.loads(await ws.recv())["data"]["rates"][0]["rate"] == "6.002"


async def test_rest_shows_the_same_rates_as_the_socket(live):
    client, market = await live()
    await market.move()
    response = await client.get("/api/rates")
    assert response.status == 200
    body = await response.json()
    assert [r["product"] for r in body["rates"]] == list(PRODUCTS)
    assert body["rates"][0]["rate"] == "6.001"

    history = await client.get("/api/rates/history", params={"product": "30y_fixed"})
    assert history.status == 200
    assert [o["rate"] for o in (await history.json())["observations"]] == ["6.001"]

    for params, name in [
        ({"product": "40y_fixed"}, "product"),
        ({"product": "30y_fixed", "from": "2026-02-30"}, "from"),
        ({"product": "30y_fixed", "from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"product": "30y_fixed", "to": "soon"}, "to"),
    ]:
        bad = await client.get("/api/rates/history", params=params)
        assert bad.status == 400
        assert bad.content_type == "application/problem+json"
        problem = await bad.json()
        assert [e["pointer"] for e in problem["errors"]] == [f"/{name}"]

    ready = await (await client.get("/readyz")).json()
    assert {"part": "rates:simulated", "ok": True, "detail": ""} in ready["parts"]


async def test_the_default_simulated_market_reaches_subscribers(db, settings, aiohttp_client):
    """No rate configuration: the shipped simulator ticks and says so."""
    quick = settings.replace(sim_interval=0.05)
    tree = SupervisorSpec("rateline", child_specs(quick))
    client = await aiohttp_client(create_app(quick, tree=tree))
    async with client.ws_connect("/ws") as ws:
        await subscribe(ws, "rates:30y_fixed")
        await recv(ws)
        updates = [await recv(ws) for _ in range(3)]
    assert [u["offset"] for u in updates] == sorted({u["offset"] for u in updates})
    for update in updates:
        (record,) = update["data"]["rates"]
        assert record["source"] == "simulated"
        assert Decimal("6") <= Decimal(record["rate"]) <= Decimal("7")
        assert Decimal(record["apr"]) > Decimal(record["rate"])
    stored = await db.pool.fetchval(
        "SELECT count(*) FROM rate_observations WHERE source = 'simulated'"
    )
    assert stored >= len(PRODUCTS) + 3


# -- bad input ------------------------------------------------------------------------


async def test_every_kind_of_bad_frame_gets_a_specific_error(live):
    client, _ = await live()
    async with client.ws_connect("/ws") as ws:
        cases: list[tuple[Callable[[], Awaitable[None]], str]] = [
            (lambda: ws.send_str("{not json"), "invalid_json"),
            (lambda: ws.send_str('{"op":"dance"}'), "unknown_op"),
            (lambda: ws.send_str('{"channel":"rates"}'), "invalid_frame"),
            (lambda: ws.send_str("[1, 2]"), "invalid_frame"),
            (
                lambda: ws.send_str('{"op":"subscribe","channel":"rates","since":-1}'),
                "invalid_frame",
            ),
            (lambda: ws.send_str('{"op":"subscribe","channel":"gold"}'), "unknown_channel"),
            (lambda: ws.send_str('{"op":"subscribe","channel":"rates:40y"}'), "unknown_channel"),
            (lambda: ws.send_str('{"op":"subscribe","channel":"weather:7"}'), "unknown_channel"),
            (lambda: ws.send_str('{"op":"unsubscribe","channel":"rates"}'), "not_subscribed"),
            (lambda: ws.send_str('{"op":"auth","token":"x"}'), "unauthorized"),
            (lambda: ws.send_bytes(b"\x00\x01"), "binary_not_supported"),
            (lambda: ws.send_str('{"op":"ping","pad":"' + "x" * 70_000 + '"}'), "frame_too_large"),
        ]
        for send, code in cases:
            await send()
            error = await recv(ws)
            assert error["op"] == "error" and error["code"] == code, (code, error)
            assert error["message"]
        await subscribe(ws)
        await recv(ws)
        await ws.send_str('{"op":"subscribe","channel":"rates"}')
        assert (await recv(ws))["code"] == "already_subscribed"
        await ws.send_str('{"op":"ping"}')
        assert await recv(ws) == {"op": "pong"}


async def test_a_client_that_keeps_sending_garbage_is_closed_and_others_carry_on(live):
    client, market = await live()
    async with client.ws_connect("/ws") as good, client.ws_connect("/ws") as bad:
        await subscribe(good)
        await recv(good)
        for _ in range(21):
            await bad.send_str("garbage")
        codes = []
        while True:
            message = await asyncio.wait_for(bad.receive(), 5)
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            codes.append(orjson.loads(message.data)["code"])
        assert codes == ["invalid_json"] * 21
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert (message.data, message.extra) == (1008, "too many errors")

        await market.move(("5_6_arm",))
        assert (await recv(good))["data"]["rates"][0]["product"] == "5_6_arm"


# -- extension points -----------------------------------------------------------------


async def test_private_channels_plug_in_with_auth_publish_and_replay(live):
    client, _ = await live()
    hub = client.server.app[HUB]

    async def authenticate(conn: Any, token: str) -> str | None:
        return {"t-ann": "ann", "t-bob": "bob"}.get(token)

    async def own_channel(conn: Any, channel: str) -> bool:
        return conn.identity is not None and channel == f"desk:{conn.identity}"

    async def inbox(conn: Any, channel: str) -> dict[str, Any]:
        return {"unread": 0}

    hub.set_authenticator(authenticate)
    hub.add_channel_kind("desk", own_channel, snapshot=inbox)
    async with client.ws_connect("/ws") as ws:
        assert (await subscribe(ws, "desk:ann"))["code"] == "forbidden"
        await ws.send_str('{"op":"auth","token":"wrong"}')
        assert (await recv(ws))["code"] == "unauthorized"
        await ws.send_str('{"op":"auth","token":"t-ann"}')
        assert await recv(ws) == {"op": "authenticated"}
        assert (await subscribe(ws, "desk:bob"))["code"] == "forbidden"
        subscribed = await subscribe(ws, "desk:ann")
        assert subscribed["offset"] == 0
        assert (await recv(ws))["data"] == {"unread": 0}

        assert await hub.publish("desk:ann", {"notice": "lead assigned"}) == 1
        assert await hub.publish("desk:bob", {"notice": "not for ann"}) == 1
        assert await hub.publish("desk:ann", {"notice": "second"}) == 2
        got = [await recv(ws) for _ in range(2)]
        assert [(g["offset"], g["data"]["notice"]) for g in got] == [
            (1, "lead assigned"),
            (2, "second"),
        ]

    async with client.ws_connect("/ws") as ws:
        await ws.send_str('{"op":"auth","token":"t-ann"}')
        await recv(ws)
        back = await subscribe(ws, "desk:ann", since=1, epoch=subscribed["epoch"])
        assert back["recovered"] is True
        assert (await recv(ws))["data"] == {"notice": "second"}
