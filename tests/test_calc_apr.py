"""APR by Regulation Z Appendix J: the appendix's own examples, every unit
period, odd first periods and odd payments, and fees on a mortgage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from actors.calculation.amortization import PAYMENT, amortize
from actors.calculation.apr import (
    FOUR_WEEKS,
    MONTH,
    QUARTER,
    SEMIMONTH,
    TWO_MONTHS,
    TWO_WEEKS,
    UNIT_FOR_FREQUENCY,
    WEEK,
    YEAR,
    Frequency,
    amount_financed,
    apr_from_dates,
    months_back,
    payment_dates,
    place,
    unit_period_for,
)
from tests.schedule_oracles import mortgage_apr

D = Decimal


def dated(amount: str, first: date, count: int, frequency: Frequency) -> list[tuple[Decimal, date]]:
    return [(D(amount), when) for when in payment_dates(first, count, frequency)]


def test_appendix_j_regular_monthly_loan() -> None:
    result = apr_from_dates(
        [(D("5000.00"), date(1978, 1, 10))],
        dated("230.00", date(1978, 2, 10), 24, "monthly"),
        MONTH,
    )
    assert result.apr == D("9.69")
    assert result.unit_period == "month"
    assert result.unit_periods_per_year == 12


def test_appendix_j_odd_final_payment() -> None:
    payments = [
        *dated("230.00", date(1978, 2, 10), 23, "monthly"),
        (D("280.00"), date(1980, 1, 10)),
    ]
    result = apr_from_dates([(D("5000.00"), date(1978, 1, 10))], payments, MONTH)
    assert result.apr == D("10.50")


def test_appendix_j_single_advance_single_payment() -> None:
    result = apr_from_dates([(D("1000.00"), date(1978, 1, 3))], [(D("1080.00"), date(1978, 9, 15))])
    assert result.apr == D("11.45")
    assert result.unit_period == "single_payment"
    assert result.unit_periods_per_year * 255 == pytest.approx(D(365), abs=D("1E-20"))


def test_single_payment_in_whole_months_uses_twelve_over_the_months() -> None:
    result = apr_from_dates([(D("1000"), date(2024, 1, 15))], [(D("1030"), date(2024, 7, 15))])
    assert result.unit_periods_per_year == 2
    assert result.apr == D("6.00")


def test_single_payment_over_a_year_uses_the_year_unit() -> None:
    result = apr_from_dates([(D("1000"), date(2020, 1, 1))], [(D("1210"), date(2022, 1, 1))])
    assert result.unit_period == "year"
    assert result.apr == D("10.00")


def _annuity(amount: Decimal, rate_per_unit: Decimal, count: int) -> Decimal:
    factor = (1 + rate_per_unit) ** count
    return (amount * rate_per_unit * factor / (factor - 1)).quantize(D("0.01"))


@pytest.mark.parametrize(
    ("frequency", "advance", "first"),
    [
        ("monthly", date(2024, 1, 29), date(2024, 2, 29)),
        ("semimonthly", date(2024, 1, 17), date(2024, 2, 1)),
        ("bimonthly", date(2024, 1, 5), date(2024, 3, 5)),
        ("quarterly", date(2024, 1, 5), date(2024, 4, 5)),
        ("annually", date(2024, 1, 5), date(2025, 1, 5)),
        ("weekly", date(2024, 1, 5), date(2024, 1, 12)),
        ("biweekly", date(2024, 1, 5), date(2024, 1, 19)),
        ("fourweekly", date(2024, 1, 5), date(2024, 2, 2)),
    ],
)
def test_every_unit_period_recovers_the_rate_a_schedule_was_built_at(
    frequency: Frequency, advance: date, first: date
) -> None:
    unit = UNIT_FOR_FREQUENCY[frequency]
    count = int(unit.per_year) * 3
    payment = _annuity(D(10000), D("0.09") / unit.per_year, count)
    result = apr_from_dates(
        [(D(10000), advance)], dated(str(payment), first, count, frequency), unit
    )
    assert result.apr == D("9.00")
    assert result.unit_periods_per_year == unit.per_year


def _days(placed: tuple[int, Decimal], denominator: int) -> tuple[int, int]:
    whole, fraction = placed
    return whole, int((fraction * denominator).to_integral_value())


def test_fractions_use_the_fixed_denominators() -> None:
    start = date(2024, 1, 10)
    assert _days(place(start, date(2024, 3, 25), MONTH), 30) == (2, 15)
    assert _days(place(start, date(2024, 2, 4), SEMIMONTH), 15) == (1, 10)
    assert _days(place(start, date(2024, 5, 20), QUARTER), 90) == (1, 40)
    assert _days(place(start, date(2024, 4, 20), TWO_MONTHS), 60) == (1, 40)
    assert _days(place(start, date(2024, 1, 20), WEEK), 7) == (1, 3)
    assert _days(place(start, date(2024, 2, 1), TWO_WEEKS), 14) == (1, 8)
    assert _days(place(start, date(2024, 3, 1), FOUR_WEEKS), 28) == (1, 23)
    assert _days(place(start, date(2025, 4, 10), YEAR), 12) == (1, 3)
    assert _days(place(start, date(2025, 4, 20), YEAR), 365) == (1, 101)


def test_months_are_counted_back_from_the_later_date_all_months_equal() -> None:
    assert months_back(date(2024, 1, 10), date(2024, 3, 25)) == (2, 15)
    assert months_back(date(2024, 1, 31), date(2024, 2, 29)) == (1, 0)
    assert months_back(date(2024, 1, 25), date(2024, 3, 10)) == (1, 16)


Placed = list[tuple[Decimal, int, Decimal]]


def _equation_rate(advance: Decimal | Placed, flows: Placed) -> float:
    """Appendix J's general equation solved by plain bisection, in floats."""
    advances = [(advance, 0, D(0))] if isinstance(advance, Decimal) else advance

    def present(placed: Placed, i: float) -> float:
        return sum(float(a) / ((1 + float(f) * i) * (1 + i) ** t) for a, t, f in placed)

    low, high = 0.0, 1.0
    for _ in range(200):
        i = (low + high) / 2
        too_low = present(flows, i) > present(advances, i)
        low, high = (i, high) if too_low else (low, i)
    return low


