"""The error flow ends in monitoring: every system error is logged once with
its stack (and request id), counted by kind where the alert rules see it;
the event loop's lag is measured; only the leading node evaluates."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from actors.runtime import ActorSystem, ChildSpec, RatelineActor, SupervisorSpec
from actors.runtime.leadership import Leadership
from ops.config import Settings
from ops.error_metrics import count_system_errors
from ops.loop_lag import watch_loop_lag
from server import keys
from server.middlewares import problems, request_context
from storage import alerts as store
from storage.database import Database
from storage.leases import AdvisoryLease
from tests.alerting_support import Fixture, alerting, evaluate
from tests.support.net import eventually


def errors(kind: str) -> float:
    return REGISTRY.get_sample_value("rateline_system_errors_total", {"kind": kind}) or 0.0


async def test_a_5xx_is_logged_once_with_its_stack_and_request_id_and_counted(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    count_system_errors()

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("the ledger is inconsistent")

    async def refused(request: web.Request) -> web.Response:
        raise web.HTTPBadRequest(text="bad")

    app = web.Application(middlewares=[request_context, problems])
    app[keys.CONFIG] = Settings.from_env({})
    app.router.add_get("/broken", broken)
    app.router.add_get("/refused", refused)
    client = await aiohttp_client(app)
    before, users = errors("http"), errors("other")
    with caplog.at_level(logging.ERROR, logger="rateline"):
        response = await client.get("/broken", headers={"X-Request-Id": "req-42"})
        assert response.status == 500
        assert (await client.get("/refused")).status == 400
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None and "ledger" in str(record.exc_info[1])
    assert "req-42" in (await response.text())
    assert errors("http") == before + 1  # the 400 is a user error: counted by status only
    assert errors("other") == users


class Fragile(RatelineActor):
    def handle(self, message: Any) -> Any:
        raise ValueError(f"cannot handle {message}")


async def test_an_actor_crash_is_counted_and_restarted() -> None:
    count_system_errors()
    before = errors("actor")
    restarts = REGISTRY.get_sample_value("rateline_actor_restarts_total", {"actor": "fragile"})
    system = ActorSystem(asyncio.get_running_loop())
    spec = SupervisorSpec(name="errors-test", children=[ChildSpec("fragile", Fragile)])
    await asyncio.to_thread(system.start, spec)
    try:
        system.tell("fragile", "poison")
        await eventually(lambda: errors("actor") >= before + 1)
        await eventually(
            lambda: (
                (
                    REGISTRY.get_sample_value("rateline_actor_restarts_total", {"actor": "fragile"})
                    or 0
                )
                == (restarts or 0) + 1
            )
        )
    finally:
        await asyncio.to_thread(system.stop, 5.0)


async def test_a_blocked_loop_shows_as_lag() -> None:
    watcher = asyncio.create_task(watch_loop_lag(0.02))
    try:
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # noqa: ASYNC251 - a handler that blocks the loop
        await asyncio.sleep(0.005)  # the overdue tick runs first
        assert (REGISTRY.get_sample_value("rateline_event_loop_lag_seconds") or 0) >= 0.2
    finally:
        watcher.cancel()


async def test_only_the_node_holding_the_lease_evaluates(db: Database) -> None:
    first = Leadership("alerting", AdvisoryLease(db.dsn, store.ALERTING_LEASE, silence=30))
    second = Leadership("alerting", AdvisoryLease(db.dsn, store.ALERTING_LEASE, silence=30))
    await first.start()
    await second.start()
    assert first.leader and not second.leader
    fixture = Fixture()
    fixture.gauge.set(50)
    try:
        async with alerting(db, fixture, alerting_leadership=second) as system:
            assert not (await evaluate(system)).leading
            assert await store.list_alerts(db.pool) == []
            await first.stop()
            await second.check()
            assert second.leader
            assert (await evaluate(system)).leading
            [row] = await store.list_alerts(db.pool)
            assert row["state"] == "firing"
    finally:
        await first.stop()
        await second.stop()
