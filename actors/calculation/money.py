"""Decimal conventions shared by every calculation.

Lenders round to the cent half up (the CFPB's sample disclosures do), so one
place owns that rule. A private context shields the engine from whatever
precision or traps a caller set on the thread's default context.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
TWELVE = Decimal(12)
CENT = Decimal("0.01")
NO_CENTS = Decimal("0.00")
RATE_PLACES = Decimal("0.001")

ENGINE_CONTEXT = Context(prec=34, rounding=ROUND_HALF_UP)
"""Enough digits that a 480-month annuity factor is exact to far below a cent."""


def cents(value: Decimal) -> Decimal:
    """Round money to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """`percent` % of `amount`, rounded to the cent."""
    return cents(amount * percent / HUNDRED)


def ceil_int(value: Decimal) -> int:
    """The smallest whole number not below `value`."""
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def rate_text(rate: Decimal) -> Decimal:
    """A rate with at least three decimals ("6.500"), never losing digits."""
    shown = rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    return shown if shown == rate else rate.normalize()


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(start: date, months: int, day: int | None = None) -> date:
    """The same day `months` later; a day the month lacks becomes its last day.

    `day` is the nominal day of a series (31 for a series begun on Jan 31), so
    that a run through February returns to the 31st afterwards.
    """
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    month += 1
    wanted = start.day if day is None else day
    if wanted > 28:
        wanted = min(wanted, days_in_month(year, month))
    return date(year, month, wanted)


def first_payment_date(today: date) -> date:
    """Without a start date the first payment falls on the first of next month."""
    return add_months(today.replace(day=1), 1)


def add_days(start: date, days: int) -> date:
    return start + timedelta(days=days)
