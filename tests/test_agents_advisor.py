"""The built-in mortgage advisor: each recommendation appears exactly when
its condition holds, and every figure in it is the calculation engine's."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, Decimal
from typing import Any

from actors.agents.advisor import MortgageAdvisor
from actors.agents.figures import numbers_in
from actors.agents.wording import rate, usd
from actors.calculation.affordability import affordability
from actors.calculation.amortization import (
    BALANCE,
    PAYMENT,
    RATE,
    amortize,
    amortize_biweekly,
    savings,
)
from actors.calculation.arm import amortize_arm
from actors.calculation.insurance import fha_mip
from actors.calculation.money import add_months
from actors.calculation.products import five_six_arm
from actors.calculation.quote import ProductQuote, quote_options
from actors.calculation.refinance import points_break_even
from protocols.api.agents import AdvisorOutput, Recommendation
from tests.schedule_oracles import pmi_months

D = Decimal
ADVISOR = MortgageAdvisor()
# 20% down and a top credit score: nothing is wrong, only habits can help.
CALM: dict[str, Any] = {
    "price": "400000",
    "down_payment": "80000",
    "credit_score": 790,
    "state": "CA",
    "market_rates": {"30y_fixed": "6.5", "15y_fixed": "5.75"},
}


def advise(**changes: Any) -> dict[str, Recommendation]:
    output = ADVISOR.builtin(ADVISOR.parse({**CALM, **changes}))
    assert 3 <= len(output.recommendations) <= 6
    return {r.kind: r for r in output.recommendations}


def quotes(**changes: Any) -> dict[str, ProductQuote]:
    """The engine's own quotes for the same calculation."""
    d = ADVISOR.parse({**CALM, **changes})
    found = quote_options(
        d.price,
        d.down_payment,
        d.credit_score,
        d.state,
        dict(d.market_rates),
        annual_income=d.annual_income,
        monthly_debts=d.monthly_debts or D(0),
        points=d.points,
    )
    return {q.product: q for q in found}


def impact(rec: Recommendation) -> tuple[Decimal, Decimal]:
    return D(rec.impact.monthly), D(rec.impact.lifetime)


def quoted(rec: Recommendation) -> set[Decimal]:
    return {abs(n).normalize() for n in numbers_in(f"{rec.title} {rec.detail}")}


def figures(*values: Decimal | int) -> set[Decimal]:
    return {abs(D(v)).normalize() for v in values}


def test_a_calm_calculation_gets_only_the_habits_that_always_help() -> None:
    advice = advise()
    assert list(advice) == ["shorter_term", "extra_payment", "biweekly"]

    q = quotes()["30y_fixed"]
    schedule = amortize(q.loan_amount, q.rate, 360)
    target = (q.payment / 100).to_integral_value(ROUND_CEILING) * 100
    if target - q.payment < 50:
        target += 100
    gained = savings(
        schedule, amortize(q.loan_amount, q.rate, 360, extra_monthly=target - q.payment)
    )
    assert impact(advice["extra_payment"]) == (q.payment - target, gained.interest_saved)
    assert figures(target, q.payment, gained.months_saved) <= quoted(advice["extra_payment"])

    plan = amortize_biweekly(q.loan_amount, q.rate, 360)
    every_two_weeks = savings(schedule, plan)
    assert impact(advice["biweekly"])[1] == every_two_weeks.interest_saved
    assert figures(plan.payment, every_two_weeks.months_saved) <= quoted(advice["biweekly"])


def test_a_30_year_loan_is_compared_with_15_years_and_a_15_year_with_30() -> None:
    q = quotes()
    thirty, fifteen = q["30y_fixed"], q["15y_fixed"]
    shorter = advise()["shorter_term"]
    assert impact(shorter) == (
        thirty.payment - fifteen.payment,
        thirty.total_interest - fifteen.total_interest,
    )
    assert figures(fifteen.payment, thirty.payment, fifteen.total_interest) <= quoted(shorter)

    chosen_15 = advise(product="15y_fixed")
    assert "shorter_term" not in chosen_15
    assert impact(chosen_15["longer_term"]) == (
        fifteen.payment - thirty.payment,
        fifteen.total_interest - thirty.total_interest,
    )
    assert "longer_term" not in advise()


