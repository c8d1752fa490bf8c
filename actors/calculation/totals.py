"""A schedule's figures without its rows: what quotes and advice read.

A quote needs the first payment, the total interest, the payment stream (for
the APR) and the balance after each payment (for when PMI ends and what FHA
charges each year), not 360 printable rows. The loops here follow exactly
the rules of amortization.amortize and amortize_biweekly — level payment
rounded half up, each period's interest rounded half up on the rounded
balance, recast at every rate change, the last payment clearing the balance
— in whole cents held as integers, and so give the same cents several times
faster. The payment stream comes back as runs of equal payments, the shape
the APR solver sums in closed form.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from functools import lru_cache
from itertools import pairwise

from actors.calculation.amortization import (
    BALANCE,
    PAYMENT,
    PRINCIPAL,
    Schedule,
    amortize,
    amortize_biweekly,
    level_payment,
)
from actors.calculation.money import ENGINE_CONTEXT, ZERO, ceil_int, cents

Run = tuple[Decimal, int]
"""(amount, how many times in a row)."""

_MAX_RATE_DIGITS = 20
"""Rates with more digits than this take the Decimal schedule, where the
product balance × rate might be rounded at 34 digits (integers never are)."""
_MONTHLY = 1200
_BIWEEKLY = 2600
_HALF_CENT_MARGIN = 1e-11
"""How far (relative, in cents) a float payment must sit from a half cent to be
rounded as it stands: a thousand times its worst error."""
_TWO = Decimal(2)


@dataclass(frozen=True, slots=True)
class LoanTotals:
    payment: Decimal
    """The first scheduled payment, without extras (Schedule.payment)."""
    total_interest: Decimal
    payments: tuple[Run, ...]
    """Every payment in order, extras included, equal neighbours merged."""
    balances: tuple[int, ...]
    """Cents owed after each payment; the last is 0."""
    principal: int
    """Cents borrowed."""
    term_periods: int
    periods_per_year: int = 12

    @property
    def payoff_periods(self) -> int:
        return len(self.balances)

    @property
    def payoff_months(self) -> int:
        """As Schedule.payoff_months: a biweekly plan rounds up."""
        if self.periods_per_year == 12:
            return len(self.balances)
        return ceil_int(Decimal(len(self.balances) * 12) / self.periods_per_year)

    def paid_in(self, number: int) -> Decimal:
        """What payment `number` (from 1) pays."""
        for amount, count in self.payments:
            if number <= count:
                return amount
            number -= count
        raise IndexError("the loan is paid off before that payment")

    def interest_through(self, count: int) -> Decimal:
        """The interest of the first `count` payments (the schedule's rows
        [:count] summed)."""
        if count <= 0:
            return ZERO
        if count >= len(self.balances):
            return self.total_interest
        paid = 0
        left = count
        for amount, times in self.payments:
            take = min(times, left)
            paid += _as_cents(amount) * take
            left -= take
            if not left:
                break
        return _money(paid - (self.principal - self.balances[count - 1]))


def loan_totals(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    *,
    extra_monthly: Decimal = ZERO,
    rate_changes: Mapping[int, Decimal] | None = None,
) -> LoanTotals:
    """The figures of `amortize(principal, annual_rate, term_months,
    extra_monthly=extra_monthly, rate_changes=rate_changes)`, cent for cent."""
    if principal <= 0:
        raise ValueError("principal must be positive")
    if term_months <= 0:
        raise ValueError("term_months must be positive")
    changes = rate_changes or {}
    rates = {annual_rate, *changes.values()}
    if (changes and extra_monthly) or not all(_integer_safe(rate) for rate in rates):
        schedule = amortize(
            principal,
            annual_rate,
            term_months,
            extra_monthly=extra_monthly,
            rate_changes=changes or None,
        )
        return _from_schedule(schedule)
    if changes:
        with localcontext(ENGINE_CONTEXT):
            return _recast(cents(principal), annual_rate, term_months, changes)
    return _fixed(principal, annual_rate, term_months, extra_monthly)


@lru_cache(maxsize=1024)
def _fixed(principal: Decimal, rate: Decimal, term: int, extra_monthly: Decimal) -> LoanTotals:
    """A fixed-rate loan's figures. The advisor asks for the loans its
    calculation just priced, so recent ones are kept (every figure is whole
    cents, so equal inputs however written give the same totals)."""
    with localcontext(ENGINE_CONTEXT):
        balance = cents(principal)
        return _level(
            balance,
            level_payment(balance, rate, term),
            cents(extra_monthly),
            rate,
            _MONTHLY,
            term,
            term,
        )


def biweekly_totals(
    principal: Decimal, annual_rate: Decimal, term_months: int, *, extra_monthly: Decimal = ZERO
) -> LoanTotals:
    """The figures of `amortize_biweekly(principal, annual_rate, term_months,
    extra_monthly=extra_monthly)`, cent for cent."""
    if principal <= 0:
        raise ValueError("principal must be positive")
    if not _integer_safe(annual_rate):
        return _from_schedule(
            amortize_biweekly(principal, annual_rate, term_months, extra_monthly=extra_monthly)
        )
    with localcontext(ENGINE_CONTEXT):
        balance = cents(principal)
        half = cents(level_payment(balance, annual_rate, term_months) / _TWO)
        return _level(
            balance,
            half,
            cents(extra_monthly / _TWO),
            annual_rate,
            _BIWEEKLY,
            term_months * 26 // 12 + 1,
            term_months * 26 // 12,
            periods_per_year=26,
        )


def _integer_safe(rate: Decimal) -> bool:
    return rate.is_finite() and rate >= 0 and len(rate.as_tuple().digits) <= _MAX_RATE_DIGITS


def _as_cents(amount: Decimal) -> int:
    return int(amount.scaleb(2))


def _money(cents_: int) -> Decimal:
    return Decimal(cents_).scaleb(-2)


def _interest_terms(rate: Decimal, divisor: int = _MONTHLY) -> tuple[int, int, int]:
    """(2·numerator, denominator, 2·denominator) of rate/divisor, so that a
    period's interest half up is (balance·2n + d) // 2d in cents."""
    numerator, denominator = rate.as_integer_ratio()
    denominator *= divisor
    return 2 * numerator, denominator, 2 * denominator


