"""/ws delivery guarantees: replay after a disconnect or a restart, heartbeats,
and slow clients (conflation, 4008) next to healthy ones."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect

from protocols.rate_sources.records import PRODUCTS
from server.keys import HUB
from tests.support.net import eventually
from tests.support.ws import metric, recv, slow_reader, subscribe

# -- recovery -------------------------------------------------------------------------


async def test_reconnecting_with_since_replays_exactly_what_was_missed(live):
    client, market = await live()
    await market.move()
    async with client.ws_connect("/ws") as ws:
        first = await subscribe(ws)
        await recv(ws)
    epoch, seen = first["epoch"], first["offset"]

    await market.move(("30y_fixed",))
    await market.move(("fha_30", "va_30"))
    await market.move(("30y_fixed",))

    async with client.ws_connect("/ws") as ws:
        back = await subscribe(ws, since=seen, epoch=epoch)
        assert back == {
            "op": "subscribed",
            "channel": "rates",
            "offset": 4,
            "epoch": epoch,
            "recovered": True,
        }
        replayed = [await recv(ws) for _ in range(3)]
        assert [(u["op"], u["offset"]) for u in replayed] == [
            ("update", 2),
            ("update", 3),
            ("update", 4),
        ]
        assert [r["product"] for r in replayed[1]["data"]["rates"]] == ["fha_30", "va_30"]
        await market.move(("jumbo_30",))
        live_update = await recv(ws)
        assert live_update["offset"] == 5


async def test_a_too_old_offset_or_another_epoch_gets_a_fresh_snapshot(live):
    client, market = await live(channel_history=3)
    await market.move()
    for _ in range(5):
        await market.move(("30y_fixed",))
    async with client.ws_connect("/ws") as ws:
        current = await subscribe(ws, "rates:30y_fixed")
        await recv(ws)
    async with client.ws_connect("/ws") as ws:
        old = await subscribe(ws, since=1)
        assert old["recovered"] is False and old["offset"] == 6
        snapshot = await recv(ws)
        assert snapshot["op"] == "snapshot" and snapshot["offset"] == 6
        assert len(snapshot["data"]["rates"]) == len(PRODUCTS)

        other = await subscribe(ws, "rates:30y_fixed", since=6, epoch="not-" + current["epoch"])
        assert other["recovered"] is False
        assert (await recv(ws))["op"] == "snapshot"


async def test_offsets_and_epoch_survive_a_server_restart(live):
    client, market = await live()
    await market.move()
    await market.move(("30y_fixed",))
    async with client.ws_connect("/ws") as ws:
        before = await subscribe(ws)
    url = str(client.make_url("/ws")).replace("http", "ws", 1)
    watcher = await ws_connect(url, proxy=None)
    await client.close()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(watcher.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001

    client, market = await live()
    async with client.ws_connect("/ws") as ws:
        after = await subscribe(ws, since=1, epoch=before["epoch"])
        assert after["epoch"] == before["epoch"] and after["recovered"] is True
        assert (await recv(ws))["offset"] == 2
    assert (await (await client.get("/api/rates")).json())["rates"][0]["rate"] == "6.002"


# -- heartbeat and slow clients ---------------------------------------------------------


async def test_the_server_pings_and_closes_a_peer_that_does_not_answer(live):
    client, _ = await live(ws_heartbeat=0.2, ws_heartbeat_timeout=0.3)
    url = str(client.make_url("/ws")).replace("http", "ws", 1)
    # `websockets` answers pings in the background, whether or not we read
    async with ws_connect(url, proxy=None, ping_interval=None) as alive:
        async with client.ws_connect("/ws", autoping=False) as mute:
            pings = 0
            while True:
                message = await asyncio.wait_for(mute.receive(), 5)
                if message.type is not aiohttp.WSMsgType.PING:
                    break
                pings += 1
            assert pings >= 1
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert (message.data, message.extra) == (1011, "ping timeout")
        await alive.send('{"op":"ping"}')
        assert orjson.loads(await alive.recv()) == {"op": "pong"}


async def test_a_reader_that_falls_behind_gets_conflated_exact_state(live):
    client, market = await live()
    await market.move()
    url = str(client.make_url("/ws")).replace("http", "ws", 1)
    slow = await slow_reader(url)
    try:
        await slow.send('{"op":"subscribe","channel":"rates"}')
        assert orjson.loads(await slow.recv())["op"] == "subscribed"
        state = {r["product"]: r for r in orjson.loads(await slow.recv())["data"]["rates"]}
        conflated_before = metric("rateline_ws_conflated_updates_total")

        for i in range(150):
            await market.move((PRODUCTS[i % 6], PRODUCTS[(i + 2) % 6]))
        final = client.server.app[HUB].snapshot
        head = final.heads["rates"].offset

        offsets, flagged = [], 0
        while not offsets or offsets[-1] < head:
            frame = orjson.loads(await asyncio.wait_for(slow.recv(), 5))
            offsets.append(frame["offset"])
            flagged += bool(frame.get("conflated"))
            state.update({r["product"]: r for r in frame["data"]["rates"]})
        assert flagged >= 1
        assert offsets == sorted(set(offsets)) and offsets[-1] == head
        assert len(offsets) < 150  # conflation sent fewer frames than there were updates
        assert metric("rateline_ws_conflated_updates_total") > conflated_before
        assert {p: r["rate"] for p, r in state.items()} == {
            p: f"{r.rate:.3f}" for p, r in final.rates.items()
        }

        await market.move((PRODUCTS[0],))  # caught up: back to plain updates
        frame = orjson.loads(await asyncio.wait_for(slow.recv(), 5))
        assert frame["offset"] == head + 1 and "conflated" not in frame
    finally:
        await slow.close()


async def test_a_client_that_never_reads_is_closed_while_others_keep_receiving(live):
    client, market = await live(ws_slow_consumer_seconds=0.5)
    await market.move()
    url = str(client.make_url("/ws")).replace("http", "ws", 1)
    slow = await slow_reader(url)
    disconnects_before = metric("rateline_ws_slow_consumer_disconnects_total")
    async with client.ws_connect("/ws") as healthy:
        await slow.send('{"op":"subscribe","channel":"rates"}')
        await subscribe(healthy)
        await recv(healthy)

        received: list[dict[str, Any]] = []

        async def read_healthy() -> None:
            async for message in healthy:
                received.append(orjson.loads(message.data))

        reader = asyncio.create_task(read_healthy())
        moves = 0
        while metric("rateline_ws_slow_consumer_disconnects_total") == disconnects_before:
            await market.move((PRODUCTS[moves % 6],))
            moves += 1
            assert moves < 3000, "the slow client was never closed"
        for _ in range(5):
            await market.move((PRODUCTS[moves % 6],))
            moves += 1
        head = client.server.app[HUB].snapshot.heads["rates"].offset
        await eventually(lambda: bool(received) and received[-1]["offset"] >= head)
        reader.cancel()
        assert received[-1]["offset"] == head == moves + 1
        assert [f["offset"] for f in received] == sorted({f["offset"] for f in received})

    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(slow.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4008 and closed.value.rcvd.reason == "slow consumer"


async def test_a_slow_client_that_speaks_while_catching_up_still_reads_4008(live):
    """Browsers answer pings even while behind: a frame that arrives after the
    server decided to close must not turn the close into a reset that throws
    away the close frame still queued for the client."""
    client, market = await live(ws_slow_consumer_seconds=0.2)
    await market.move()
    url = str(client.make_url("/ws")).replace("http", "ws", 1)
    slow = await slow_reader(url)
    disconnects_before = metric("rateline_ws_slow_consumer_disconnects_total")
    await slow.send('{"op":"subscribe","channel":"rates"}')
    moves = 0
    while metric("rateline_ws_slow_consumer_disconnects_total") == disconnects_before:
        await market.move((PRODUCTS[moves % 6],))
        moves += 1
        assert moves < 3000, "the slow client was never closed"

    await slow.send('{"op":"ping"}')
    await asyncio.sleep(0.2)  # the frame reaches the server before the client reads
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(slow.recv(), 5)
    assert closed.value.rcvd is not None, "the close frame was lost"
    assert closed.value.rcvd.code == 4008 and closed.value.rcvd.reason == "slow consumer"