def test_pmi_advice_appears_only_above_80_percent_ltv_on_conventional_loans() -> None:
    assert "remove_pmi" not in advise()  # 20% down
    advice = advise(down_payment="40000")
    rec = advice["remove_pmi"]
    small, twenty = quotes(down_payment="40000")["30y_fixed"], quotes()["30y_fixed"]
    months = pmi_months(amortize(small.loan_amount, small.rate, 360), D(400000))
    premiums = small.pmi_monthly * months
    assert impact(rec) == (
        small.piti - twenty.piti,
        premiums + small.total_interest - twenty.total_interest,
    )
    assert figures(40000, small.pmi_monthly, months, premiums, small.piti, twenty.piti) <= quoted(
        rec
    )

    fha = advise(
        down_payment="40000",
        product="fha_30",
        market_rates={**CALM["market_rates"], "fha_30": "6.25"},
    )
    assert "remove_pmi" not in fha  # FHA carries MIP, which a larger down payment does not end


def test_points_break_even_against_the_expected_stay() -> None:
    assert "points_break_even" not in advise()
    q, par = quotes(points="1")["30y_fixed"], quotes()["30y_fixed"]
    found = points_break_even(q.loan_amount, 360, par.rate, q.rate, D(1))
    assert found.break_even_month is not None

    short_stay = advise(points="1", years_in_home=3)["points_break_even"]
    long_stay = advise(points="1", years_in_home=10)["points_break_even"]
    assert 36 < found.break_even_month <= 120
    assert "would not pay off" in short_stay.detail and D(short_stay.impact.lifetime) < 0
    assert "pay off:" in long_stay.detail and D(long_stay.impact.lifetime) > 0
    for rec in (short_stay, long_stay):
        assert D(rec.impact.monthly) == found.monthly_savings
        assert figures(found.cost, found.monthly_savings, found.break_even_month) <= quoted(rec)


def test_the_arm_is_shown_at_its_caps_whenever_it_is_offered() -> None:
    assert "arm_caps" not in advise()
    rec = advise(market_rates={**CALM["market_rates"], "5_6_arm": "6.0"})["arm_caps"]
    arm = quotes(market_rates={**CALM["market_rates"], "5_6_arm": "6.0"})["5_6_arm"]
    terms = five_six_arm(arm.rate)
    worst = amortize_arm(arm.loan_amount, 360, terms, current_index=D(99))
    first_change = worst.rows[60]
    at_ceiling = next(r for r in worst.rows if r[RATE] == arm.rate + 5)
    assert first_change[RATE] == arm.rate + 2
    assert impact(rec) == (
        arm.payment - at_ceiling[PAYMENT],
        arm.total_interest - worst.total_interest,
    )
    assert figures(arm.payment, first_change[PAYMENT], at_ceiling[PAYMENT]) <= quoted(rec)


def test_debt_to_income_over_the_limit_names_the_price_that_fits() -> None:
    assert "dti_limit" not in advise(annual_income="250000", monthly_debts="500")
    rec = advise(annual_income="90000", monthly_debts="500")["dti_limit"]
    q = quotes(annual_income="90000", monthly_debts="500")["30y_fixed"]
    fits = affordability(
        D(90000), D(500), D(80000), q.rate, credit_score=790, property_tax_rate=D("1.10")
    )
    assert not q.eligible and "28%" in (q.reason or "")
    assert D(rec.impact.monthly) == q.piti - fits.housing.total
    assert figures(fits.max_price, fits.housing.total, q.piti, 28) <= quoted(rec)
    assert next(iter(advise(annual_income="90000", monthly_debts="500"))) == "dti_limit"


