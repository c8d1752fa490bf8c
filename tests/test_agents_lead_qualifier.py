"""The lead qualifier: a score a loan officer can trust, with its reasons."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from actors.agents.lead_qualifier import LeadQualifier
from actors.calculation.amortization import level_payment
from actors.calculation.piti import piti
from protocols.api.agents import LeadOutput
from storage.database import Database
from tests.support.openai import LEAD_REQUEST, FakeOpenAI, Reply, running_fake_openai, service

QUALIFIER = LeadQualifier()


@pytest.fixture
async def fake_openai(aiohttp_server: Callable[..., Any]) -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai(aiohttp_server) as fake:
        yield fake


def qualify(**changes: Any) -> LeadOutput:
    return QUALIFIER.builtin(QUALIFIER.parse({**LEAD_REQUEST, **changes}))


def test_a_ready_buyer_is_hot_a_distant_stretched_one_cold() -> None:
    hot = qualify(preapproved=True, message="We have an accepted offer")
    warm = qualify(credit_score=680, timeline_months=9, monthly_income="8000")
    cold = qualify(
        credit_score=600, timeline_months=24, monthly_income="5000", loan_amount="390000"
    )
    assert (hot.tier, warm.tier, cold.tier) == ("hot", "warm", "cold")
    assert hot.score > warm.score > cold.score
    assert hot.score == 100


def test_the_reasons_carry_the_engines_payment_and_ratios() -> None:
    answer = qualify()
    payment = piti(level_payment(Decimal(320000), Decimal("6.5"), 360), price=Decimal(400000))
    dti = ((payment.total + 500) * 100 / 12000).quantize(Decimal("0.1"))
    dti_reason = next(r for r in answer.reasons if r.startswith("Debt-to-income"))
    assert f"{dti}%" in dti_reason and f"${payment.total:,}" in dti_reason
    assert any("Loan-to-value 80.0%" in r for r in answer.reasons)
    unknown = qualify(rate=None)
    assert any("unknown" in r for r in unknown.reasons)
    assert unknown.score < answer.score


async def test_a_model_score_is_kept_only_when_its_tier_and_figures_hold(
    db: Database, fake_openai: FakeOpenAI
) -> None:
    agents = service(db, fake_openai)
    engine = qualify()
    fake_openai.then(
        Reply(content=orjson.dumps({"score": 95, "tier": "hot", "reasons": ["Strong"]}).decode())
    )
    kept = await agents.ask("lead_qualifier", LEAD_REQUEST)
    assert (kept.provider, kept.output.score) == ("openai", 95)

    for bad in (
        {"score": 90, "tier": "warm", "reasons": ["Strong"]},
        {"score": 40, "tier": "warm", "reasons": ["Strays from the engine"]},
        {"score": 90, "tier": "hot", "reasons": ["Debt-to-income is 12.5%"]},
    ):
        fake_openai.then(Reply(content=orjson.dumps(bad).decode()))
        agents.cache.clear()
        await db.pool.execute("TRUNCATE agent_interactions")
        answer = await agents.ask("lead_qualifier", LEAD_REQUEST)
        assert answer.provider == "builtin", bad
        assert answer.output == engine


def test_the_debt_guide_is_the_loan_programs() -> None:
    stretched = {"monthly_income": "9000", "monthly_debts": "1000"}
    conventional = qualify(**stretched)
    fha = qualify(**stretched, loan_type="fha")
    assert any("39.0%" in r and "guide of 36%" in r for r in conventional.reasons)
    assert any("39.0%" in r and "within the fha guide of 43%" in r for r in fha.reasons)
    assert fha.score - conventional.score == 15
