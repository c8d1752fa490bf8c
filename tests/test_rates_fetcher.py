"""The rate fetcher actor under a real supervisor, with real PostgreSQL."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from actors.rates import PollNow, RatesConfig, load_book
from actors.rates.fetcher import RateFetcher
from actors.rates.sources import FredSource
from actors.runtime import ActorSystem, ChildSpec, SupervisorSpec
from protocols.rate_sources.base import FetchResult, SourceError
from protocols.rate_sources.records import PRODUCTS, RateRecord
from storage import channels
from tests.support.net import eventually


class Script:
    """What the scripted source answers, poll after poll: a list of records
    or an exception to raise. An empty script answers "nothing new"."""

    def __init__(self) -> None:
        self.steps: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.polls = 0

    def source(self, snapshot: Any) -> ScriptedSource:
        return ScriptedSource(self)


class ScriptedSource:
    name = "simulated"

    def __init__(self, script: Script) -> None:
        self.script = script

    async def fetch(self, now: datetime) -> FetchResult:
        self.script.polls += 1
        try:
            step = self.script.steps.get_nowait()
        except queue.Empty:
            return FetchResult()
        if isinstance(step, BaseException):
            raise step
        return FetchResult(records=list(step))

    async def close(self) -> None:
        return None


def quotes(base: str, at: datetime | None = None) -> list[RateRecord]:
    """A quote for every product, each a tenth of a point apart."""
    at = at or datetime.now(UTC)
    return [
        RateRecord(product=p, rate=Decimal(base) + Decimal(i) / 10, as_of=at, source="simulated")
        for i, p in enumerate(PRODUCTS)
    ]


@pytest.fixture
async def start_rates(db):
    systems: list[ActorSystem] = []

    async def start(config: RatesConfig, factory: Callable[[Any], Any]):
        book = await load_book(db.pool, config)
        name = f"rates.{config.sources[0]}"
        tree = SupervisorSpec(
            "root",
            [
                SupervisorSpec(
                    "rates",
                    [ChildSpec(name, RateFetcher, args=(factory, config))],
                    max_restarts=5,
                    period=30.0,
                    backoff_initial=0.01,
                    backoff_max=0.05,
                )
            ],
        )
        system = ActorSystem(asyncio.get_running_loop(), deps={"db": db, "rate_book": book})
        await asyncio.to_thread(system.start, tree)
        systems.append(system)
        return system, book

    yield start
    for system in systems:
        await asyncio.to_thread(system.stop, 5.0)


def errors(source: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "rateline_rate_source_errors_total", {"source": source, "reason": reason}
    )
    return value or 0.0


async def test_observations_are_stored_once_and_only_changes_are_published(db, start_rates):
    script = Script()
    config = RatesConfig(sim_interval=3600, channel_history=5)
    system, book = await start_rates(config, script.source)
    await eventually(lambda: script.polls >= 1)

    t0 = datetime.now(UTC) - timedelta(minutes=1)
    script.steps.put(quotes("6.100", t0))
    report = await system.ask("rates.simulated", PollNow())
    assert (report.accepted, report.stored, report.changed) == (6, 6, 6)

    # the same observations again: nothing new stored, nothing published
    script.steps.put(quotes("6.100", t0))
    report = await system.ask("rates.simulated", PollNow())
    assert (report.stored, report.changed) == (0, 0)
    # a newer observation with the same value: stored, not published
    script.steps.put(quotes("6.100", t0 + timedelta(seconds=5))[:1])
    report = await system.ask("rates.simulated", PollNow())
    assert (report.stored, report.changed) == (1, 0)
    assert book.snapshot.rates["30y_fixed"].as_of == t0 + timedelta(seconds=5)

    for i in range(1, 8):
        step = quotes("6.100", t0 + timedelta(seconds=10 + i))[:1]
        script.steps.put(
            [msgspec.structs.replace(step[0], rate=Decimal("6.100") + Decimal(i) / 1000)]
        )
        report = await system.ask("rates.simulated", PollNow())
        assert report.changed == 1

    stored = await db.pool.fetchval("SELECT count(*) FROM rate_observations")
    assert stored == 6 + 1 + 7
    assert book.snapshot.heads["rates"].offset == 8
    assert book.snapshot.heads["rates:30y_fixed"].offset == 8
    assert book.snapshot.heads["rates:fha_30"].offset == 1
    # only the last `channel_history` updates are kept for replay
    kept = await channels.read_updates(db.pool, "rates", 0, 100)
    assert [offset for offset, _ in kept] == [4, 5, 6, 7, 8]

    # a restarted server finds the same rates, offsets and epoch
    again = await load_book(db.pool, config)
    assert again.snapshot.rates == book.snapshot.rates
    assert again.snapshot.heads == book.snapshot.heads


async def test_a_crash_mid_update_restarts_the_fetcher_with_the_book_intact(db, start_rates):
    script = Script()
    config = RatesConfig(sim_interval=0.02)
    system, book = await start_rates(config, script.source)

    script.steps.put(quotes("6.200"))
    await eventually(lambda: "30y_fixed" in book.snapshot.rates)
    before = book.snapshot

    script.steps.put(RuntimeError("bug in the middle of an update"))
    await eventually(lambda: system.restarts("rates.simulated") != [])
    assert "bug in the middle" in system.restarts("rates.simulated")[0].reason
    assert book.snapshot is before

    script.steps.put(quotes("6.300"))
    await eventually(lambda: book.snapshot.rates["30y_fixed"].rate == Decimal("6.300"))
    assert book.snapshot.heads["rates"].offset == before.heads["rates"].offset + 1
    assert system.is_alive("rates.simulated")


async def test_a_failing_source_is_counted_marked_unhealthy_and_recovers(db, start_rates):
    script = Script()
    config = RatesConfig(sim_interval=3600, unhealthy_after=2)
    system, book = await start_rates(config, script.source)
    await eventually(lambda: script.polls >= 1)
    script.steps.put(quotes("6.000"))
    await system.ask("rates.simulated", PollNow())
    good = book.snapshot
    timeouts = errors("simulated", "timeout")

    script.steps.put(SourceError("timeout", "no answer within 10 s"))
    report = await system.ask("rates.simulated", PollNow())
    assert not report.ok
    assert book.health.healthy("simulated")
    script.steps.put(SourceError("timeout", "no answer within 10 s"))
    await system.ask("rates.simulated", PollNow())
    assert not book.health.healthy("simulated")
    assert book.health.status()["simulated"]["last_error"] == "timeout: no answer within 10 s"
    assert errors("simulated", "timeout") == timeouts + 2
    assert REGISTRY.get_sample_value("rateline_rate_source_up", {"source": "simulated"}) == 0
    assert book.snapshot is good

    await system.ask("rates.simulated", PollNow())
    assert book.health.healthy("simulated")


async def test_fred_through_the_fetcher_never_publishes_a_bad_number(
    db, start_rates, aiohttp_server
):
    answers: queue.SimpleQueue[web.Response] = queue.SimpleQueue()

    async def observations(request: web.Request) -> web.Response:
        return answers.get_nowait() if not answers.empty() else web.Response(status=503)

    app = web.Application()
    app.router.add_get("/fred/series/observations", observations)
    server = await aiohttp_server(app)
    config = RatesConfig(
        sources=("fred",),
        fred_api_key="test-key",
        fred_base_url=str(server.make_url("/fred")),
        poll_seconds=3600,
        retry_seconds=3600,
        unhealthy_after=1,
    )
    system, book = await start_rates(config, lambda snapshot: FredSource(config))
    await eventually(lambda: not book.health.healthy("fred"))  # the first poll got 503s

    week = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    body = {"observations": [{"date": week, "value": "6.24"}]}
    bad = {"observations": [{"date": week, "value": "62.4"}]}
    answers.put(web.json_response(body))
    answers.put(web.json_response(bad))
    report = await system.ask("rates.fred", PollNow())
    assert report.changed == 1 and report.rejected == {"out_of_range": 1}
    assert book.snapshot.rates["30y_fixed"].rate == Decimal("6.240")
    assert book.snapshot.rates["30y_fixed"].source == "fred"
    assert "15y_fixed" not in book.snapshot.rates
    assert book.health.healthy("fred")

    answers.put(web.Response(text="<html>oops</html>", content_type="text/html"))
    answers.put(web.json_response({"error_code": 500, "error_message": "down"}, status=500))
    report = await system.ask("rates.fred", PollNow())
    assert not report.ok
    assert not book.health.healthy("fred")
    assert book.snapshot.rates["30y_fixed"].rate == Decimal("6.240")