def test_a_rate_lock_reminder_follows_a_market_move_of_an_eighth_or_more() -> None:
    assert "rate_lock" not in advise(previous_rates={"30y_fixed": "6.45"})
    rose = advise(previous_rates={"30y_fixed": "6.25"})["rate_lock"]
    fell = advise(previous_rates={"30y_fixed": "6.75"})["rate_lock"]
    now = quotes()["30y_fixed"]
    before = quotes(market_rates={**CALM["market_rates"], "30y_fixed": "6.25"})["30y_fixed"]
    assert "rose" in rose.title and "fell" in fell.title
    assert impact(rose) == (
        before.payment - now.payment,
        before.total_interest - now.total_interest,
    )
    assert D(rose.impact.monthly) < 0 < D(fell.impact.monthly)
    assert figures(D("6.25"), D("6.5")) <= quoted(rose)


def test_a_credit_score_short_of_the_next_price_band_is_worth_raising() -> None:
    assert "credit_score" not in advise()  # 790 is the best band
    rec = advise(credit_score=725)["credit_score"]
    at_725 = quotes(credit_score=725)["30y_fixed"]
    at_740 = quotes(credit_score=740)["30y_fixed"]
    assert impact(rec) == (
        at_725.piti - at_740.piti,
        at_725.total_interest - at_740.total_interest,
    )
    assert figures(740, at_725.piti, at_740.piti, at_725.llpa_points) <= quoted(rec)
    assert "credit_score" not in advise(credit_score=725, product="15y_fixed")  # no LLPA


def test_when_everything_applies_the_six_most_pressing_are_shown_in_order() -> None:
    busy = advise(
        down_payment="40000",
        credit_score=725,
        points="1",
        annual_income="90000",
        monthly_debts="500",
        previous_rates={"30y_fixed": "6.25"},
        market_rates={**CALM["market_rates"], "5_6_arm": "6.0"},
    )
    assert list(busy) == [
        "dti_limit",
        "rate_lock",
        "remove_pmi",
        "points_break_even",
        "credit_score",
        "arm_caps",
    ]


def test_different_buyers_get_different_advice() -> None:
    first = advise(down_payment="40000")
    second = advise(down_payment="60000")
    assert first["remove_pmi"] != second["remove_pmi"]
    assert impact(first["remove_pmi"]) != impact(second["remove_pmi"])


def test_the_advisor_takes_the_quotes_its_calculation_priced() -> None:
    """Handed the calculation's quotes, the advisor says the same as when it
    prices everything itself, and shows the very quotes it was handed."""
    changes = {"down_payment": "45000", "price": "450000", "credit_score": 700}
    priced = quotes(**changes)
    data = ADVISOR.parse({**CALM, **changes})

    handed, handed_facts = ADVISOR.solve(data, {"30y_fixed": priced["30y_fixed"]})
    alone, _ = ADVISOR.solve(data)

    assert handed == alone
    assert handed_facts["chosen_quote"]["piti"] == str(priced["30y_fixed"].piti)


# -- what a loan officer would never leave out ------------------------------------------

TODAY = dt.date(2026, 12, 6)  # first payment 2027-01-01
DATED = MortgageAdvisor(today=lambda: TODAY)
MARKET = {"30y_fixed": "6.375", "15y_fixed": "5.625", "fha_30": "6.125", "jumbo_30": "6.5"}
TEN_PERCENT_DOWN = {"price": "450000", "down_payment": "45000", "credit_score": 700}


def dated_advice(**changes: Any) -> dict[str, Recommendation]:
    data = DATED.parse({**CALM, "market_rates": MARKET, **changes})
    return {r.kind: r for r in DATED.builtin(data).recommendations}


def first_payment_at(schedule: Any, value: Decimal) -> int:
    return next(row[0] for row in schedule.rows if row[BALANCE] <= value)


def month_of(payment: int) -> str:
    return add_months(dt.date(2027, 1, 1), payment - 1).strftime("%B %Y")