def test_odd_first_period_matches_the_general_equation() -> None:
    advance = date(2024, 1, 10)
    payments = dated("200.00", date(2024, 3, 1), 36, "monthly")
    result = apr_from_dates([(D("6000"), advance)], payments, MONTH)
    flows = [(p, *place(advance, d, MONTH)) for p, d in payments]
    assert _days(flows[0][1:], 30) == (1, 22)
    expected = D(str(_equation_rate(D("6000"), flows) * 1200)).quantize(D("0.01"))
    assert result.apr == expected
    regular = apr_from_dates(
        [(D("6000"), advance)], dated("200.00", date(2024, 2, 10), 36, "monthly"), MONTH
    )
    assert result.apr < regular.apr  # a longer first period costs the lender time


def test_odd_first_payment_is_part_of_the_regular_schedule() -> None:
    advance = date(2024, 1, 10)
    payments = [
        (D("350.00"), date(2024, 2, 10)),
        *dated("200.00", date(2024, 3, 10), 35, "monthly"),
    ]
    result = apr_from_dates([(D("6000"), advance)], payments, MONTH)
    flows = [(p, *place(advance, d, MONTH)) for p, d in payments]
    expected = D(str(_equation_rate(D("6000"), flows) * 1200)).quantize(D("0.01"))
    assert result.apr == expected


def test_multiple_advances_are_discounted_from_the_first() -> None:
    advances = [(D("5000"), date(2024, 1, 1)), (D("5000"), date(2024, 4, 16))]
    payments = dated("460.00", date(2024, 7, 1), 24, "monthly")
    result = apr_from_dates(advances, payments, MONTH)
    start = advances[0][1]
    placed_advances = [(a, *place(start, d, MONTH)) for a, d in advances]
    assert _days(placed_advances[1][1:], 30) == (3, 15)
    flows = [(p, *place(start, d, MONTH)) for p, d in payments]
    expected = D(str(_equation_rate(placed_advances, flows) * 1200)).quantize(D("0.01"))
    assert result.apr == expected


def test_unit_period_is_the_most_frequent_interval_shorter_on_a_tie() -> None:
    assert unit_period_for([("monthly", 23), ("single", 1)], []) is MONTH
    assert unit_period_for([("monthly", 10), ("weekly", 10)], []) is WEEK
    assert unit_period_for([("quarterly", 3), ("monthly", 2)], []) is QUARTER
    singles = [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 2)]
    assert unit_period_for([("single", 1)] * 3, singles) is MONTH


def test_semimonthly_pays_on_the_day_and_fifteen_days_later() -> None:
    dates = payment_dates(date(2024, 1, 1), 5, "semimonthly")
    assert dates == [
        date(2024, 1, 1),
        date(2024, 1, 16),
        date(2024, 2, 1),
        date(2024, 2, 16),
        date(2024, 3, 1),
    ]


def test_mortgage_without_fees_discloses_the_note_rate() -> None:
    schedule = amortize(D("200000"), D("6.5"), 360)
    result = mortgage_apr(D("200000"), [row[PAYMENT] for row in schedule.rows])
    assert result.apr == D("6.50")


def test_points_and_fees_raise_the_apr_above_the_note_rate() -> None:
    schedule = amortize(D("200000"), D("6.5"), 360)
    payments = [row[PAYMENT] for row in schedule.rows]
    financed = amount_financed(D("200000"), points=D("4000"), prepaid_finance_charges=D("1500"))
    assert financed == D("194500")
    result = mortgage_apr(financed, payments)
    assert result.apr > D("6.50")
    assert result.apr == D("6.77")


def test_long_first_period_lowers_a_mortgage_apr() -> None:
    schedule = amortize(D("200000"), D("6.5"), 360)
    payments = [row[PAYMENT] for row in schedule.rows]
    assert (
        mortgage_apr(D("196000"), payments, odd_days=15).apr
        < mortgage_apr(D("196000"), payments).apr
    )
