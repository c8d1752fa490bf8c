"""Readiness when a part is down, and the exit when supervision gives up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from actors.runtime import ChildSpec, RatelineActor, SupervisorSpec
from ops.config import Settings
from server import keys
from server.app import create_app
from server.cli import serve
from storage.database import Database


class NeverStarts(RatelineActor):
    def on_start(self) -> None:
        raise RuntimeError("cannot reach its upstream")


class Echo(RatelineActor):
    def handle(self, message: object) -> object:
        return message


async def test_readyz_names_a_permanent_actor_that_is_down(
    db: Database, settings: Settings, aiohttp_client
) -> None:
    tree = SupervisorSpec(
        name="root",
        children=[ChildSpec("echo", Echo), ChildSpec("feed", NeverStarts)],
        max_restarts=100,
        period=60.0,
        backoff_initial=30.0,
        backoff_max=30.0,
    )
    client: TestClient = await aiohttp_client(create_app(settings, tree=tree))
    response = await client.get("/readyz")
    assert response.status == 503
    report = await response.json()
    actors = next(p for p in report["parts"] if p["part"] == "actors")
    assert actors == {"part": "actors", "ok": False, "detail": "feed is down"}
    assert await client.app[keys.SYSTEM].ask("echo", "still here") == "still here"


async def test_readyz_reports_a_failing_critical_check(
    db: Database, settings: Settings, aiohttp_client
) -> None:
    app = create_app(settings)

    async def broken() -> list[keys.Readiness]:
        return [keys.Readiness("upstream", False, "no answer in 2 s")]

    app[keys.READINESS_CHECKS].append(broken)
    client: TestClient = await aiohttp_client(app)
    response = await client.get("/readyz")
    assert response.status == 503
    parts = (await response.json())["parts"]
    assert {"part": "upstream", "ok": False, "detail": "no answer in 2 s"} in parts


@pytest.fixture
async def free_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    yield port


async def test_serve_exits_non_zero_when_the_top_supervisor_gives_up(
    db: Database, settings: Settings, free_port: int
) -> None:
    tree = SupervisorSpec(
        name="root",
        children=[ChildSpec("feed", NeverStarts)],
        max_restarts=2,
        period=10.0,
        backoff_initial=0.01,
        backoff_max=0.02,
    )
    code = await asyncio.wait_for(serve(settings.replace(port=free_port), tree=tree), 30)
    assert code == 1
