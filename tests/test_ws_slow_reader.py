"""One client that never reads harms no one: every other subscriber gets
every offset in order, while the silent one is conflated, then closed with
4008. Nothing here is timed; the test waits on what the server did."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
import pytest
import websockets

from protocols.rate_sources.records import PRODUCTS
from server.keys import HUB
from tests.support.net import eventually
from tests.support.ws import metric, recv, slow_reader, subscribe

HEALTHY = 4


async def test_a_reader_that_never_reads_leaves_every_other_client_every_offset(live):
    client, market = await live(ws_slow_consumer_seconds=0.3)
    await market.move()
    hub = client.server.app[HUB]
    url = str(client.make_url("/ws")).replace("http", "ws", 1)
    silent = await slow_reader(url)
    await silent.send('{"op":"subscribe","channel":"rates"}')  # and never reads again

    async with contextlib.AsyncExitStack() as stack:
        healthy = [
            await stack.enter_async_context(client.ws_connect("/ws")) for _ in range(HEALTHY)
        ]
        starts = []
        for ws in healthy:
            starts.append((await subscribe(ws))["offset"])
            assert (await recv(ws))["op"] == "snapshot"
        await eventually(lambda: len(hub.subscribers.get("rates", ())) == HEALTHY + 1)

        frames: list[list[dict[str, Any]]] = [[] for _ in healthy]

        async def read(ws: Any, into: list[dict[str, Any]]) -> None:
            async for message in ws:
                into.append(orjson.loads(message.data))

        readers = [
            asyncio.create_task(read(ws, into)) for ws, into in zip(healthy, frames, strict=True)
        ]
        conflated_before = metric("rateline_ws_conflated_updates_total")
        closed_before = metric("rateline_ws_slow_consumer_disconnects_total")
        conflated_while_open = False
        moves = 0
        while metric("rateline_ws_slow_consumer_disconnects_total") == closed_before:
            await market.move((PRODUCTS[moves % len(PRODUCTS)],))
            moves += 1
            conflated_while_open |= metric("rateline_ws_conflated_updates_total") > conflated_before
            assert moves < 3000, "the silent client was never closed"
        for _ in range(5):  # and the others carry on after it is gone
            await market.move((PRODUCTS[moves % len(PRODUCTS)],))
            moves += 1
        head = hub.snapshot.heads["rates"].offset
        await eventually(lambda: all(f and f[-1]["offset"] >= head for f in frames))
        for reader in readers:
            reader.cancel()

    assert conflated_while_open, "the silent client was closed without being conflated first"
    for start, got in zip(starts, frames, strict=True):
        assert [f["offset"] for f in got] == list(range(start + 1, head + 1))
        assert not any(f.get("conflated") for f in got)
        assert {f["op"] for f in got} == {"update"}

    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(silent.recv(), 5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4008, "slow consumer")
