"""Two nodes on one PostgreSQL: one fetches the rates, both serve them with the
same offsets, and the other takes over when the leader goes."""

from __future__ import annotations

import asyncio
import queue
from typing import Any

import aiohttp
import pytest

from actors.rates import PollNow, RateFetcher, RatesConfig
from actors.runtime import ChildSpec, SupervisorSpec
from server import keys
from server.app import create_app
from server.keys import HUB
from server.realtime.cluster import BUS_LISTENER, LEADERSHIP
from storage.database import Database
from storage.leases import RATES_LEASE
from tests.support.net import eventually
from tests.support.ws import Market, ScriptedSource, recv, subscribe


class Node:
    def __init__(self, client: Any, market: Market, polls: list[int]) -> None:
        self.client = client
        self.app = client.server.app
        self.market = market
        self.polls = polls

    @property
    def leads(self) -> bool:
        return self.app[LEADERSHIP].leader

    async def poll(self) -> Any:
        return await self.app[keys.SYSTEM].ask("rates.simulated", PollNow())


@pytest.fixture
def start_node(db: Database, settings: Any, aiohttp_client: Any) -> Any:
    """A whole server with a scripted market, checking for the lead every 0.2 s."""

    async def start(**overrides: Any) -> Node:
        node_settings = settings.replace(
            **{"sim_interval": 3600.0, "leader_check_seconds": 0.2, **overrides}
        )
        steps: queue.SimpleQueue[Any] = queue.SimpleQueue()
        polls: list[int] = []
        config = RatesConfig.from_settings(node_settings)
        fetcher = ChildSpec(
            "rates.simulated", RateFetcher, args=(lambda _: ScriptedSource(steps, polls), config)
        )
        tree = SupervisorSpec("rateline", [SupervisorSpec("rates", [fetcher])])
        client = await aiohttp_client(create_app(node_settings, tree=tree))
        return Node(client, Market(client.server.app, steps), polls)

    return start


