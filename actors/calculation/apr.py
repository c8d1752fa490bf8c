"""Annual percentage rate by Regulation Z (12 CFR 1026) Appendix J, actuarial method.

Every advance and payment is placed on the time line as t whole unit
periods plus a fraction f of one, counted from the first advance, and the
unit-period rate i solves

    Σ A / ((1 + e·i)(1 + i)^q) = Σ P / ((1 + f·i)(1 + i)^t).

APR = i × unit periods per year. Whole months are counted back from the
later date with all months equal; leftover days are divided by a fixed
denominator (30 for a month, 15 a semimonth, 90 a quarter, 7 a week ...).
Equal payments one unit period apart collapse into runs, which the solver
(apr_solver) sums in closed form.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from actors.calculation.apr_solver import Run, unit_rate
from actors.calculation.money import ENGINE_CONTEXT, HUNDRED, ZERO, add_days, add_months
from protocols.api.mortgage import Frequency

_APR_PLACES = Decimal("0.01")
_EXACT_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class UnitPeriod:
    name: str
    per_year: Decimal
    months: int = 0
    """Months per unit for the month-based periods (a semimonth counts 30-day
    months in 15-day halves)."""
    days: int = 0
    """Days per unit: the fraction's denominator."""


MONTH = UnitPeriod("month", Decimal(12), months=1, days=30)
SEMIMONTH = UnitPeriod("semimonth", Decimal(24), months=1, days=15)
TWO_MONTHS = UnitPeriod("two_months", Decimal(6), months=2, days=60)
QUARTER = UnitPeriod("quarter", Decimal(4), months=3, days=90)
YEAR = UnitPeriod("year", Decimal(1), months=12, days=365)
WEEK = UnitPeriod("week", Decimal(52), days=7)
TWO_WEEKS = UnitPeriod("two_weeks", Decimal(26), days=14)
FOUR_WEEKS = UnitPeriod("four_weeks", Decimal(13), days=28)

UNIT_FOR_FREQUENCY: dict[str, UnitPeriod] = {
    "monthly": MONTH,
    "semimonthly": SEMIMONTH,
    "bimonthly": TWO_MONTHS,
    "quarterly": QUARTER,
    "annually": YEAR,
    "weekly": WEEK,
    "biweekly": TWO_WEEKS,
    "fourweekly": FOUR_WEEKS,
}

_APPROXIMATE_DAYS: list[tuple[Decimal, UnitPeriod]] = [
    (Decimal(7), WEEK),
    (Decimal(14), TWO_WEEKS),
    (Decimal("15.2"), SEMIMONTH),
    (Decimal(28), FOUR_WEEKS),
    (Decimal("30.4"), MONTH),
    (Decimal("60.8"), TWO_MONTHS),
    (Decimal("91.3"), QUARTER),
    (Decimal(365), YEAR),
]


@dataclass(frozen=True, slots=True)
class Flow:
    """An amount placed `periods` whole unit periods plus `fraction` of one
    after the first advance."""

    amount: Decimal
    periods: int
    fraction: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class AprResult:
    apr: Decimal
    """Percent, rounded to two decimals as disclosed."""
    apr_exact: Decimal
    unit_period: str
    unit_periods_per_year: Decimal
    periodic_rate: Decimal