def test_under_20_percent_down_the_advice_explains_mortgage_insurance() -> None:
    rec = dated_advice(**TEN_PERCENT_DOWN)["remove_pmi"]
    engine = quotes(market_rates=MARKET, **TEN_PERCENT_DOWN)
    q, fha = engine["30y_fixed"], engine["fha_30"]
    schedule = amortize(q.loan_amount, q.rate, 360)
    automatic = first_payment_at(schedule, D("351000"))  # 78% of the price
    on_request = first_payment_at(schedule, D("360000"))  # 80%
    mip = fha_mip(D("405000"), D("450000"), 360)
    text = f"{rec.title} {rec.detail}"

    assert q.pmi_monthly == D("263.25")
    assert f"adds {usd(q.pmi_monthly)} a month" in rec.title
    assert "$45,000.00 more down avoids it" in rec.title
    assert "With $90,000.00 down (20%) there is none" in rec.detail
    assert f"after payment {automatic} ({month_of(automatic)})" in rec.detail
    assert f"{usd(q.pmi_monthly * automatic)} in all" in rec.detail
    assert f"from payment {on_request} ({month_of(on_request)})" in rec.detail
    assert "$351,000.00, 78% of the original value" in rec.detail
    assert "$360,000.00 (80%)" in rec.detail
    assert f"FHA at {rate(fha.rate)}" in rec.detail
    assert f"{usd(fha.pmi_monthly)} a month for {mip.months} months" in rec.detail
    assert f"plus {usd(mip.upfront)} upfront" in rec.detail
    assert f"{usd(fha.piti)} a month against {usd(q.piti)}" in rec.detail
    assert "mortgage insurance" in text.lower()


def test_a_model_answer_that_drops_mortgage_insurance_is_refused() -> None:
    data = DATED.parse({**CALM, "market_rates": MARKET, **TEN_PERCENT_DOWN})
    answer, facts = DATED.solve(data)
    without = AdvisorOutput(
        recommendations=[r for r in answer.recommendations if r.kind != "remove_pmi"]
    )

    assert DATED.check(data, answer, facts) is None
    assert DATED.check(data, without, facts) == "figure check: the answer leaves out remove_pmi"


def test_debt_to_income_near_a_limit_says_how_much_room_is_left() -> None:
    near = dated_advice(**TEN_PERCENT_DOWN, annual_income="150000", monthly_debts="800")
    q = quotes(market_rates=MARKET, **TEN_PERCENT_DOWN, annual_income="150000")["30y_fixed"]
    rec = near["dti_limit"]

    assert q.eligible  # within the limits, so the over-limit advice would say nothing
    assert "close to the 28% limit" in rec.title
    assert f"{usd(D(3500) - q.piti)} a month more" in rec.detail  # 28% of $12,500 a month
    assert "27.3% of income" in rec.detail  # 3,417.15 of 12,500.00
    assert "dti_limit" not in dated_advice(**TEN_PERCENT_DOWN, annual_income="250000")


def test_a_loan_just_over_the_conforming_limit_names_the_down_payment_that_keeps_it() -> None:
    buyer = {"price": "900000", "down_payment": "60000", "credit_score": 760}
    rec = dated_advice(**buyer)["jumbo_threshold"]
    jumbo = quotes(market_rates=MARKET, **buyer)["jumbo_30"]
    conforming = quotes(market_rates=MARKET, **{**buyer, "down_payment": "67250"})["30y_fixed"]

    assert rec.title == "$7,250.00 more down keeps the loan conforming"  # 840,000 - 832,750
    assert f"jumbo at {rate(jumbo.rate)} costs {usd(jumbo.piti)} a month" in rec.detail
    assert f"fixed at {rate(conforming.rate)} costs {usd(conforming.piti)}" in rec.detail
    assert impact(rec) == (
        jumbo.piti - conforming.piti,
        jumbo.total_interest - conforming.total_interest,
    )
    assert "jumbo_threshold" not in dated_advice(**{**buyer, "price": "1000000"})  # 13% over
    assert "jumbo_threshold" not in dated_advice(**{**buyer, "down_payment": "80000"})
