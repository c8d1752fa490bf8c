"""Private-channel publishes that arrive together are stored together: one
transaction for many channels' updates, each channel's offsets still dense
and in the order its updates were published, each subscriber seeing each
offset once."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson

from protocols import bus
from server.keys import HUB
from storage import channels
from storage.database import Database
from tests.support.ws import recv, subscribe


async def test_one_statement_appends_repeated_channels_with_dense_offsets(db: Database) -> None:
    updates = [("a", '{"n":1}'), ("b", '{"n":1}'), ("a", '{"n":2}'), ("c", '{"n":1}')]
    async with db.pool.acquire() as conn:
        await channels.append_updates(conn, [("a", '{"n":0}')], keep=100)
        heads = await channels.append_in_order(conn, [*updates, ("a", '{"n":3}')], keep=100)
        assert [offset for _, offset in heads] == [2, 1, 3, 1, 4]
        assert len({epoch for epoch, _ in heads[::2]}) == 1  # a's three share its epoch
        stored = await channels.read_updates(conn, "a", 0, 4)
    assert [(offset, orjson.loads(data)["n"]) for offset, data in stored] == [
        (1, 0),
        (2, 1),
        (3, 2),
        (4, 3),
    ]


async def test_a_burst_of_publishes_is_committed_together_and_arrives_in_order(
    app_client: Any, settings: Any
) -> None:
    hub = app_client.server.app[HUB]

    async def authenticate(conn: Any, token: str) -> str | None:
        return token

    async def own_channel(conn: Any, channel: str) -> bool:
        return channel == f"desk:{conn.identity}"

    hub.set_authenticator(authenticate)
    hub.add_channel_kind("desk", own_channel)
    people = ["ann", "bob", "cy"]
    commits: list[str] = []
    listener = await asyncpg.connect(settings.database_url)
    await listener.add_listener(channels.BUS, lambda *args: commits.append(args[3]))
    sockets = []
    try:
        for person in people:
            ws = await app_client.ws_connect("/ws")
            sockets.append(ws)
            await ws.send_str(orjson.dumps({"op": "auth", "token": person}).decode())
            assert await recv(ws) == {"op": "authenticated"}
            assert (await subscribe(ws, f"desk:{person}"))["offset"] == 0

        offsets = await asyncio.gather(
            *(hub.publish(f"desk:{p}", {"n": n}) for n in range(10) for p in people)
        )
        assert offsets == [n + 1 for n in range(10) for _ in people]
        for ws in sockets:
            got = [await recv(ws) for _ in range(10)]
            assert [(g["offset"], g["data"]["n"]) for g in got] == [(n + 1, n) for n in range(10)]
        await asyncio.sleep(0.2)  # the announcements, sent at commit
        told = [news for news in map(bus.decode, commits) if news and "desk:ann" in news.heads]
        assert 1 <= len(told) < 30  # grouped: fewer commits than publishes
        assert told[-1].heads == {f"desk:{p}": 10 for p in people}
    finally:
        for ws in sockets:
            await ws.close()
        await listener.close()