def payment_dates(first: date, count: int, frequency: Frequency) -> list[date]:
    """The due dates of `count` payments; semimonthly pays on `first`'s day
    and 15 days later each month."""
    if frequency == "single":
        if count != 1:
            raise ValueError("a single payment has count 1")
        return [first]
    unit = UNIT_FOR_FREQUENCY[frequency]
    if frequency == "semimonthly":
        return [add_days(add_months(first, k // 2, first.day), 15 * (k % 2)) for k in range(count)]
    if unit.months:
        return [add_months(first, k * unit.months, first.day) for k in range(count)]
    return [add_days(first, k * unit.days) for k in range(count)]


def unit_period_for(groups: Iterable[tuple[Frequency, int]], dates: Sequence[date]) -> UnitPeriod:
    """The period between payments that occurs most often; on a tie the
    shorter one. Without any regular period, the average interval rounded to
    the nearest standard unit period (the shorter when equally near)."""
    counts: dict[str, int] = {}
    for frequency, count in groups:
        if frequency != "single":
            counts[frequency] = counts.get(frequency, 0) + count
    if counts:
        best = max(counts.values())
        tied = [UNIT_FOR_FREQUENCY[f] for f, c in counts.items() if c == best]
        return min(tied, key=_approximate_days)
    ordered = sorted(dates)
    if len(ordered) < 2:
        raise ValueError("a single payment has no regular unit period")
    average = Decimal((ordered[-1] - ordered[0]).days) / (len(ordered) - 1)
    return min(_APPROXIMATE_DAYS, key=lambda pair: (abs(pair[0] - average), pair[0]))[1]


def _approximate_days(unit: UnitPeriod) -> Decimal:
    return next(days for days, u in _APPROXIMATE_DAYS if u is unit)


def months_back(earlier: date, later: date) -> tuple[int, int]:
    """Whole months counted back from `later`, and the days left over.

    A month runs from a date to the same date of another month; when the
    earlier month lacks that day its last day stands in, so Jan 31 to
    Feb 28 is one month.
    """
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    while months > 0 and add_months(later, -months) < earlier:
        months -= 1
    if add_months(earlier, months + 1) == later:
        return months + 1, 0
    return months, (add_months(later, -months) - earlier).days


def place(start: date, when: date, unit: UnitPeriod) -> tuple[int, Decimal]:
    """(whole unit periods, fraction) from `start` to `when`."""
    if when < start:
        raise ValueError("a payment or advance precedes the first advance")
    with localcontext(ENGINE_CONTEXT):
        if unit is YEAR:
            months, days = months_back(start, when)
            years, spare = divmod(months, 12)
            if days == 0:
                return years, Decimal(spare) / 12
            anchor = add_months(when, -12 * years)
            return years, Decimal((anchor - start).days) / 365
        if unit.months:
            months, days = months_back(start, when)
            whole, rest = divmod(30 * months + days, unit.days)
            return whole, Decimal(rest) / unit.days
        whole, rest = divmod((when - start).days, unit.days)
        return whole, Decimal(rest) / unit.days


def apr_from_dates(
    advances: Sequence[tuple[Decimal, date]],
    payments: Sequence[tuple[Decimal, date]],
    unit: UnitPeriod | None = None,
) -> AprResult:
    """APR of any schedule of advances and payments.

    Without `unit`, a single advance repaid by a single payment uses its term
    as the unit period (365 / days, or 12 / months for whole months, when
    shorter than a year); anything else must name its unit period (see
    `unit_period_for`).
    """
    if not advances or not payments:
        raise ValueError("an APR needs at least one advance and one payment")
    start = min(d for _, d in advances)
    if unit is None:
        if len(advances) == 1 and len(payments) == 1:
            amount, due = payments[0]
            months, days = months_back(start, due)
            if months < 12:
                with localcontext(ENGINE_CONTEXT):
                    if days == 0:
                        per_year = Decimal(12) / Decimal(months)
                    else:
                        per_year = Decimal(365) / Decimal((due - start).days)
                return solve(
                    [Flow(advances[0][0], 0)],
                    [Flow(amount, 1)],
                    per_year,
                    "single_payment",
                )
            unit = YEAR
        else:
            raise ValueError("name the unit period of a multi-payment schedule")
    advance_flows = [Flow(a, *place(start, d, unit)) for a, d in advances]
    payment_flows = [Flow(p, *place(start, d, unit)) for p, d in payments]
    return solve(advance_flows, payment_flows, unit.per_year, unit.name)


def amount_financed(
    loan_amount: Decimal,
    *,
    points: Decimal = ZERO,
    prepaid_finance_charges: Decimal = ZERO,
    upfront_mortgage_insurance: Decimal = ZERO,
) -> Decimal:
    """The loan less what the borrower pays for credit up front (§1026.18(b)):
    discount points, origination and other prepaid finance charges, and
    upfront mortgage insurance or guarantee fees even when financed."""
    return loan_amount - points - prepaid_finance_charges - upfront_mortgage_insurance


def mortgage_apr_runs(
    amount_financed: Decimal,
    runs: Sequence[tuple[Decimal, int]],
    *,
    odd_days: int = 0,
    near: Decimal | None = None,
) -> AprResult:
    """APR of a loan repaid monthly, the payments given as (amount, times in a
    row) in order, the first payment one month plus `odd_days` (which may be
    negative) after funding. Prepaid finance charges (points, origination
    fees, upfront mortgage insurance) belong outside `amount_financed`;
    monthly mortgage insurance belongs inside the payments.

    `near` (percent a year, the note rate say) is where the search starts; it
    saves steps, never changes the answer."""
    if odd_days <= -30:
        raise ValueError("the first payment must fall after funding")
    first, odd = divmod(30 + odd_days, 30)
    with localcontext(ENGINE_CONTEXT):
        fraction = Decimal(odd) / 30
    placed: list[Run] = []
    at = first
    for amount, count in runs:
        if placed and placed[-1][0] == amount:
            last = placed[-1]
            placed[-1] = (amount, last[1], fraction, last[3] + count)
        else:
            placed.append((amount, at, fraction, count))
        at += count
    start = 0.0 if near is None else float(near) / 1200
    return _solve_runs([(amount_financed, 0, ZERO, 1)], placed, MONTH.per_year, MONTH.name, start)


def solve(
    advances: Sequence[Flow], payments: Sequence[Flow], per_year: Decimal, unit_name: str
) -> AprResult:
    """Find the unit-period rate that balances the general equation."""
    return _solve_runs(_runs(advances), _runs(payments), per_year, unit_name)


def _solve_runs(
    adv_runs: Sequence[Run],
    pay_runs: Sequence[Run],
    per_year: Decimal,
    unit_name: str,
    start: float = 0.0,
) -> AprResult:
    with localcontext(ENGINE_CONTEXT):
        rate = unit_rate(adv_runs, pay_runs, per_year, start)
        apr_exact = rate * per_year * HUNDRED
        return AprResult(
            apr=apr_exact.quantize(_APR_PLACES, rounding=ROUND_HALF_UP),
            apr_exact=apr_exact.quantize(_EXACT_PLACES, rounding=ROUND_HALF_UP),
            unit_period=unit_name,
            unit_periods_per_year=per_year,
            periodic_rate=rate,
        )


def _runs(flows: Sequence[Flow]) -> list[Run]:
    runs: list[Run] = []
    for flow in sorted(flows, key=_when):
        if runs:
            amount, first, fraction, count = runs[-1]
            if (
                amount == flow.amount
                and fraction == flow.fraction
                and first + count == flow.periods
            ):
                runs[-1] = (amount, first, fraction, count + 1)
                continue
        runs.append((flow.amount, flow.periods, flow.fraction, 1))
    return runs


def _when(flow: Flow) -> tuple[int, Decimal]:
    return flow.periods, flow.fraction
