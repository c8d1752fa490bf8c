"""The whole server with a scripted rate market, and WebSocket clients that
subscribe, receive, and read slowly."""

from __future__ import annotations

import asyncio
import queue
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from prometheus_client import REGISTRY
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from actors.rates import PollNow, RatesConfig
from actors.rates.fetcher import RateFetcher
from actors.runtime import ChildSpec, SupervisorSpec
from protocols.rate_sources.base import FetchResult
from protocols.rate_sources.records import PRODUCTS, RateRecord
from server import keys
from server.app import create_app
from tests.support.net import eventually


class ScriptedSource:
    """The market as the test writes it: each poll takes the next list of records."""

    name = "simulated"

    def __init__(self, steps: queue.SimpleQueue[list[RateRecord]], polls: list[int]) -> None:
        self.steps = steps
        self.polls = polls

    async def fetch(self, now: datetime) -> FetchResult:
        self.polls.append(1)
        try:
            return FetchResult(records=self.steps.get_nowait())
        except queue.Empty:
            return FetchResult()

    async def close(self) -> None:
        return None


class Market:
    def __init__(self, app: web.Application, steps: queue.SimpleQueue[Any]) -> None:
        self.app = app
        self.steps = steps
        self.level = Decimal("6.000")

    async def move(self, products: tuple[str, ...] = PRODUCTS) -> None:
        """One change of the given products, published through the fetcher."""
        self.level += Decimal("0.001")
        now = datetime.now(UTC)
        self.steps.put(
            [
                RateRecord(product=p, rate=self.level + i, as_of=now, source="simulated")  # type: ignore[arg-type]
                for i, p in enumerate(products)
            ]
        )
        report = await self.app[keys.SYSTEM].ask("rates.simulated", PollNow())
        assert report.changed == len(products)


Live = Callable[..., Awaitable[tuple[Any, Market]]]


def live_server(settings: Any, aiohttp_client: Any, **defaults: Any) -> Live:
    async def start(**overrides: Any) -> tuple[Any, Market]:
        # Small buffers, so a client that stops reading shows up within a second.
        test_settings = settings.replace(
            sim_interval=3600.0,
            ws_send_buffer=2048,
            ws_slow_consumer_seconds=30.0,
            ws_socket_send_buffer=4096,
            **defaults,
        ).replace(**overrides)
        steps: queue.SimpleQueue[list[RateRecord]] = queue.SimpleQueue()
        polls: list[int] = []
        config = RatesConfig.from_settings(test_settings)
        tree = SupervisorSpec(
            "rateline",
            [
                SupervisorSpec(
                    "rates",
                    [
                        ChildSpec(
                            "rates.simulated",
                            RateFetcher,
                            args=(lambda snapshot: ScriptedSource(steps, polls), config),
                        )
                    ],
                )
            ],
        )
        client = await aiohttp_client(create_app(test_settings, tree=tree))
        await eventually(lambda: bool(polls))
        return client, Market(client.server.app, steps)

    return start


async def recv(ws: aiohttp.ClientWebSocketResponse, within: float = 5.0) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.receive_str(), within))


async def subscribe(ws: aiohttp.ClientWebSocketResponse, channel: str = "rates", **extra: Any):
    await ws.send_str(orjson.dumps({"op": "subscribe", "channel": channel, **extra}).decode())
    return await recv(ws)


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def slow_reader(url: str) -> ClientConnection:
    """A `websockets` client with a tiny receive buffer that reads only when told."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = url.split("//")[1].split("/")[0].split(":")
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await ws_connect(url, sock=sock, proxy=None, max_queue=1, ping_interval=None)
