"""Reference versions of engine figures, computed from full schedules.

The engine computes these from a schedule's totals (pmi_months_of,
fha_premium_runs, mortgage_apr_runs), which is faster; tests hold it to the
plain reading of the rules below.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from itertools import groupby

from actors.calculation.amortization import BALANCE, PRINCIPAL, Schedule
from actors.calculation.apr import AprResult, mortgage_apr_runs
from actors.calculation.insurance import (
    PMI_AUTOMATIC_END_LTV,
    PMI_LTV_THRESHOLD,
    FhaMip,
    ltv_percent,
)
from actors.calculation.money import ENGINE_CONTEXT, HUNDRED, TWELVE, ZERO, cents


def pmi_months(original: Schedule, value: Decimal) -> int:
    """How many monthly premiums the original schedule carries.

    Premiums are paid through the payment that first brings the scheduled
    balance to 78% of the original value, and never past the midpoint of
    the term.
    """
    rows = original.rows
    start = rows[0][BALANCE] + rows[0][PRINCIPAL] if rows else ZERO
    if not rows or ltv_percent(start, value) <= PMI_LTV_THRESHOLD:
        return 0
    midpoint = original.term_periods // 2
    limit = value * PMI_AUTOMATIC_END_LTV / HUNDRED
    for row in rows:
        if row[BALANCE] <= limit:
            return min(row[0], midpoint)
    return midpoint


def fha_monthly_premiums(schedule: Schedule, mip: FhaMip) -> list[Decimal]:
    """One premium per month while MIP is charged.

    Each year's premium is the annual rate on that year's average scheduled
    balance, split into twelve equal monthly amounts.
    """
    rows = schedule.rows
    opening = [rows[0][BALANCE] + rows[0][PRINCIPAL]] + [row[BALANCE] for row in rows[:-1]]
    premiums: list[Decimal] = []
    with localcontext(ENGINE_CONTEXT):
        for year_start in range(0, min(mip.months, len(rows)), 12):
            year = opening[year_start : year_start + 12]
            average = sum(year, ZERO) / len(year)
            monthly = cents(average * mip.annual_rate / HUNDRED / TWELVE)
            premiums.extend([monthly] * len(year))
    return premiums[: mip.months]


def mortgage_apr(
    amount_financed: Decimal, monthly_payments: Sequence[Decimal], *, odd_days: int = 0
) -> AprResult:
    """APR of a loan repaid monthly, the first payment one month plus
    `odd_days` (which may be negative) after funding.

    Prepaid finance charges (points, origination fees, upfront mortgage
    insurance) belong outside `amount_financed`; monthly mortgage insurance
    belongs inside the payments.
    """
    runs = [(amount, sum(1 for _ in group)) for amount, group in groupby(monthly_payments)]
    return mortgage_apr_runs(amount_financed, runs, odd_days=odd_days)
