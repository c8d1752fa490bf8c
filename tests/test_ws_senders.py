"""/ws with sender processes writing a share of every broadcast: the same
delivery guarantees as the loop alone, and a sender's death costs only its
own clients a reconnect."""

from __future__ import annotations

import asyncio
import signal
import socket
from typing import Any

import orjson
import pytest

from protocols.rate_sources.records import PRODUCTS
from server.routes.ws import HUB
from server.ws_sender_process import write_each
from tests.test_ws_delivery import (
    test_a_client_that_never_reads_is_closed_while_others_keep_receiving,
    test_a_reader_that_falls_behind_gets_conflated_exact_state,
    test_reconnecting_with_since_replays_exactly_what_was_missed,
)
from tests.test_ws_hub import (
    Live,
    eventually,
    live_server,
    metric,
    recv,
    subscribe,
    test_a_subscriber_gets_a_snapshot_then_every_change_in_order,
    test_private_channels_plug_in_with_auth_publish_and_replay,
)

# The delivery tests again, with a sender taking every other subscriber.
__all__ = [
    "test_a_client_that_never_reads_is_closed_while_others_keep_receiving",
    "test_a_reader_that_falls_behind_gets_conflated_exact_state",
    "test_a_subscriber_gets_a_snapshot_then_every_change_in_order",
    "test_private_channels_plug_in_with_auth_publish_and_replay",
    "test_reconnecting_with_since_replays_exactly_what_was_missed",
]


@pytest.fixture
async def live(db, settings, aiohttp_client) -> Live:
    """The whole server, its one sender started and taking every channel."""
    start = live_server(settings, aiohttp_client, ws_senders=1, ws_sender_min_subscribers=1)

    async def start_with_sender(**overrides: Any) -> tuple[Any, Any]:
        client, market = await start(**overrides)
        senders = client.server.app[HUB].senders
        senders.start()
        await eventually(senders.ready)
        return client, market

    return start_with_sender


async def open_subscribers(client: Any, count: int) -> list[Any]:
    sockets = [await client.ws_connect("/ws") for _ in range(count)]
    for ws in sockets:
        await subscribe(ws)
        assert (await recv(ws))["op"] == "snapshot"
    return sockets


async def test_every_subscriber_gets_each_update_once_and_in_order(live):
    client, market = await live()
    await market.move()
    sockets = await open_subscribers(client, 12)
    hub = client.server.app[HUB]

    for i in range(5):
        await market.move((PRODUCTS[i],))
    head = hub.snapshot.heads["rates"].offset
    for ws in sockets:
        frames = [await recv(ws) for _ in range(5)]
        assert [f["offset"] for f in frames] == list(range(head - 4, head + 1))
        assert [f["data"]["rates"][0]["product"] for f in frames] == list(PRODUCTS[:5])

    (plan,) = hub._targets.values()
    (share,) = plan.shares
    assert len(share[1]) == 6 and len(plan.own) == 6  # half written by the sender
    for ws in sockets:
        await ws.close()


async def sender_holding_half(client: Any, market: Any, count: int) -> tuple[list[Any], Any]:
    """`count` subscribers, the sender holding every other socket."""
    await market.move()
    sockets = await open_subscribers(client, count)
    (sender,) = client.server.app[HUB].senders.senders
    await market.move(("fha_30",))
    for ws in sockets:
        assert (await recv(ws))["op"] == "update"
    assert metric("rateline_ws_sender_processes") == 1
    return sockets, sender


async def test_a_dead_sender_loses_no_update_and_the_loop_takes_its_sockets(live):
    client, market = await live()
    sockets, sender = await sender_holding_half(client, market, 6)

    sender.proc.send_signal(signal.SIGKILL)
    sender.proc.wait()
    for product in ("30y_fixed", "15y_fixed"):
        await market.move((product,))
        head = client.server.app[HUB].snapshot.heads["rates"].offset
        for ws in sockets:
            assert (await recv(ws))["offset"] == head
    assert metric("rateline_ws_sender_processes") == 0
    for ws in sockets:
        await ws.close()


async def test_a_hung_sender_costs_only_its_own_clients_a_reconnect(live):
    client, market = await live()
    sockets, sender = await sender_holding_half(client, market, 6)

    sender.sock.settimeout(0.3)  # the reply timeout, shortened for the test
    sender.proc.send_signal(signal.SIGSTOP)
    await market.move(("30y_fixed",))
    outcomes = []
    for ws in sockets:
        message = await asyncio.wait_for(ws.receive(), 5)
        if message.type.name == "TEXT":
            outcomes.append(orjson.loads(message.data)["op"])
        else:
            outcomes.append((message.data, message.extra))
    assert sorted(map(str, outcomes)) == sorted(
        ["update"] * 3 + [str((1012, "send path restarted"))] * 3
    )
    assert sender.proc.poll() is not None  # stopped for good

    survivors = [ws for ws, seen in zip(sockets, outcomes, strict=True) if seen == "update"]
    newcomer = (await open_subscribers(client, 1))[0]
    await market.move(("15y_fixed",))
    head = client.server.app[HUB].snapshot.heads["rates"].offset
    for ws in [*survivors, newcomer]:
        assert (await recv(ws))["offset"] == head
    for ws in [*sockets, newcomer]:
        await ws.close()


async def test_the_senders_stop_with_the_server(live):
    client, _ = await live()
    (sender,) = client.server.app[HUB].senders.senders
    assert sender.proc.poll() is None
    await client.close()
    assert sender.proc.poll() is not None


def test_a_gone_socket_in_a_broadcast_does_not_stop_the_writes_after_it():
    pairs = [socket.socketpair() for _ in range(4)]
    ours = [mine.fileno() for mine, _ in pairs]
    pairs[1][1].close()  # the peer is gone: EPIPE
    ours[2] = -1  # no such descriptor: EBADF
    frame = b"\x81\x05hello"

    assert write_each(ours, frame) == [len(frame), 0, 0, len(frame)]
    assert pairs[0][1].recv(64) == frame
    assert pairs[3][1].recv(64) == frame
    for mine, theirs in pairs:
        mine.close()
        theirs.close()
