"""Amortization schedules the way a lender's disclosure prints them.

The payment is rounded to the cent half up; each month's interest is rounded
half up on the rounded running balance; the last payment absorbs whatever
the rounding left, so the balance ends at exactly 0.00. One loop serves
fixed-rate loans, extra payments, interest-only periods, balloons and ARM
rate changes (recast at every change date); biweekly plans have their own.
Rows are plain tuples because a 360-row schedule is built on every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from typing import Final, Protocol

from actors.calculation.money import CENT, ENGINE_CONTEXT, NO_CENTS, ONE, ZERO, ceil_int, cents

Row = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]
"""(n, annual rate %, payment, principal, interest, balance after payment)."""

N: Final = 0
RATE: Final = 1
PAYMENT: Final = 2
PRINCIPAL: Final = 3
INTEREST: Final = 4
BALANCE: Final = 5

_MONTHLY_DIVISOR = Decimal(1200)
_BIWEEKLY_DIVISOR = Decimal(2600)
_TWO = Decimal(2)


@dataclass(frozen=True, slots=True)
class Schedule:
    rows: list[Row]
    payment: Decimal
    """The first scheduled payment, without extras (interest only during an
    interest-only period)."""
    total_interest: Decimal
    total_paid: Decimal
    term_periods: int
    periods_per_year: int = 12
    amortizing_payment: Decimal | None = None
    """The level payment once an interest-only period ends."""
    balloon_payment: Decimal | None = None

    @property
    def payoff_periods(self) -> int:
        return len(self.rows)

    @property
    def payoff_months(self) -> int:
        """Months until the balance is zero; a biweekly plan rounds up."""
        if self.periods_per_year == 12:
            return len(self.rows)
        return ceil_int(Decimal(len(self.rows) * 12) / self.periods_per_year)


@dataclass(frozen=True, slots=True)
class Savings:
    months_saved: int
    interest_saved: Decimal


def payment_exact(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    """The level payment before rounding: P·r / (1 − (1+r)^−n)."""
    if months <= 0:
        raise ValueError("months must be positive")
    with localcontext(ENGINE_CONTEXT):
        if annual_rate == 0:
            return principal / months
        r, growth, less_one = _factors(annual_rate, months)
        return principal * r * growth / less_one


@lru_cache(maxsize=4096)
def _factors(annual_rate: Decimal, months: int) -> tuple[Decimal, Decimal, Decimal]:
    """r, (1 + r)^months and (1 + r)^months - 1: the costly part of a payment.
    Every quote draws its rate from the same rate book, and an ARM recasts at
    the same few terms, so the same few pairs recur across calculations."""
    with localcontext(ENGINE_CONTEXT):
        r = annual_rate / _MONTHLY_DIVISOR
        growth = (ONE + r) ** months
        return r, growth, growth - ONE


def level_payment(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    """The monthly payment rounded to the cent, half up."""
    return cents(payment_exact(principal, annual_rate, months))


def amortize(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    *,
    extra_monthly: Decimal = ZERO,
    lump_sums: Mapping[int, Decimal] | None = None,
    interest_only_months: int = 0,
    balloon_months: int | None = None,
    rate_changes: Mapping[int, Decimal] | None = None,
) -> Schedule:
    """A monthly schedule.

    `rate_changes` maps a payment number to the annual rate in force from that
    payment on; the remaining balance is re-amortized over the remaining term
    there even when the rate did not move. `balloon_months` ends the loan
    early: the payment of that month also repays the whole balance.
    """
    if principal <= 0:
        raise ValueError("principal must be positive")
    if term_months <= 0:
        raise ValueError("term_months must be positive")
    if not 0 <= interest_only_months < term_months:
        raise ValueError("interest_only_months must be shorter than the term")
    last = term_months if balloon_months is None else balloon_months
    if not 0 < last <= term_months:
        raise ValueError("balloon_months must fall within the term")
    lumps = lump_sums or {}
    changes = rate_changes or {}
    with localcontext(ENGINE_CONTEXT):
        balance = cents(principal)
        plain = not (lumps or changes or extra_monthly or interest_only_months)
        if plain and balloon_months is None:
            return _plain(balance, annual_rate, term_months)
        return _general(
            balance,
            annual_rate,
            term_months,
            last,
            extra_monthly,
            lumps,
            interest_only_months,
            changes,
        )


def _plain(balance: Decimal, rate: Decimal, term: int) -> Schedule:
    """The common case, kept free of per-month branching."""
    start = balance
    pay = level_payment(balance, rate, term)
    rows: list[Row] = []
    append = rows.append
    divisor = _MONTHLY_DIVISOR
    cent = CENT
    half_up = ROUND_HALF_UP
    total_interest = ZERO
    for n in range(1, term):
        interest = (balance * rate / divisor).quantize(cent, half_up)
        part = pay - interest
        if part >= balance:
            break
        balance -= part
        total_interest += interest
        append((n, rate, pay, part, interest, balance))
    n = len(rows) + 1
    interest = (balance * rate / divisor).quantize(cent, half_up)
    total_interest += interest
    append((n, rate, balance + interest, balance, interest, NO_CENTS))
    return Schedule(
        rows=rows,
        payment=pay,
        total_interest=total_interest,
        total_paid=start + total_interest,
        term_periods=term,
    )


def _general(
    balance: Decimal,
    rate: Decimal,
    term: int,
    last: int,
    extra_monthly: Decimal,
    lumps: Mapping[int, Decimal],
    io_months: int,
    changes: Mapping[int, Decimal],
) -> Schedule:
    divisor = _MONTHLY_DIVISOR
    cent = CENT
    half_up = ROUND_HALF_UP
    extra_monthly = cents(extra_monthly)
    pay = ZERO if io_months else level_payment(balance, rate, term)
    first_payment: Decimal | None = None
    amortizing: Decimal | None = None
    rows: list[Row] = []
    append = rows.append
    total_interest = ZERO
    total_paid = ZERO
    for n in range(1, last + 1):
        recast = n in changes
        if recast:
            rate = changes[n]
        interest = (balance * rate / divisor).quantize(cent, half_up)
        if n <= io_months:
            scheduled = interest
        else:
            if recast or n == io_months + 1:
                pay = level_payment(balance, rate, term - n + 1)
                if n == io_months + 1 and io_months:
                    amortizing = pay
            scheduled = pay
        if first_payment is None:
            first_payment = scheduled
        extra = extra_monthly + lumps.get(n, ZERO)
        part = scheduled - interest + extra
        if part >= balance or n == last:
            part = balance
            paid = balance + interest
        else:
            paid = scheduled + extra
        balance -= part
        total_interest += interest
        total_paid += paid
        append((n, rate, paid, part, interest, balance))
        if not balance:
            break
    assert first_payment is not None
    balloon = rows[-1][PAYMENT] if last < term and len(rows) == last else None
    return Schedule(
        rows=rows,
        payment=first_payment,
        total_interest=total_interest,
        total_paid=total_paid,
        term_periods=term,
        amortizing_payment=amortizing,
        balloon_payment=balloon,
    )


def amortize_biweekly(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    *,
    extra_monthly: Decimal = ZERO,
    lump_sums: Mapping[int, Decimal] | None = None,
) -> Schedule:
    """Half the monthly payment every two weeks: 26 half-payments a year.

    Interest accrues at the annual rate / 26 per two-week period on the
    rounded balance; half of `extra_monthly` rides on each half-payment and
    lump sums are keyed by biweekly payment number. The 13th "monthly"
    payment a year is what shortens the loan.
    """
    if principal <= 0:
        raise ValueError("principal must be positive")
    lumps = lump_sums or {}
    with localcontext(ENGINE_CONTEXT):
        balance = cents(principal)
        half = cents(level_payment(balance, annual_rate, term_months) / _TWO)
        extra_each = cents(extra_monthly / _TWO)
        limit = term_months * 26 // 12 + 1
        rows: list[Row] = []
        total_interest = ZERO
        total_paid = ZERO
        for n in range(1, limit + 1):
            interest = (balance * annual_rate / _BIWEEKLY_DIVISOR).quantize(CENT, ROUND_HALF_UP)
            extra = extra_each + lumps.get(n, ZERO)
            part = half - interest + extra
            if part >= balance or n == limit:
                part = balance
                paid = balance + interest
            else:
                paid = half + extra
            balance -= part
            total_interest += interest
            total_paid += paid
            rows.append((n, annual_rate, paid, part, interest, balance))
            if not balance:
                break
        return Schedule(
            rows=rows,
            payment=half,
            total_interest=total_interest,
            total_paid=total_paid,
            term_periods=term_months * 26 // 12,
            periods_per_year=26,
        )


class Payoff(Protocol):
    """What savings compares: a Schedule, or its totals alone."""

    @property
    def payoff_months(self) -> int: ...

    @property
    def total_interest(self) -> Decimal: ...


def savings(baseline: Payoff, accelerated: Payoff) -> Savings:
    """What paying faster bought: months and interest against the plain plan."""
    return Savings(
        months_saved=baseline.payoff_months - accelerated.payoff_months,
        interest_saved=baseline.total_interest - accelerated.total_interest,
    )
