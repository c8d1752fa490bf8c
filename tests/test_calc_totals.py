"""Quotes read a schedule's totals instead of its rows: the same cents as the
printed schedule, the same APR as from every payment, the same insurance."""

from __future__ import annotations

from decimal import Decimal
from itertools import groupby

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.calculation.amortization import (
    BALANCE,
    INTEREST,
    PAYMENT,
    amortize,
    amortize_biweekly,
)
from actors.calculation.apr import mortgage_apr_runs
from actors.calculation.arm import amortize_arm, rate_path
from actors.calculation.insurance import (
    fha_mip,
    fha_premium_runs,
    pmi_months_of,
)
from actors.calculation.products import five_six_arm
from actors.calculation.totals import LoanTotals, biweekly_totals, loan_totals, with_premiums
from tests.schedule_oracles import fha_monthly_premiums, mortgage_apr, pmi_months

D = Decimal

principals = st.integers(min_value=1_000_00, max_value=3_000_000_00).map(lambda c: D(c) / 100)
rates = st.integers(min_value=0, max_value=15_000).map(lambda r: D(r) / 1000)
terms = st.integers(min_value=1, max_value=480)
extras = st.one_of(
    st.just(D(0)), st.integers(min_value=1, max_value=500_00).map(lambda c: D(c) / 100)
)


def runs_of(payments: list[Decimal]) -> tuple[tuple[Decimal, int], ...]:
    return tuple((amount, len(list(group))) for amount, group in groupby(payments))


def same_figures(totals: LoanTotals, rows: list[tuple[Decimal, ...]]) -> None:
    assert totals.payments == runs_of([row[PAYMENT] for row in rows])
    assert totals.balances == tuple(int(row[BALANCE] * 100) for row in rows)


@settings(max_examples=80, deadline=None)
@given(principals, rates, terms, extras)
def test_totals_are_the_schedules_cent_for_cent(
    p: Decimal, r: Decimal, n: int, extra: Decimal
) -> None:
    schedule = amortize(p, r, n, extra_monthly=extra)
    totals = loan_totals(p, r, n, extra_monthly=extra)
    assert str(totals.payment) == str(schedule.payment)
    assert str(totals.total_interest) == str(schedule.total_interest)
    assert totals.payoff_months == schedule.payoff_months
    same_figures(totals, schedule.rows)
    for months in (1, 12, 60, n):
        assert totals.interest_through(months) == sum(
            (row[INTEREST] for row in schedule.rows[:months]), D(0)
        )


@settings(max_examples=60, deadline=None)
@given(principals, rates, st.integers(min_value=12, max_value=480), extras)
def test_biweekly_totals_are_the_plans(p: Decimal, r: Decimal, n: int, extra: Decimal) -> None:
    plan = amortize_biweekly(p, r, n, extra_monthly=extra)
    totals = biweekly_totals(p, r, n, extra_monthly=extra)
    assert (totals.payment, totals.total_interest) == (plan.payment, plan.total_interest)
    assert totals.payoff_months == plan.payoff_months
    same_figures(totals, plan.rows)


@settings(max_examples=40, deadline=None)
@given(
    principals,
    rates.filter(lambda r: r > 0),
    st.integers(min_value=0, max_value=9_000).map(lambda r: D(r) / 1000),
)
def test_arm_totals_recast_like_the_schedule(p: Decimal, r: Decimal, index: Decimal) -> None:
    terms = five_six_arm(r)
    schedule = amortize_arm(p, 360, terms, current_index=index)
    path = rate_path(terms, 360, current_index=index)
    totals = loan_totals(p, r, 360, rate_changes=path)
    assert (totals.payment, totals.total_interest) == (schedule.payment, schedule.total_interest)
    same_figures(totals, schedule.rows)
    assert totals.paid_in(61) == schedule.rows[60][PAYMENT]


def test_rates_with_many_digits_still_give_the_schedules_cents() -> None:
    rate = D(20) / D(3)
    schedule = amortize(D("250000"), rate, 360)
    totals = loan_totals(D("250000"), rate, 360)
    assert (totals.payment, totals.total_interest) == (schedule.payment, schedule.total_interest)
    same_figures(totals, schedule.rows)


def test_apr_from_runs_is_the_apr_from_every_payment() -> None:
    schedule = amortize(D("300000"), D("6.875"), 360)
    payments = [row[PAYMENT] for row in schedule.rows]
    premiums = [D("120.50")] * 97
    with_insurance = [pay + premium for pay, premium in zip(payments, premiums, strict=False)]
    with_insurance += payments[len(premiums) :]
    runs = with_premiums(runs_of(payments), [(D("120.50"), 97)])
    assert tuple(runs) == runs_of(with_insurance)
    expected = mortgage_apr(D("294000"), with_insurance)
    for near in (None, D("6.875"), D("40")):
        found = mortgage_apr_runs(D("294000"), runs, near=near)
        assert (found.apr, found.apr_exact) == (expected.apr, expected.apr_exact)
    assert (expected.apr, expected.apr_exact) == (D("7.38"), D("7.379466"))


def test_insurance_from_totals_matches_insurance_from_the_schedule() -> None:
    schedule = amortize(D("386000"), D("6.25"), 360)
    totals = loan_totals(D("386000"), D("6.25"), 360)
    assert pmi_months_of(totals, D("400000")) == pmi_months(schedule, D("400000")) > 0
    assert pmi_months_of(totals, D("600000")) == pmi_months(schedule, D("600000")) == 0
    for value in (D("400000"), D("420000")):
        mip = fha_mip(D("386000"), value, 360)
        premiums = fha_monthly_premiums(schedule, mip)
        assert tuple(fha_premium_runs(totals, mip)) == runs_of(premiums)


@settings(max_examples=60, deadline=None)
@given(
    principals,
    rates.filter(lambda r: r > 0),
    st.sampled_from([180, 240, 360]),
    st.integers(min_value=70, max_value=100),
)
def test_pmi_ends_in_the_same_month_from_totals(
    p: Decimal, r: Decimal, n: int, ltv_percent: int
) -> None:
    value = (p * 100 / ltv_percent).quantize(D("0.01"))
    schedule = amortize(p, r, n)
    assert pmi_months_of(loan_totals(p, r, n), value) == pmi_months(schedule, value)
