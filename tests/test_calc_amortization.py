"""Fixed-rate schedules: the disclosure anchor, the rounding rules, extra
payments, biweekly plans, interest-only periods and balloons."""

from __future__ import annotations

from decimal import Decimal

import mortgagemath
import numpy_financial as npf
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.calculation.amortization import (
    BALANCE,
    INTEREST,
    PAYMENT,
    PRINCIPAL,
    amortize,
    amortize_biweekly,
    level_payment,
    payment_exact,
    savings,
)

D = Decimal

principals = st.integers(min_value=1_000_00, max_value=3_000_000_00).map(lambda c: D(c) / 100)
rates = st.integers(min_value=0, max_value=15_000).map(lambda r: D(r) / 1000)
terms = st.integers(min_value=12, max_value=480)


def test_anchor_200k_at_6_5_for_30_years() -> None:
    schedule = amortize(D("200000"), D("6.5"), 360)
    first = schedule.rows[0]
    assert schedule.payment == D("1264.14")
    assert (first[INTEREST], first[PRINCIPAL], first[BALANCE]) == (
        D("1083.33"),
        D("180.81"),
        D("199819.19"),
    )
    assert len(schedule.rows) == 360
    assert str(schedule.rows[-1][BALANCE]) == "0.00"
    assert schedule.rows[-1][PAYMENT] == D("1259.56")
    assert schedule.total_interest == D("255085.82")
    assert schedule.total_paid == D("455085.82")


def test_matches_mortgagemath_row_for_row() -> None:
    loan = mortgagemath.fixed_rate_mortgage(
        "350000", "7.125", 30, payment_rounding=mortgagemath.PaymentRounding.ROUND_HALF_UP
    )
    theirs = mortgagemath.amortization_schedule(loan)[1:]
    ours = amortize(D("350000"), D("7.125"), 360).rows
    assert [(r[PAYMENT], r[INTEREST], r[PRINCIPAL], r[BALANCE]) for r in ours] == [
        (i.payment, i.interest, i.principal, i.balance) for i in theirs
    ]


def test_zero_rate_splits_principal_evenly_and_last_payment_absorbs_the_cents() -> None:
    schedule = amortize(D("1000"), D("0"), 3)
    assert [r[PAYMENT] for r in schedule.rows] == [D("333.33"), D("333.33"), D("333.34")]
    assert schedule.total_interest == 0


@settings(max_examples=150, deadline=None)
@given(principals, rates, terms)
def test_payment_is_within_half_a_cent_of_numpy_financial(p: Decimal, r: Decimal, n: int) -> None:
    expected = -npf.pmt(float(r) / 1200, n, float(p)) if r else float(p) / n
    assert abs(float(payment_exact(p, r, n)) - expected) < 1e-6 * max(1.0, expected)
    assert abs(float(level_payment(p, r, n)) - expected) <= 0.005 + 1e-9


@settings(max_examples=150, deadline=None)
@given(principals, rates, terms)
def test_schedule_repays_exactly_the_loan(p: Decimal, r: Decimal, n: int) -> None:
    schedule = amortize(p, r, n)
    assert sum((row[PRINCIPAL] for row in schedule.rows), D(0)) == p
    assert str(schedule.rows[-1][BALANCE]) == "0.00"
    assert all(row[PAYMENT] == row[PRINCIPAL] + row[INTEREST] for row in schedule.rows)
    assert schedule.total_paid == p + schedule.total_interest
    assert len(schedule.rows) <= n


@settings(max_examples=100, deadline=None)
@given(
    principals,
    rates.filter(lambda r: r > 0),
    terms,
    st.integers(min_value=0, max_value=2_000_00),
    st.integers(min_value=1, max_value=2_000_00),
)
def test_more_extra_payment_never_means_more_interest(
    p: Decimal, r: Decimal, n: int, extra_cents: int, more_cents: int
) -> None:
    less = amortize(p, r, n, extra_monthly=D(extra_cents) / 100)
    more = amortize(p, r, n, extra_monthly=D(extra_cents + more_cents) / 100)
    assert more.total_interest <= less.total_interest
    assert more.payoff_months <= less.payoff_months
    assert str(more.rows[-1][BALANCE]) == "0.00"


def test_extra_monthly_and_lump_sum_save_months_and_interest() -> None:
    plain = amortize(D("200000"), D("6.5"), 360)
    faster = amortize(D("200000"), D("6.5"), 360, extra_monthly=D("100"), lump_sums={12: D("5000")})
    assert faster.rows[11][PAYMENT] == D("1264.14") + D("100") + D("5000")
    assert faster.rows[11][PRINCIPAL] == faster.rows[11][PAYMENT] - faster.rows[11][INTEREST]
    saved = savings(plain, faster)
    assert saved.months_saved == 83
    assert saved.interest_saved == D("72797.38")
    assert sum((row[PRINCIPAL] for row in faster.rows), D(0)) == D("200000")


def test_a_lump_sum_larger_than_the_balance_pays_off_the_loan_that_month() -> None:
    schedule = amortize(D("10000"), D("5"), 60, lump_sums={3: D("50000")})
    assert len(schedule.rows) == 3
    last = schedule.rows[-1]
    assert last[PAYMENT] == last[PRINCIPAL] + last[INTEREST]
    assert str(last[BALANCE]) == "0.00"


def test_biweekly_pays_26_half_payments_a_year_and_finishes_years_early() -> None:
    plain = amortize(D("200000"), D("6.5"), 360)
    biweekly = amortize_biweekly(D("200000"), D("6.5"), 360)
    assert biweekly.payment == D("632.07")
    assert biweekly.periods_per_year == 26
    first = biweekly.rows[0]
    assert first[INTEREST] == D("500.00")
    assert first[PRINCIPAL] == D("132.07")
    assert str(biweekly.rows[-1][BALANCE]) == "0.00"
    saved = savings(plain, biweekly)
    assert 60 <= saved.months_saved <= 84
    assert saved.interest_saved > D("50000")


def test_interest_only_period_then_reamortizes_over_the_rest_of_the_term() -> None:
    schedule = amortize(D("300000"), D("6"), 360, interest_only_months=120)
    assert schedule.payment == D("1500.00")
    assert all(row[PRINCIPAL] == 0 for row in schedule.rows[:120])
    assert schedule.rows[119][BALANCE] == D("300000.00")
    assert schedule.amortizing_payment == level_payment(D("300000"), D("6"), 240)
    assert schedule.rows[120][PAYMENT] == schedule.amortizing_payment
    assert len(schedule.rows) == 360
    assert str(schedule.rows[-1][BALANCE]) == "0.00"


def test_balloon_repays_the_remaining_balance_with_the_last_payment() -> None:
    full = amortize(D("250000"), D("7"), 360)
    balloon = amortize(D("250000"), D("7"), 360, balloon_months=84)
    assert balloon.payment == full.payment
    assert len(balloon.rows) == 84
    assert balloon.balloon_payment == full.rows[83][BALANCE] + full.payment
    assert balloon.rows[-1][PAYMENT] == balloon.balloon_payment
    assert str(balloon.rows[-1][BALANCE]) == "0.00"
