"""The OpenAI provider, spoken to through the real client against an
OpenAI-compatible server the test runs: what a caller gets when the model
answers, stumbles, stalls, runs out of budget or invents a figure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import msgspec
import orjson
import pytest
from prometheus_client import REGISTRY

from actors.agents.registry import AGENTS
from protocols.api.agents import AdvisorOutput, LeadOutput
from storage.agents import list_interactions
from storage.database import Database
from tests.support.openai import (
    ADVICE_REQUEST,
    LEAD_REQUEST,
    MODEL,
    SNAPSHOT,
    Fail,
    FakeOpenAI,
    Raw,
    Reply,
    engine_facts,
    running_fake_openai,
    service,
)


@pytest.fixture
async def fake_openai(aiohttp_server: Callable[..., Any]) -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai(aiohttp_server) as fake:
        yield fake


def builtin_answer(agent: str, payload: dict) -> object:
    chosen = AGENTS[agent]
    return chosen.builtin(chosen.parse(payload))


async def test_a_model_answer_is_used_and_its_cost_recorded(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    agents = service(db, fake_openai)
    fake_openai.then(Reply(prompt_tokens=1000, completion_tokens=500))

    answer = await agents.ask("mortgage_advisor", ADVICE_REQUEST, user_id="u-1")

    assert answer.provider == "openai"
    assert answer.model == SNAPSHOT
    assert answer.reason is None and not answer.cached
    assert isinstance(answer.output, AdvisorOutput)
    assert all(r.title.startswith("Worth a look: ") for r in answer.output.recommendations)
    sent = fake_openai.requests[0]
    assert sent["model"] == MODEL
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["type"] == "object"
    kinds = [c["kind"] for c in engine_facts(sent)["candidates"]]
    assert {"remove_pmi", "shorter_term", "arm_caps"} <= set(kinds)

    rows, total = await list_interactions(db.pool, limit=10)
    assert total == 1
    row = rows[0]
    assert (row.provider, row.model, row.user_id) == ("openai", SNAPSHOT, "u-1")
    assert (row.tokens_in, row.tokens_out) == (1000, 500)
    # gpt-4o-mini: $0.15 per million in, $0.60 per million out
    assert row.cost_usd == Decimal("0.000450")
    assert row.cache_level == "none" and row.error is None
    assert row.output == msgspec.to_builtins(answer.output)  # what was served is stored


async def test_rate_limits_and_server_errors_are_retried(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    agents = service(db, fake_openai, max_retries=2)
    fake_openai.then(Fail(429), Fail(503))

    answer = await agents.ask("lead_qualifier", LEAD_REQUEST)

    assert fake_openai.calls == 3
    assert answer.provider == "openai"
    assert isinstance(answer.output, LeadOutput)
    assert answer.output.reasons[0].startswith("In short: ")


async def test_each_failure_falls_back_to_the_builtin_advisor_and_says_why(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    failures = {
        "rate_limited": [Fail(429)] * 3,
        "server_error": [Fail(500)] * 3,
        "malformed": [Raw('{"id": "chatcmpl-1", "choices": [')],
        "invalid answer": [Reply(content='{"recommendations": "none"}')],
        "not json": [Reply(content="Here are my recommendations: refinance!")],
        "timeout": [Reply(delay=5.0)],
    }
    expected = builtin_answer("mortgage_advisor", ADVICE_REQUEST)
    before = (
        REGISTRY.get_sample_value(
            "rateline_agent_fallbacks_total", {"agent": "mortgage_advisor", "reason": "timeout"}
        )
        or 0.0
    )
    for words, steps in failures.items():
        agents = service(db, fake_openai, max_retries=2, deadline=0.5)
        fake_openai.then(*steps)
        down = dict(ADVICE_REQUEST, down_payment=str(30000 + len(fake_openai.requests)))
        expected = builtin_answer("mortgage_advisor", down)

        answer = await agents.ask("mortgage_advisor", down)

        assert answer.provider == "builtin", words
        assert answer.output == expected, words
        assert answer.reason is not None
        key = {"invalid answer": "invalid answer", "not json": "invalid answer"}.get(words, words)
        assert key in answer.reason, (words, answer.reason)
        fake_openai.script.clear()
    after = REGISTRY.get_sample_value(
        "rateline_agent_fallbacks_total", {"agent": "mortgage_advisor", "reason": "timeout"}
    )
    assert after == before + 1


async def test_a_model_that_invents_a_figure_is_overruled(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    agents = service(db, fake_openai)
    expected = builtin_answer("mortgage_advisor", ADVICE_REQUEST)
    assert isinstance(expected, AdvisorOutput)
    honest = msgspec.to_builtins(expected)["recommendations"][:3]
    invented = [dict(honest[0], detail=honest[0]["detail"] + " That is about $517.25 a year.")]
    wrong_impact = [dict(honest[0], impact={"monthly": "500.00", "lifetime": "1.00"})]
    unfound = [dict(honest[0], kind="rate_lock")]
    reasons = []
    for bad in (invented, wrong_impact, unfound):
        fake_openai.then(
            Reply(content=orjson.dumps({"recommendations": bad + honest[1:]}).decode())
        )
        agents.cache.clear()
        await db.pool.execute("TRUNCATE agent_interactions")

        answer = await agents.ask("mortgage_advisor", ADVICE_REQUEST)

        assert answer.provider == "builtin"
        assert answer.output == expected
        assert answer.reason is not None and answer.reason.startswith("figure check")
        reasons.append(answer.reason)
    assert "517.25" in reasons[0]
    assert "impact" in reasons[1]
    assert "rate_lock" in reasons[2]
    stored = (await list_interactions(db.pool, limit=1))[0][0]
    assert stored.provider == "builtin" and stored.error == reasons[2]
    assert stored.tokens_in > 0  # a rejected answer still cost its tokens


async def test_rounded_figures_pass_the_figure_check(db: Database, fake_openai: FakeOpenAI) -> None:
    agents = service(db, fake_openai)
    expected = builtin_answer("mortgage_advisor", ADVICE_REQUEST)
    assert isinstance(expected, AdvisorOutput)
    recs = msgspec.to_builtins(expected)["recommendations"][:3]
    first = recs[0]
    assert first["kind"] == "remove_pmi"
    first["detail"] = "Putting $40,000 more down ends PMI of about $198 a month (20% down)."
    fake_openai.then(Reply(content=orjson.dumps({"recommendations": recs}).decode()))

    answer = await agents.ask("mortgage_advisor", ADVICE_REQUEST)

    assert answer.provider == "openai", answer.reason


async def test_the_daily_budget_stops_model_calls(db: Database, fake_openai: FakeOpenAI) -> None:
    agents = service(db, fake_openai, daily_tokens=100_000, user_daily_tokens=2_000)
    fake_openai.then(Reply(prompt_tokens=1500, completion_tokens=600))

    first = await agents.ask("lead_qualifier", LEAD_REQUEST, user_id="alice")
    second = await agents.ask(
        "lead_qualifier", dict(LEAD_REQUEST, credit_score=700), user_id="alice"
    )
    other = await agents.ask("lead_qualifier", dict(LEAD_REQUEST, credit_score=701), user_id="bob")

    assert first.provider == "openai"
    assert second.provider == "builtin"
    assert second.reason is not None and "budget" in second.reason and "user" in second.reason
    assert other.provider == "openai"
    assert fake_openai.calls == 2

    spent = 2_100 + 1_500  # alice's call and bob's (the server's default usage)
    tight = service(db, fake_openai, daily_tokens=spent, user_daily_tokens=50_000)
    refused = await tight.ask(
        "lead_qualifier", dict(LEAD_REQUEST, credit_score=702), user_id="carol"
    )
    assert refused.provider == "builtin"
    assert refused.reason is not None and "all users" in refused.reason
    assert fake_openai.calls == 2
