"""The answer cache: a question asked again, however it is written, within
its lifetime, by a hundred callers at once, or after a restart, costs no
second provider call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from actors.agents import AgentOptions
from actors.agents.canonical import input_hash
from actors.agents.registry import AGENTS
from ops.config import ConfigError, Settings
from storage.agents import list_interactions
from storage.database import Database
from tests.support.openai import (
    ADVICE_REQUEST,
    LEAD_REQUEST,
    Clock,
    Fail,
    FakeOpenAI,
    Reply,
    flat_llpa_grid,
    running_fake_openai,
    service,
)


@pytest.fixture
async def fake_openai(aiohttp_server: Callable[..., Any]) -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai(aiohttp_server) as fake:
        yield fake


def key(agent: str, payload: dict[str, Any]) -> str:
    return input_hash(AGENTS[agent].parse(payload))


def test_the_key_ignores_field_order_number_formatting_and_spacing() -> None:
    base = key("lead_qualifier", LEAD_REQUEST)
    reordered = dict(reversed(list(LEAD_REQUEST.items())))
    assert key("lead_qualifier", reordered) == base
    assert key("lead_qualifier", {**LEAD_REQUEST, "rate": 6.5}) == base
    assert key("lead_qualifier", {**LEAD_REQUEST, "rate": "6.500"}) == base
    assert key("lead_qualifier", {**LEAD_REQUEST, "loan_amount": 320000}) == base
    assert key("lead_qualifier", {**LEAD_REQUEST, "loan_amount": "320000.00"}) == base
    assert key("lead_qualifier", {**LEAD_REQUEST, "preapproved": False}) == base  # the default
    spaced = key("lead_qualifier", {**LEAD_REQUEST, "message": "  Ready to buy\n soon "})
    assert spaced == key("lead_qualifier", {**LEAD_REQUEST, "message": "Ready to buy soon"})

    assert key("lead_qualifier", {**LEAD_REQUEST, "rate": "6.501"}) != base
    assert key("lead_qualifier", {**LEAD_REQUEST, "preapproved": True}) != base
    rates = dict(ADVICE_REQUEST["market_rates"])
    assert key("mortgage_advisor", ADVICE_REQUEST) == key(
        "mortgage_advisor",
        {**ADVICE_REQUEST, "market_rates": dict(reversed(list(rates.items())))},
    )


async def test_a_repeated_question_is_answered_from_memory(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    agents = service(db, fake_openai)

    first = await agents.ask("mortgage_advisor", ADVICE_REQUEST, user_id="u-1")
    again = await agents.ask(
        "mortgage_advisor",
        {**ADVICE_REQUEST, "price": 400000.0, "down_payment": "40000.00"},
        user_id="u-2",
    )

    assert fake_openai.calls == 1
    assert (first.cached, first.cache_level) == (False, "none")
    assert (again.cached, again.cache_level) == (True, "memory")
    assert again.output == first.output
    assert (again.provider, again.model) == (first.provider, first.model)
    rows, total = await list_interactions(db.pool, limit=10)
    assert total == 2
    hit = rows[0]
    assert (hit.cache_level, hit.source_id, hit.user_id) == ("memory", first.interaction_id, "u-2")
    assert (hit.tokens_in, hit.tokens_out) == (0, 0)
    assert again.interaction_id == hit.id


async def test_answers_expire_after_the_agents_ttl(db: Database, fake_openai: FakeOpenAI) -> None:
    clock = Clock()
    agents = service(db, fake_openai, timer=clock, ttls={"lead_qualifier": 60.0})

    await agents.ask("lead_qualifier", LEAD_REQUEST)
    clock.advance(59)
    assert (await agents.ask("lead_qualifier", LEAD_REQUEST)).cache_level == "memory"

    clock.advance(2)
    # Memory forgot it; the stored answer is still young, so the database serves it.
    assert (await agents.ask("lead_qualifier", LEAD_REQUEST)).cache_level == "database"
    assert fake_openai.calls == 1

    clock.advance(61)
    await db.pool.execute("UPDATE agent_interactions SET created_at = now() - interval '61 s'")
    fresh = await agents.ask("lead_qualifier", LEAD_REQUEST)
    assert (fresh.cache_level, fresh.provider) == ("none", "openai")
    assert fake_openai.calls == 2


async def test_a_hundred_identical_questions_make_one_provider_call(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    agents = service(db, fake_openai)
    fake_openai.then(Reply(delay=0.2))

    answers = await asyncio.gather(
        *(agents.ask("mortgage_advisor", ADVICE_REQUEST) for _ in range(100))
    )

    assert fake_openai.calls == 1
    levels = sorted(a.cache_level for a in answers)
    assert levels.count("none") == 1 and levels.count("inflight") == 99
    assert all(a.output == answers[0].output and a.provider == "openai" for a in answers)
    _, total = await list_interactions(db.pool, limit=1)
    assert total == 100


async def test_single_flight_holds_for_the_builtin_advisor_too(db: Database) -> None:
    agents = service(db)
    labels = {"agent": "lead_qualifier", "provider": "builtin", "outcome": "ok"}
    before = REGISTRY.get_sample_value("rateline_agent_provider_calls_total", labels) or 0.0

    answers = await asyncio.gather(
        *(agents.ask("lead_qualifier", LEAD_REQUEST) for _ in range(100))
    )

    after = REGISTRY.get_sample_value("rateline_agent_provider_calls_total", labels)
    assert after == before + 1
    assert {a.provider for a in answers} == {"builtin"}


async def test_after_a_restart_the_database_answers_and_refills_memory(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    first_node = service(db, fake_openai)
    original = await first_node.ask("mortgage_advisor", ADVICE_REQUEST)
    await first_node.close()

    restarted = service(db, fake_openai)
    from_db = await restarted.ask("mortgage_advisor", ADVICE_REQUEST)
    from_memory = await restarted.ask("mortgage_advisor", ADVICE_REQUEST)

    assert fake_openai.calls == 1
    assert (from_db.cache_level, from_db.provider) == ("database", "openai")
    assert from_db.output == original.output
    assert from_memory.cache_level == "memory"
    rows, _ = await list_interactions(db.pool, limit=10)
    assert [r.cache_level for r in rows] == ["memory", "database", "none"]
    assert rows[1].source_id == original.interaction_id


async def test_a_changed_pricing_grid_is_not_answered_from_the_old_grids_answers(
    db: Database, tmp_path: Path
) -> None:
    shipped = service(db)
    before = await shipped.ask("mortgage_advisor", ADVICE_REQUEST)
    await shipped.close()

    repriced = service(db, llpa_path=str(flat_llpa_grid(tmp_path)))
    after = await repriced.ask("mortgage_advisor", ADVICE_REQUEST)

    assert (before.cache_level, after.cache_level) == ("none", "none")
    assert after.output != before.output


async def test_a_stand_in_for_a_failed_model_is_kept_briefly_and_not_shared(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    clock = Clock()
    agents = service(db, fake_openai, timer=clock)
    fake_openai.then(Fail(500), Fail(500), Fail(500))

    stand_in = await agents.ask("lead_qualifier", LEAD_REQUEST)
    assert stand_in.provider == "builtin" and stand_in.reason is not None
    clock.advance(30)
    assert (await agents.ask("lead_qualifier", LEAD_REQUEST)).cache_level == "memory"
    assert fake_openai.calls == 3  # the failing API is not asked again at once

    other_node = await service(db, fake_openai, timer=clock).ask("lead_qualifier", LEAD_REQUEST)
    assert (other_node.provider, other_node.cache_level) == ("openai", "none")

    clock.advance(31)
    later = await agents.ask("lead_qualifier", LEAD_REQUEST)
    assert (later.provider, later.cache_level) == ("openai", "database")
    assert fake_openai.calls == 4


def test_each_agent_has_its_own_configurable_lifetime() -> None:
    configured = AgentOptions.from_settings(
        Settings.from_env(
            {
                "RATELINE_AGENT_CACHE_TTL": "900",
                "RATELINE_AGENT_CACHE_TTLS": "mortgage_advisor=120, lead_qualifier=0",
            }
        )
    )
    assert configured.ttl_for("mortgage_advisor", None) == 120
    assert configured.ttl_for("lead_qualifier", 3600.0) == 0  # 0 turns caching off
    plain = AgentOptions.from_settings(Settings.from_env({"RATELINE_AGENT_CACHE_TTL": "900"}))
    assert plain.ttl_for("lead_qualifier", 3600.0) == 3600
    assert plain.ttl_for("mortgage_advisor", None) == 900
    with pytest.raises(ConfigError, match="RATELINE_AGENT_CACHE_TTLS"):
        AgentOptions.from_settings(Settings.from_env({"RATELINE_AGENT_CACHE_TTLS": "advisor"}))


async def test_an_agent_with_caching_off_asks_its_provider_every_time(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    agents = service(db, fake_openai, ttls={"lead_qualifier": 0.0})
    first = await agents.ask("lead_qualifier", LEAD_REQUEST)
    second = await agents.ask("lead_qualifier", LEAD_REQUEST)
    assert (first.cache_level, second.cache_level) == ("none", "none")
    assert fake_openai.calls == 2


async def test_a_caller_who_stops_waiting_does_not_cancel_the_answer(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    agents = service(db, fake_openai)
    fake_openai.then(Reply(delay=0.3))
    impatient = asyncio.ensure_future(agents.ask("mortgage_advisor", ADVICE_REQUEST))
    await asyncio.wait_for(fake_openai.called.wait(), 10)
    impatient.cancel()

    patient = await agents.ask("mortgage_advisor", ADVICE_REQUEST)

    assert impatient.cancelled()
    assert (patient.provider, patient.cache_level) == ("openai", "inflight")
    assert fake_openai.calls == 1
