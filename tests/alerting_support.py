"""Helpers of the alerting tests: a webhook receiver on a real socket, the
alerting actor under a real actor system, a rule over a test gauge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry, Gauge

from actors.alerting.actor import NAME, AlertingActor, CycleReport, Evaluate
from actors.alerting.config import AlertingConfig
from actors.alerting.rules import rules_from_data
from actors.runtime import ActorSystem, ChildSpec, SupervisorSpec
from storage.database import Database


def gauge_rule(**changes: Any) -> dict[str, Any]:
    return {
        "name": "QueueTooLong",
        "metric": "rateline_test_queue_length",
        "function": "value",
        "op": ">",
        "threshold": 10,
        "for": "0s",
        "severity": "critical",
        "summary": "the queue holds {{ $value }} items",
        **changes,
    }


class Fixture:
    """A registry with one gauge, and the config of an actor watching it."""

    def __init__(self, **config: Any) -> None:
        self.registry = CollectorRegistry()
        self.gauge = Gauge("rateline_test_queue_length", "test", registry=self.registry)
        rules = rules_from_data({"rules": [gauge_rule(**config.pop("rule", {}))]}, "test")
        self.config = AlertingConfig(
            rules=tuple(rules), eval_seconds=3600, retry_base=0.2, **config
        )


class Receiver:
    """An HTTP server that records JSON bodies; it can refuse the first few."""

    def __init__(self, refuse: int = 0) -> None:
        self.bodies: list[Any] = []
        self.refuse = refuse
        self.server: TestServer | None = None

    async def _take(self, request: web.Request) -> web.Response:
        if self.refuse > 0:
            self.refuse -= 1
            return web.Response(status=503, text="not now")
        self.bodies.append(await request.json())
        return web.Response(status=200)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_post("/hook", self._take)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        try:
            yield str(self.server.make_url("/hook"))
        finally:
            await self.server.close()


@asynccontextmanager
async def alerting(db: Database, fixture: Fixture, **deps: Any) -> AsyncIterator[ActorSystem]:
    system = ActorSystem(asyncio.get_running_loop(), deps={"db": db, **deps})
    spec = ChildSpec(
        name=NAME,
        factory=AlertingActor,
        kwargs={"config": fixture.config, "registry": fixture.registry},
    )
    await asyncio.to_thread(system.start, SupervisorSpec(name="test", children=[spec]))
    try:
        yield system
    finally:
        await asyncio.to_thread(system.stop, 5.0)


async def evaluate(system: ActorSystem) -> CycleReport:
    report = await system.ask(NAME, Evaluate(), timeout=30)
    assert isinstance(report, CycleReport) and not report.failed
    return report
