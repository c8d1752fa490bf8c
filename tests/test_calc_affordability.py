"""Affordability from income and debts, refinance break-even and the
break-even of buying the rate down with points."""

from __future__ import annotations

from decimal import Decimal

from actors.calculation.affordability import affordability
from actors.calculation.amortization import level_payment
from actors.calculation.products import DtiLimits
from actors.calculation.refinance import break_even_month, points_break_even, refinance

D = Decimal


def test_front_end_ratio_limits_a_buyer_with_few_debts() -> None:
    result = affordability(D("120000"), D("500"), D("60000"), D("6.5"))
    assert result.limited_by == "front_dti"
    assert result.max_housing_payment == D("2800.00")  # 28% of 10,000
    assert result.housing.total <= D("2800.00")
    assert result.max_price == D("401478.00")
    assert result.max_loan == result.max_price - D("60000")
    assert result.housing.principal_interest == level_payment(result.max_loan, D("6.5"), 360)
    assert result.housing.mortgage_insurance > 0  # 85% LTV carries PMI


def test_one_more_dollar_would_break_the_limit() -> None:
    at_limit = affordability(D("120000"), D("500"), D("60000"), D("6.5"))
    cheaper_rate = affordability(D("120000"), D("500"), D("60000"), D("6.25"))
    assert cheaper_rate.max_price > at_limit.max_price


def test_back_end_ratio_limits_a_buyer_with_debts() -> None:
    result = affordability(D("120000"), D("1500"), D("60000"), D("6.5"))
    assert result.limited_by == "back_dti"
    assert result.max_housing_payment == D("2100.00")  # 36% of 10,000 − 1,500
    assert result.back_dti <= D("36.00")


def test_fha_allows_more_than_conventional_for_the_same_buyer() -> None:
    conventional = affordability(D("90000"), D("800"), D("20000"), D("6.5"))
    fha = affordability(D("90000"), D("800"), D("20000"), D("6.5"), program="fha")
    assert fha.limits == DtiLimits(D(31), D(43))
    assert fha.max_price > conventional.max_price


def test_small_down_payment_caps_the_price() -> None:
    result = affordability(D("250000"), D("0"), D("10000"), D("6.5"))
    assert result.limited_by == "down_payment"
    assert result.max_price == D("200000.00")  # 5% down
    first_time = affordability(D("250000"), D("0"), D("10000"), D("6.5"), first_time_buyer=True)
    assert first_time.max_price == D("333333.00")  # 3% down


def test_configured_limits_change_the_answer() -> None:
    strict = affordability(D("120000"), D("0"), D("100000"), D("6.5"))
    loose = affordability(
        D("120000"), D("0"), D("100000"), D("6.5"), limits=DtiLimits(D(36), D(45))
    )
    assert loose.max_price > strict.max_price


def test_refinance_savings_break_even_and_lifetime_interest() -> None:
    result = refinance(D("300000"), D("7.5"), 336, D("6.0"), 360, closing_costs=D("6000"))
    assert result.current_payment == level_payment(D("300000"), D("7.5"), 336)
    assert result.new_payment == D("1798.65")
    assert result.monthly_savings == result.current_payment - result.new_payment
    assert result.break_even_month == 18  # 6,000 / 339.95 = 17.6
    assert result.lifetime_interest_difference == (
        result.current_remaining_interest - result.new_total_interest
    )
    assert result.cash_at_closing == D("6000.00")


def test_refinance_that_raises_the_payment_never_breaks_even() -> None:
    result = refinance(D("200000"), D("5"), 240, D("6"), 360, closing_costs=D("4000"))
    assert result.monthly_savings > 0  # a longer term lowers the payment...
    assert result.lifetime_interest_difference < 0  # ...but costs more interest
    shorter = refinance(D("200000"), D("5"), 240, D("6"), 180, closing_costs=D("4000"))
    assert shorter.monthly_savings < 0
    assert shorter.break_even_month is None


def test_financed_closing_costs_raise_the_new_loan() -> None:
    result = refinance(
        D("300000"),
        D("7.5"),
        336,
        D("6.0"),
        360,
        closing_costs=D("6000"),
        points=D(1),
        finance_costs=True,
    )
    assert result.points_cost == D("3000.00")
    assert result.new_loan_amount == D("309000.00")
    assert result.cash_at_closing == 0


def test_points_break_even_month() -> None:
    result = points_break_even(D("400000"), 360, D("6.75"), D("6.5"), D(1))
    assert result.cost == D("4000.00")
    assert result.monthly_savings == result.payment_without_points - result.payment_with_points
    assert (result.payment_without_points, result.payment_with_points) == (
        D("2594.39"),
        D("2528.27"),
    )
    assert result.monthly_savings == D("66.12")
    assert result.break_even_month == 61  # 4,000 / 66.12 = 60.5
    assert result.interest_saved > result.cost


def test_break_even_edges() -> None:
    assert break_even_month(D("0"), D("10")) == 0
    assert break_even_month(D("100"), D("0")) is None
    assert break_even_month(D("100"), D("100")) == 1
    assert break_even_month(D("100.01"), D("100")) == 2
