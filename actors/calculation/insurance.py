"""Mortgage insurance and guarantee fees: conventional PMI, FHA MIP, the VA
funding fee.

PMI is charged while LTV > 80% and ends automatically (Homeowners Protection
Act) when the ORIGINAL schedule first reaches 78% of the original value, or
after the schedule's midpoint at the latest; extra payments do not move that
date (a borrower may ask to cancel earlier, at 80%, but that is a request,
not the automatic end). Rates are annual percentages of the loan amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Literal

from actors.calculation.amortization import level_payment
from actors.calculation.money import ENGINE_CONTEXT, HUNDRED, TWELVE, ZERO, cents, percent_of
from actors.calculation.totals import LoanTotals, Run

PMI_LTV_THRESHOLD = Decimal(80)
PMI_AUTOMATIC_END_LTV = Decimal(78)
PMI_CANCEL_ON_REQUEST_LTV = Decimal(80)

PMI_ANNUAL_RATES: Sequence[tuple[int, Decimal]] = (
    (760, Decimal("0.46")),
    (740, Decimal("0.55")),
    (720, Decimal("0.66")),
    (700, Decimal("0.78")),
    (680, Decimal("0.92")),
    (660, Decimal("1.10")),
    (640, Decimal("1.30")),
    (0, Decimal("1.50")),
)
"""Lowest credit score of a band → typical borrower-paid monthly PMI, % a
year of the original loan (the market's usual 0.46%–1.50% spread)."""

FHA_UPFRONT_MIP = Decimal("1.75")
FHA_BASE_LOAN_BREAK = Decimal(726_200)


@dataclass(frozen=True, slots=True)
class FhaMip:
    upfront: Decimal
    """1.75% of the base loan, usually financed into the loan."""
    annual_rate: Decimal
    months: int
    """How many monthly premiums are charged: 11 years at LTV ≤ 90%, else the
    life of the loan."""


VaPurpose = Literal["purchase", "cash_out_refinance", "rate_reduction_refinance"]


def ltv_percent(loan: Decimal, value: Decimal) -> Decimal:
    """Loan-to-value in percent, exact (bands compare against it)."""
    with localcontext(ENGINE_CONTEXT):
        return loan * HUNDRED / value


def pmi_annual_rate(
    credit_score: int, table: Sequence[tuple[int, Decimal]] = PMI_ANNUAL_RATES
) -> Decimal:
    for lowest, rate in table:
        if credit_score >= lowest:
            return rate
    return table[-1][1]


def pmi_monthly(
    loan: Decimal,
    value: Decimal,
    credit_score: int,
    table: Sequence[tuple[int, Decimal]] = PMI_ANNUAL_RATES,
) -> Decimal:
    """The monthly premium, zero at 80% LTV or below."""
    if ltv_percent(loan, value) <= PMI_LTV_THRESHOLD:
        return ZERO
    with localcontext(ENGINE_CONTEXT):
        return cents(loan * pmi_annual_rate(credit_score, table) / HUNDRED / TWELVE)


def pmi_months_of(original: LoanTotals, value: Decimal) -> int:
    """How many monthly premiums the original schedule carries: through the
    payment that first brings the scheduled balance to 78% of the original
    value, and never past the midpoint of the term."""
    start = Decimal(original.principal).scaleb(-2)
    if not original.balances or ltv_percent(start, value) <= PMI_LTV_THRESHOLD:
        return 0
    midpoint = original.term_periods // 2
    reached = payment_reaching_ltv(original, value, PMI_AUTOMATIC_END_LTV)
    return midpoint if reached is None else min(reached, midpoint)


def payment_reaching_ltv(original: LoanTotals, value: Decimal, ltv: Decimal) -> int | None:
    """The first payment (from 1) after which the scheduled balance is at or
    below `ltv`% of `value`; None if the schedule never gets there."""
    # Whole cents are at or below the limit exactly when at or below its floor.
    limit = int((value * ltv / HUNDRED).scaleb(2).to_integral_value(ROUND_FLOOR))
    for n, owed in enumerate(original.balances, 1):
        if owed <= limit:
            return n
    return None


def fha_mip(base_loan: Decimal, value: Decimal, term_months: int) -> FhaMip:
    """FHA premiums in force since March 2023 (HUD Mortgagee Letter 2023-05)."""
    ltv = ltv_percent(base_loan, value)
    large = base_loan > FHA_BASE_LOAN_BREAK
    if term_months > 180:
        if large:
            annual = Decimal("0.75") if ltv > 95 else Decimal("0.70")
        else:
            annual = Decimal("0.55") if ltv > 95 else Decimal("0.50")
    elif large:
        annual = Decimal("0.65") if ltv > 90 else Decimal("0.40") if ltv > 78 else Decimal("0.15")
    else:
        annual = Decimal("0.40") if ltv > 90 else Decimal("0.15")
    months = term_months if ltv > 90 else min(term_months, 132)
    return FhaMip(upfront=percent_of(base_loan, FHA_UPFRONT_MIP), annual_rate=annual, months=months)


def fha_premium_runs(totals: LoanTotals, mip: FhaMip) -> list[Run]:
    """FHA's monthly premiums, as runs of equal amounts: each year's premium
    is the annual rate on that year's average scheduled balance, split into
    twelve equal monthly amounts, for as long as MIP is charged."""
    balances = totals.balances
    opening = [totals.principal, *balances[:-1]]
    runs: list[Run] = []
    left = mip.months
    with localcontext(ENGINE_CONTEXT):
        for year_start in range(0, min(mip.months, len(balances)), 12):
            year = opening[year_start : year_start + 12]
            average = Decimal(sum(year)).scaleb(-2) / len(year)
            monthly = cents(average * mip.annual_rate / HUNDRED / TWELVE)
            count = min(len(year), left)
            left -= count
            if runs and runs[-1][0] == monthly:
                runs[-1] = (monthly, runs[-1][1] + count)
            else:
                runs.append((monthly, count))
    return runs


def fha_first_premium(loan: Decimal, note_rate: Decimal, term_months: int, mip: FhaMip) -> Decimal:
    """The first year's monthly premium without building the whole schedule."""
    payment = level_payment(loan, note_rate, term_months)
    balance = loan
    opening: list[Decimal] = []
    with localcontext(ENGINE_CONTEXT):
        for _ in range(min(12, term_months)):
            opening.append(balance)
            interest = cents(balance * note_rate / 1200)
            balance = max(balance - (payment - interest), ZERO)
        average = sum(opening, ZERO) / len(opening)
        return cents(average * mip.annual_rate / HUNDRED / TWELVE)


def va_funding_fee_rate(
    down_payment_percent: Decimal,
    *,
    subsequent_use: bool = False,
    purpose: VaPurpose = "purchase",
    exempt: bool = False,
) -> Decimal:
    """The VA funding fee in percent of the loan (rates since April 2023).

    Veterans receiving disability compensation (and some surviving spouses)
    are exempt.
    """
    if exempt:
        return ZERO
    if purpose == "rate_reduction_refinance":
        return Decimal("0.5")
    if purpose == "cash_out_refinance":
        return Decimal("3.3") if subsequent_use else Decimal("2.15")
    if down_payment_percent >= 10:
        return Decimal("1.25")
    if down_payment_percent >= 5:
        return Decimal("1.5")
    return Decimal("3.3") if subsequent_use else Decimal("2.15")


def va_funding_fee(
    base_loan: Decimal,
    down_payment_percent: Decimal,
    *,
    subsequent_use: bool = False,
    purpose: VaPurpose = "purchase",
    exempt: bool = False,
) -> Decimal:
    rate = va_funding_fee_rate(
        down_payment_percent, subsequent_use=subsequent_use, purpose=purpose, exempt=exempt
    )
    return percent_of(base_loan, rate)
