"""The rate products Rateline quotes and the house rules for who may take them.

Figures that change yearly or by lender (conforming limit, minimum scores
and down payments, DTI limits) live here as named constants so that a
policy change is a one-line edit with a reason beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from actors.calculation.arm import ArmTerms
from protocols.rate_sources.records import Product as ProductName

Program = Literal["conventional", "fha", "va", "jumbo"]

CONFORMING_LIMIT = Decimal(832_750)
"""FHFA's 2026 baseline conforming loan limit for a one-unit home. County
high-cost limits (up to 150% of baseline) are not applied here; a loan above
the baseline is treated as jumbo."""
CONFORMING_LIMIT_HIGH_BASELINE = Decimal(1_249_125)
"""Alaska, Hawaii, Guam and the U.S. Virgin Islands: 150% of the baseline."""
HIGH_BASELINE_STATES = frozenset({"AK", "HI", "GU", "VI"})


@dataclass(frozen=True, slots=True)
class DtiLimits:
    """Largest housing (front) and total (back) payment as % of gross income."""

    front: Decimal | None
    back: Decimal


DTI_LIMITS: dict[str, DtiLimits] = {
    "conventional": DtiLimits(Decimal(28), Decimal(36)),
    "jumbo": DtiLimits(Decimal(28), Decimal(36)),
    "fha": DtiLimits(Decimal(31), Decimal(43)),
    "va": DtiLimits(None, Decimal(41)),
}
"""Underwriting guidelines, not law: automated underwriting often allows more."""

MIN_CREDIT_SCORE: dict[str, int] = {"conventional": 620, "jumbo": 700, "fha": 500, "va": 580}
FHA_LOW_SCORE = 580
"""Below this score FHA needs 10% down instead of 3.5%."""


@dataclass(frozen=True, slots=True)
class Product:
    name: ProductName
    program: Program
    term_months: int
    min_down_percent: Decimal
    arm: ArmTerms | None = None

    @property
    def conforming(self) -> bool:
        return self.program == "conventional"


def five_six_arm(initial_rate: Decimal) -> ArmTerms:
    """A 5/6 SOFR ARM: fixed 5 years, then every 6 months, caps 2/1/5."""
    return ArmTerms(
        initial_rate=initial_rate,
        fixed_months=60,
        adjust_every_months=6,
        margin=Decimal("2.75"),
        initial_cap=Decimal(2),
        periodic_cap=Decimal(1),
        lifetime_cap=Decimal(5),
    )


CATALOG: dict[str, Product] = {
    p.name: p
    for p in (
        Product("30y_fixed", "conventional", 360, Decimal(5)),
        Product("15y_fixed", "conventional", 180, Decimal(5)),
        Product("5_6_arm", "conventional", 360, Decimal(5), five_six_arm(Decimal(0))),
        Product("fha_30", "fha", 360, Decimal("3.5")),
        Product("va_30", "va", 360, Decimal(0)),
        Product("jumbo_30", "jumbo", 360, Decimal(10)),
    )
}

FIRST_TIME_BUYER_MIN_DOWN = Decimal(3)
"""Fixed-rate conforming loans at 97% LTV need a first-time buyer; ARMs stop at 95%."""


def conforming_limit(state: str) -> Decimal:
    return (
        CONFORMING_LIMIT_HIGH_BASELINE
        if state.upper() in HIGH_BASELINE_STATES
        else CONFORMING_LIMIT
    )


def min_down_percent(product: Product, credit_score: int, first_time_buyer: bool) -> Decimal:
    if product.program == "fha" and credit_score < FHA_LOW_SCORE:
        return Decimal(10)
    if product.program == "conventional" and product.arm is None and first_time_buyer:
        return FIRST_TIME_BUYER_MIN_DOWN
    return product.min_down_percent


def ineligibility(
    product: Product,
    *,
    base_loan: Decimal,
    down_percent: Decimal,
    credit_score: int,
    state: str,
    va_eligible: bool,
    first_time_buyer: bool,
) -> str | None:
    """Why the borrower cannot take this product, or None."""
    if product.program == "va" and not va_eligible:
        return "VA loans need VA eligibility (veterans, service members, surviving spouses)"
    limit = conforming_limit(state)
    if product.conforming and base_loan > limit:
        return f"loan amount {base_loan} is above the conforming limit {limit}; see jumbo_30"
    if product.program == "jumbo" and base_loan <= limit:
        return (
            f"loan amount {base_loan} is within the conforming limit {limit}; jumbo starts above it"
        )
    lowest = MIN_CREDIT_SCORE[product.program]
    if credit_score < lowest:
        return f"{product.name} needs a credit score of at least {lowest}"
    needed = min_down_percent(product, credit_score, first_time_buyer)
    if down_percent < needed:
        return f"{product.name} needs at least {needed}% down"
    return None