def _level(
    balance: Decimal,
    pay_amount: Decimal,
    extra_amount: Decimal,
    rate: Decimal,
    divisor: int,
    periods: int,
    term_periods: int,
    *,
    periods_per_year: int = 12,
) -> LoanTotals:
    """The level-payment loop of amortization (_plain, _general with an extra
    each period, amortize_biweekly): the period's payment plus the extra goes
    first to interest, the rest to principal, until a payment would clear the
    balance or the last period clears it. The interest total is what was paid
    less what was borrowed, so the loop need not add it up."""
    pay = _as_cents(pay_amount) + _as_cents(extra_amount)
    owed = start = _as_cents(balance)
    twice_n, d, twice_d = _interest_terms(rate, divisor)
    balances: list[int] = []
    append = balances.append
    for _ in range(1, periods):
        part = pay - (owed * twice_n + d) // twice_d
        if part >= owed:
            break
        owed -= part
        append(owed)
    last = owed + (owed * twice_n + d) // twice_d
    count = len(balances)
    append(0)
    return LoanTotals(
        payment=pay_amount,
        total_interest=_money(pay * count + last - start),
        payments=_merged([(pay_amount + extra_amount, count), (_money(last), 1)]),
        balances=tuple(balances),
        principal=start,
        term_periods=term_periods,
        periods_per_year=periods_per_year,
    )


