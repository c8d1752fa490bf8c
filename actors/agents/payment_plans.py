"""The built-in advisor's rules about ways of paying the loan: a shorter or
longer term, an ARM's caps, extra and biweekly payments.

Like the rules in actors.agents.advice (which lists these among all rules in
the order shown), each compares engine results for the same buyer and words
the difference; no figure is computed here.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_FLOOR, Decimal, localcontext

from actors.agents.situation import Situation
from actors.agents.wording import months, rate, recommendation, usd
from actors.calculation.amortization import savings
from actors.calculation.arm import rate_path
from actors.calculation.money import ENGINE_CONTEXT, TWELVE, cents
from actors.calculation.products import CATALOG
from actors.calculation.totals import biweekly_totals, loan_totals
from protocols.api.agents import Recommendation

_HUNDRED_DOLLARS = Decimal(100)
_MIN_ROUND_UP = Decimal(50)


def arm_caps(s: Situation) -> Recommendation | None:
    """An ARM is on offer: what its payment does when every cap is hit."""
    arm = s.quotes.get("5_6_arm")
    template = CATALOG["5_6_arm"].arm
    if arm is None or arm.rate is None or arm.loan_amount is None or template is None:
        return None
    assert arm.payment is not None and arm.total_interest is not None
    terms = dataclasses.replace(template, initial_rate=arm.rate)
    # An index at the ceiling makes every cap bind: the worst path the note allows.
    path = rate_path(terms, 360, current_index=terms.ceiling)
    worst = loan_totals(arm.loan_amount, arm.rate, 360, rate_changes=path)
    first_change = terms.fixed_months + 1
    first_rate = path[first_change]
    first_payment = worst.paid_in(first_change)
    at_ceiling = (
        1
        if terms.initial_rate == terms.ceiling
        else next(month for month, value in path.items() if value == terms.ceiling)
    )
    peak_payment = worst.paid_in(at_ceiling)
    q = s.chosen
    assert q.payment is not None
    return recommendation(
        "arm_caps",
        f"The 5/6 ARM's payment could reach {usd(peak_payment)}",
        f"The ARM starts at {rate(arm.rate)}: {usd(arm.payment)} a month for "
        f"{terms.fixed_months // 12} years, against {usd(q.payment)} for the {s.label}. "
        f"Its caps are {terms.initial_cap}/{terms.periodic_cap}/{terms.lifetime_cap}: the "
        f"first change can lift the rate to {rate(first_rate)} ({usd(first_payment)} a "
        f"month) and it can climb to {rate(terms.ceiling)} ({usd(peak_payment)}). At the "
        f"caps it costs {usd(worst.total_interest - arm.total_interest)} more interest than "
        "if the rate never moved.",
        arm.payment - peak_payment,
        arm.total_interest - worst.total_interest,
    )


def shorter_term(s: Situation) -> Recommendation | None:
    """A 30-year loan: what the 15-year would cost a month and save in all."""
    short = s.quotes.get("15y_fixed")
    q = s.chosen
    if s.term != 360 or short is None or short.rate is None:
        return None
    assert short.payment is not None and short.total_interest is not None
    assert q.payment is not None and q.total_interest is not None
    saved = q.total_interest - short.total_interest
    detail = (
        f"At {rate(short.rate)} for 15 years the payment is {usd(short.payment)}, "
        f"{usd(short.payment - q.payment)} more than the {usd(q.payment)} of the {s.label} at "
        f"{rate(s.rate)}, but the interest falls from {usd(q.total_interest)} to "
        f"{usd(short.total_interest)}."
    )
    if not short.eligible and short.reason:
        detail += f" As quoted it would not qualify: {short.reason}."
    return recommendation(
        "shorter_term",
        f"A 15-year loan saves {usd(saved)} in interest",
        detail,
        q.payment - short.payment,
        saved,
    )


def longer_term(s: Situation) -> Recommendation | None:
    """A 15-year loan: the lower payment a 30-year would give, and its cost."""
    long = s.quotes.get("30y_fixed")
    q = s.chosen
    if s.data.product != "15y_fixed" or long is None or long.rate is None:
        return None
    assert long.payment is not None and long.total_interest is not None
    assert q.payment is not None and q.total_interest is not None
    return recommendation(
        "longer_term",
        f"A 30-year loan lowers the payment by {usd(q.payment - long.payment)}",
        f"At {rate(long.rate)} for 30 years the payment is {usd(long.payment)} instead of "
        f"{usd(q.payment)}, but the interest grows from {usd(q.total_interest)} to "
        f"{usd(long.total_interest)}. Extra principal on a 30-year loan recovers much of "
        "that while keeping the lower payment to fall back on.",
        q.payment - long.payment,
        q.total_interest - long.total_interest,
    )


def extra_payment(s: Situation) -> Recommendation | None:
    """Round the payment up to the next hundred dollars."""
    payment = s.totals.payment
    target = ((payment / _HUNDRED_DOLLARS).to_integral_value(ROUND_FLOOR) + 1) * _HUNDRED_DOLLARS
    if target - payment < _MIN_ROUND_UP:
        target += _HUNDRED_DOLLARS
    extra = target - payment
    faster = loan_totals(s.loan, s.rate, s.term, extra_monthly=extra)
    gained = savings(s.totals, faster)
    return recommendation(
        "extra_payment",
        f"Round your payment up to {usd(target)}",
        f"Adding {usd(extra)} a month to the {usd(payment)} payment pays the loan off "
        f"{months(gained.months_saved)} early and saves {usd(gained.interest_saved)} in "
        "interest.",
        -extra,
        gained.interest_saved,
    )


def biweekly(s: Situation) -> Recommendation | None:
    """Half the payment every two weeks: a thirteenth payment a year."""
    plan = biweekly_totals(s.loan, s.rate, s.term)
    gained = savings(s.totals, plan)
    with localcontext(ENGINE_CONTEXT):
        more_a_month = cents((plan.payment * 26 - s.totals.payment * 12) / TWELVE)
    return recommendation(
        "biweekly",
        f"Pay {usd(plan.payment)} every two weeks",
        f"Half the payment every two weeks makes 26 payments of {usd(plan.payment)} a year, "
        f"one extra monthly payment. The loan is paid off {months(gained.months_saved)} early, "
        f"saving {usd(gained.interest_saved)} in interest. Check that your servicer applies "
        "each payment when it arrives.",
        -more_a_month,
        gained.interest_saved,
    )
