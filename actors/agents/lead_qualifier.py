"""lead_qualifier: how ready a prospective borrower is, 0–100, and why.

The score adds up six plain factors a loan officer would weigh; the payment,
debt-to-income and loan-to-value behind them come from the calculation
engine. The bands are the conventional guides (28/36 DTI, 80% LTV), so the
reasons read like an underwriter's notes rather than a black box.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from actors.agents.base import Agent
from actors.agents.wording import usd
from actors.calculation.amortization import level_payment
from actors.calculation.insurance import ltv_percent
from actors.calculation.piti import piti
from actors.calculation.products import DTI_LIMITS
from protocols.api.agents import LeadInput, LeadOutput

HOT = 70
WARM = 40
_ONE_PLACE = Decimal("0.1")
_STRETCH = Decimal(50)
"""Debt-to-income beyond which no mainstream program lends."""


def tier_for(score: int) -> str:
    return "hot" if score >= HOT else "warm" if score >= WARM else "cold"


@dataclass(frozen=True)
class Factor:
    points: int
    reason: str


def _pct(value: Decimal) -> Decimal:
    return value.quantize(_ONE_PLACE, rounding=ROUND_HALF_UP)


def credit(lead: LeadInput) -> Factor:
    score = lead.credit_score
    if score is None:
        return Factor(8, "No credit score given yet (+8)")
    for floor, points, words in (
        (740, 25, "in the best pricing bands"),
        (700, 20, "strong"),
        (660, 12, "fair; pricing adjustments apply"),
        (620, 5, "near the conventional minimum"),
    ):
        if score >= floor:
            return Factor(points, f"Credit score {score} is {words} (+{points})")
    return Factor(0, f"Credit score {score} is below the conventional minimum of 620 (+0)")


def housing_payment(lead: LeadInput) -> Decimal | None:
    """Principal and interest plus estimated tax and insurance, by the engine."""
    if lead.rate is None:
        return None
    pi = level_payment(lead.loan_amount, lead.rate, lead.term_years * 12)
    price = lead.home_price or lead.loan_amount
    return piti(pi, price=price).total


def debt_to_income(lead: LeadInput) -> Factor:
    payment = housing_payment(lead)
    if lead.monthly_income is None or lead.monthly_income == 0 or payment is None:
        return Factor(5, "Debt-to-income unknown without income and a rate (+5)")
    dti = _pct((payment + lead.monthly_debts) * 100 / lead.monthly_income)
    ratio = f"Debt-to-income {dti}% with a {usd(payment)} housing payment"
    limit = DTI_LIMITS[lead.loan_type].back
    if dti <= limit:
        return Factor(25, f"{ratio} is within the {lead.loan_type} guide of {limit}% (+25)")
    if dti <= _STRETCH:
        return Factor(
            10,
            f"{ratio} is above the {lead.loan_type} guide of {limit}%; some lenders allow it (+10)",
        )
    return Factor(0, f"{ratio} exceeds {_STRETCH}% (+0)")


def loan_to_value(lead: LeadInput) -> Factor:
    if lead.home_price is None:
        return Factor(5, "Home price not known yet (+5)")
    ltv = _pct(ltv_percent(lead.loan_amount, lead.home_price))
    for limit, points, words in (
        (Decimal(80), 15, "at or under 80%: no mortgage insurance"),
        (Decimal(90), 10, "over 80%: mortgage insurance applies"),
        (Decimal(97), 5, "over 90%: a small down payment"),
    ):
        if ltv <= limit:
            return Factor(points, f"Loan-to-value {ltv}% is {words} (+{points})")
    return Factor(0, f"Loan-to-value {ltv}% leaves almost no equity (+0)")


def timeline(lead: LeadInput) -> Factor:
    months = lead.timeline_months
    if months is None:
        return Factor(4, "No timeline given (+4)")
    for limit, points in ((3, 20), (6, 12), (12, 6)):
        if months <= limit:
            return Factor(points, f"Plans to buy within {months} months (+{points})")
    return Factor(0, f"Plans to buy in {months} months, more than a year away (+0)")


def readiness(lead: LeadInput) -> list[Factor]:
    factors = []
    if lead.preapproved:
        factors.append(Factor(10, "Already preapproved (+10)"))
    if lead.message.strip():
        factors.append(Factor(5, "Wrote a message with the request (+5)"))
    return factors


def factors(lead: LeadInput) -> list[Factor]:
    return [
        credit(lead),
        debt_to_income(lead),
        loan_to_value(lead),
        timeline(lead),
        *readiness(lead),
    ]


class LeadQualifier(Agent[LeadInput, LeadOutput]):
    """Score a lead 0–100 with a tier (hot, warm, cold) and the reasons."""

    name = "lead_qualifier"
    input_type = LeadInput
    output_type = LeadOutput
    ttl = 3600.0
    prompt = """
You qualify mortgage leads for a loan officer. Given the lead (INPUT) and the
engine's factor-by-factor scoring (ENGINE_FACTS), return a score from 0 to
100, a tier (hot from 70, warm from 40, cold below) and up to eight short
reasons a loan officer can act on, most important first. Weigh the message
text for urgency or intent; stay within 15 points of the engine's score.
"""

    def builtin(self, data: LeadInput) -> LeadOutput:
        found = factors(data)
        score = max(0, min(100, sum(f.points for f in found)))
        ranked = sorted(found, key=lambda f: -f.points)
        return LeadOutput(score=score, tier=tier_for(score), reasons=[f.reason for f in ranked])  # type: ignore[arg-type]

    def check(self, data: LeadInput, answer: LeadOutput, facts: object) -> str | None:
        if answer.tier != tier_for(answer.score):
            return f"tier {answer.tier} does not match score {answer.score}"
        baseline = facts["score"] if isinstance(facts, dict) else None
        if isinstance(baseline, int) and abs(answer.score - baseline) > 15:
            return f"score {answer.score} strays more than 15 points from the engine's {baseline}"
        return super().check(data, answer, facts)