def _recast(
    balance: Decimal, rate: Decimal, term: int, changes: Mapping[int, Decimal]
) -> LoanTotals:
    """amortization._general's loop with no extras, interest-only months or
    balloon: a new level payment from each change date on."""
    owed = start = _as_cents(balance)
    balances: list[int] = []
    append = balances.append
    runs: list[Run] = []
    paid = 0
    first = ZERO
    bounds = [1, *sorted(m for m in changes if 1 < m <= term), term + 1]
    terms: dict[Decimal, tuple[int, int, int, float, float]] = {}
    for n, until in pairwise(bounds):
        rate = changes.get(n, rate)
        found = terms.get(rate)
        if found is None:
            r = float(rate) / _MONTHLY
            found = terms[rate] = (*_interest_terms(rate), r, math.log1p(r))
        twice_n, d, twice_d, r, log_growth = found
        pay = _payment_cents(owed, rate, term - n + 1, r, log_growth)
        if n == 1:
            first = _money(pay)
        stop = min(until, term)
        before = len(balances)
        for _ in range(n, stop):
            part = pay - (owed * twice_n + d) // twice_d
            if part >= owed:
                break
            owed -= part
            append(owed)
        count = len(balances) - before
        if count:
            runs.append((_money(pay), count))
            paid += pay * count
        if n + count < stop or until > term:
            break
    last = owed + (owed * twice_n + d) // twice_d
    runs.append((_money(last), 1))
    append(0)
    return LoanTotals(
        payment=first,
        total_interest=_money(paid + last - start),
        payments=_merged(runs),
        balances=tuple(balances),
        principal=start,
        term_periods=term,
    )


def _payment_cents(owed: int, rate: Decimal, months: int, r: float, log_growth: float) -> int:
    """level_payment(owed, rate, months) in cents, from floats when they
    settle it.

    In floats the payment owed·r·g/(g-1), g = (1+r)^months, is within a few
    parts in 1e14 of the exact one (g - 1 by expm1, so nothing cancels), and
    the Decimal payment (34 digits) far closer still. Both round to the same
    cent unless the payment lies almost on a half cent; only then is the
    Decimal payment worked out."""
    try:
        less_one = math.expm1(months * log_growth)
        exact = owed * r * (less_one + 1.0) / less_one
    except (OverflowError, ZeroDivisionError):
        exact = math.nan
    if exact > 0:
        whole = math.floor(exact)
        if abs(exact - whole - 0.5) > _HALF_CENT_MARGIN * (1.0 + exact):
            return whole + 1 if exact - whole > 0.5 else whole
    return _as_cents(level_payment(_money(owed), rate, months))


def _from_schedule(schedule: Schedule) -> LoanTotals:
    rows = schedule.rows
    return LoanTotals(
        payment=schedule.payment,
        total_interest=schedule.total_interest,
        payments=_merged((row[PAYMENT], 1) for row in rows),
        balances=tuple(_as_cents(row[BALANCE]) for row in rows),
        principal=_as_cents(rows[0][BALANCE] + rows[0][PRINCIPAL]),
        term_periods=schedule.term_periods,
        periods_per_year=schedule.periods_per_year,
    )


def _merged(runs: Iterable[Run]) -> tuple[Run, ...]:
    merged: list[Run] = []
    for amount, count in runs:
        if count <= 0:
            continue
        if merged and merged[-1][0] == amount:
            merged[-1] = (amount, merged[-1][1] + count)
        else:
            merged.append((amount, count))
    return tuple(merged)


def with_premiums(payments: Sequence[Run], premiums: Sequence[Run]) -> Sequence[Run]:
    """Each month's payment plus that month's premium (none after the last
    premium), as runs."""
    if not premiums:
        return payments
    out: list[Run] = []
    pay = iter(payments)
    prem = iter(premiums)
    amount, left = next(pay)
    premium, p_left = next(prem, (ZERO, 0))
    while True:
        if p_left == 0:
            out.append((amount, left))
            out.extend(pay)
            break
        take = min(left, p_left)
        out.append((amount + premium, take))
        left -= take
        p_left -= take
        if p_left == 0:
            premium, p_left = next(prem, (ZERO, 0))
        if left == 0:
            following = next(pay, None)
            if following is None:
                break
            amount, left = following
    return _merged(out)