async def end_lease_session(db: Database) -> None:
    """What a leader's crash or lost network looks like from the database."""
    async with db.pool.acquire() as conn:
        ended = await conn.fetchval(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_locks
            WHERE locktype = 'advisory' AND granted
              AND ((classid::bigint << 32) | objid::bigint) = $1
            """,
            RATES_LEASE,
        )
    assert ended == 1


async def test_a_second_node_serves_the_leaders_rates_with_the_same_offsets(start_node) -> None:
    first = await start_node()
    second = await start_node()
    assert first.leads and not second.leads

    async with (
        first.client.ws_connect("/ws") as on_first,
        second.client.ws_connect("/ws") as on_second,
    ):
        here, there = await subscribe(on_first), await subscribe(on_second)
        assert (there["offset"], there["epoch"]) == (here["offset"], here["epoch"])
        assert (await recv(on_second))["data"] == (await recv(on_first))["data"]

        await first.market.move(("30y_fixed", "va_30"))
        update = await recv(on_first)
        assert update["offset"] == here["offset"] + 1
        assert await recv(on_second) == update

    rates = await (await second.client.get("/api/rates")).json()
    shown = {r["product"]: r["rate"] for r in rates["rates"]}
    assert shown["30y_fixed"] == str(first.market.level)

    ready = await (await second.client.get("/readyz")).json()
    assert {"part": "rates", "ok": True, "detail": "another node fetches the rates"} in ready[
        "parts"
    ]
    report = await second.poll()
    assert report.following and not second.polls


async def test_when_the_leader_loses_the_database_another_node_takes_over(
    start_node, db: Database
) -> None:
    first = await start_node()
    second = await start_node()
    async with (
        first.client.ws_connect("/ws") as on_first,
        second.client.ws_connect("/ws") as on_second,
    ):
        for ws in (on_first, on_second):
            await subscribe(ws, "rates:15y_fixed")
            await recv(ws)
        await first.market.move(("15y_fixed",))
        before = await recv(on_second)
        assert await recv(on_first) == before

        await end_lease_session(db)
        await eventually(lambda: second.leads and not first.leads)
        assert (await first.poll()).following

        second.market.level = first.market.level  # the market goes on where it was
        await second.market.move(("15y_fixed",))
        after = await recv(on_second)
        assert after["offset"] == before["offset"] + 1
        assert after["data"]["rates"][0]["rate"] == str(second.market.level)
        assert await recv(on_first) == after


async def test_a_node_that_stops_hands_the_lead_on(start_node) -> None:
    first = await start_node()
    second = await start_node()
    await first.client.close()
    await eventually(lambda: second.leads)
    await second.market.move(("jumbo_30",))
    assert second.polls


async def test_a_node_that_lost_the_bus_catches_up_when_it_listens_again(
    start_node, db: Database
) -> None:
    first = await start_node()
    second = await start_node(leader_check_seconds=1.0)
    listener = second.app[BUS_LISTENER]
    async with second.client.ws_connect("/ws") as ws:
        start = await subscribe(ws)
        await recv(ws)
        deaf = listener._conn
        async with db.pool.acquire() as conn:
            await conn.execute("SELECT pg_terminate_backend($1)", deaf.get_server_pid())
        await eventually(deaf.is_closed)
        ready = await (await second.client.get("/readyz")).json()
        assert {
            "part": "bus",
            "ok": False,
            "detail": "not hearing the other nodes; reconnecting",
        } in ready["parts"]

        await first.market.move(("fha_30",))  # announced while the second node is not listening
        update = await recv(ws, within=10.0)
        assert update["offset"] == start["offset"] + 1
        assert update["data"]["rates"][0]["product"] == "fha_30"
        assert listener.listening and listener._conn is not deaf


async def test_a_node_that_missed_more_than_the_history_holds_sends_clients_to_resubscribe(
    start_node, db: Database
) -> None:
    first = await start_node(channel_history=2)
    second = await start_node(channel_history=2, leader_check_seconds=1.0)
    async with second.client.ws_connect("/ws") as ws:
        start = await subscribe(ws)
        await recv(ws)
        deaf = second.app[BUS_LISTENER]._conn
        async with db.pool.acquire() as conn:
            await conn.execute("SELECT pg_terminate_backend($1)", deaf.get_server_pid())
        await eventually(deaf.is_closed)
        for _ in range(4):
            await first.market.move(("va_30",))

        closed = await ws.receive(timeout=10.0)
        assert closed.type == aiohttp.WSMsgType.CLOSE
        assert (closed.data, closed.extra) == (1012, "missed updates, subscribe again")

    async with second.client.ws_connect("/ws") as ws:
        again = await subscribe(ws, since=start["offset"], epoch=start["epoch"])
        assert again["recovered"] is False and again["offset"] == start["offset"] + 4
        snapshot = await recv(ws)
        rates = {r["product"]: r["rate"] for r in snapshot["data"]["rates"]}
        assert rates["va_30"] == str(first.market.level)


async def test_private_channels_reach_a_subscriber_on_any_node_in_order(start_node) -> None:
    nodes = [await start_node(), await start_node()]

    async def authenticate(conn: Any, token: str) -> str | None:
        return token

    async def own_channel(conn: Any, channel: str) -> bool:
        return channel == f"desk:{conn.identity}"

    for node in nodes:
        node.app[HUB].set_authenticator(authenticate)
        node.app[HUB].add_channel_kind("desk", own_channel)
    first, second = (node.app[HUB] for node in nodes)

    async with nodes[1].client.ws_connect("/ws") as ws:
        await ws.send_str('{"op":"auth","token":"ann"}')
        assert await recv(ws) == {"op": "authenticated"}
        assert (await subscribe(ws, "desk:ann"))["offset"] == 0

        # Both nodes at once: offsets are taken in the shared history in whatever
        # order the database decides, and the subscriber must still see each once,
        # in order.
        await asyncio.gather(
            *(hub.publish("desk:ann", {"n": n}) for n in range(10) for hub in (first, second))
        )
        got = [await recv(ws) for _ in range(20)]
        assert [g["offset"] for g in got] == list(range(1, 21))
        assert sorted(g["data"]["n"] for g in got) == sorted(list(range(10)) * 2)

    await eventually(lambda: len(second.private) == 0)  # nobody left to follow it for
    assert await first.publish("desk:ann", {"n": "later"}) == 21
    async with nodes[1].client.ws_connect("/ws") as ws:
        await ws.send_str('{"op":"auth","token":"ann"}')
        await recv(ws)
        assert (await subscribe(ws, "desk:ann", since=20))["recovered"] is True
        assert (await recv(ws))["data"] == {"n": "later"}
