"""The built-in advisor's rules: each looks at a calculation quoted by the
engine and, when its condition holds, says what to do and what it is worth.

Every figure comes from actors.calculation: a rule only picks which engine
results to compare, takes their difference, and words it. Rules are listed
in the order advice is shown (what blocks the loan first, then what is
worth most, then habits that always help).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, localcontext

from actors.agents.payment_plans import arm_caps, biweekly, extra_payment, longer_term, shorter_term
from actors.agents.situation import Situation
from actors.agents.wording import points, rate, recommendation, share, usd
from actors.calculation.affordability import affordability
from actors.calculation.insurance import (
    PMI_AUTOMATIC_END_LTV,
    PMI_CANCEL_ON_REQUEST_LTV,
    fha_mip,
    ltv_percent,
    payment_reaching_ltv,
    pmi_months_of,
)
from actors.calculation.money import ENGINE_CONTEXT, HUNDRED, TWELVE, ZERO, cents, percent_of
from actors.calculation.piti import DEFAULT_PROPERTY_TAX_RATE
from actors.calculation.pricing import LlpaGrid
from actors.calculation.products import CATALOG, DTI_LIMITS, conforming_limit
from actors.calculation.quote import ProductQuote
from actors.calculation.refinance import points_break_even
from actors.calculation.totals import loan_totals
from protocols.api.agents import AdvisorInput, Recommendation

LOCK_MOVE = Decimal("0.125")
"""A market move (percentage points) worth a rate-lock reminder: one eighth,
the smallest step on a rate sheet."""
NO_PMI_DOWN = Decimal(20)
DTI_NEAR = Decimal(3)
"""Percentage points under a debt-to-income limit that are worth a warning."""
JUMBO_NEAR = Decimal(10)
"""A loan at most this % over the conforming limit is worth bringing under it."""


def dti_limit(s: Situation) -> Recommendation | None:
    """Payments above the program's debt-to-income limit, or within DTI_NEAR
    points of it: which price fits, or how much room is left."""
    d, q = s.data, s.chosen
    if not d.annual_income or q.piti is None:
        return None
    program = s.product.program
    limits = DTI_LIMITS[program]
    debts = d.monthly_debts or ZERO
    with localcontext(ENGINE_CONTEXT):
        income = d.annual_income / TWELVE
        front = q.piti * HUNDRED / income
        back = (q.piti + debts) * HUNDRED / income
        tax_rate = (
            d.property_tax_annual * HUNDRED / d.price
            if d.property_tax_annual is not None
            else DEFAULT_PROPERTY_TAX_RATE
        )
    over_front = limits.front is not None and front > limits.front
    over = over_front or back > limits.back
    near_front = limits.front is not None and front > limits.front - DTI_NEAR
    if not over:
        if near_front or back > limits.back - DTI_NEAR:
            return _near_dti_limit(s, front, back, income)
        return None
    fits = affordability(
        d.annual_income,
        debts,
        d.down_payment,
        s.rate,
        program="conventional" if program == "jumbo" else program,  # type: ignore[arg-type]
        term_months=s.term,
        credit_score=d.credit_score,
        property_tax_rate=tax_rate,
        insurance_annual=d.insurance_annual,
        hoa_monthly=d.hoa_monthly,
        limits=limits,
        first_time_buyer=d.first_time_buyer,
    )
    smaller = loan_totals(fits.max_loan, s.rate, s.term).total_interest if fits.max_loan else ZERO
    if over_front:
        what, allowed = (
            f"the housing payment of {usd(q.piti)} is {share(front)} of income",
            limits.front,
        )
    else:
        what, allowed = f"housing plus other debts come to {share(back)} of income", limits.back
    detail = (
        f"At {usd(d.price)} {what}; {program} loans allow {allowed}%. A price up to "
        f"{usd(fits.max_price)} with your {usd(d.down_payment)} down keeps housing at "
        f"{usd(fits.housing.total)} a month, within the limits."
    )
    if fits.limited_by == "down_payment":
        detail += " At that price the down payment, not income, is what sets the limit."
    return recommendation(
        "dti_limit",
        f"Look at homes up to {usd(fits.max_price)} to fit the {allowed}% limit",
        detail,
        q.piti - fits.housing.total,
        q.total_interest - smaller if q.total_interest is not None else ZERO,
    )


def _near_dti_limit(s: Situation, front: Decimal, back: Decimal, income: Decimal) -> Recommendation:
    """Within the limits, but close: the new monthly debt that would cross one."""
    q, limits, program = s.chosen, DTI_LIMITS[s.product.program], s.product.program
    assert q.piti is not None
    debts = s.data.monthly_debts or ZERO
    with localcontext(ENGINE_CONTEXT):
        room_back = cents(limits.back * income / HUNDRED - q.piti - debts)
    room, ratio, allowed, what = room_back, back, limits.back, "housing plus other debts come"
    if limits.front is not None:
        with localcontext(ENGINE_CONTEXT):
            room_front = cents(limits.front * income / HUNDRED - q.piti)
        if limits.front - front < limits.back - back:
            room, ratio, allowed, what = room_front, front, limits.front, "housing alone comes"
    detail = (
        f"With {usd(q.piti)} a month for housing, {what} to {share(ratio)} of income, "
        f"close to the {allowed}% that {program} loans allow. About {usd(room)} a month more "
        "(a car loan, say, or a higher price) would cross it: hold off on new credit until "
        "closing."
    )
    return recommendation(
        "dti_limit",
        f"Your debt-to-income is close to the {allowed}% limit",
        detail,
        ZERO,
        ZERO,
    )


def rate_lock(s: Situation) -> Recommendation | None:
    """The market moved since the earlier quote: lock, and what it is worth."""
    d, q = s.data, s.chosen
    before_rate = d.previous_rates.get(d.product)
    now_rate = d.market_rates[d.product]
    if before_rate is None or abs(now_rate - before_rate) < LOCK_MOVE:
        return None
    before = s.requote(market_rates={**d.market_rates, d.product: before_rate})
    assert before.payment is not None and before.total_interest is not None
    assert q.payment is not None and q.total_interest is not None
    monthly = before.payment - q.payment
    lifetime = before.total_interest - q.total_interest
    since = (
        f"since {d.previous_as_of.date().isoformat()}"
        if d.previous_as_of is not None
        else "since your earlier quote"
    )
    moved = f"from {rate(before_rate)} to {rate(now_rate)} {since}"
    if now_rate > before_rate:
        title = f"Rates rose {points(now_rate - before_rate)}: consider locking now"
        detail = (
            f"The {s.label} market rate went {moved}. On this loan that adds {usd(monthly)} "
            f"a month and {usd(lifetime)} of interest. A rate lock holds the quoted rate "
            "until closing, so a further rise cannot raise your payment."
        )
    else:
        title = f"Rates fell {points(before_rate - now_rate)}: a good moment to lock"
        detail = (
            f"The {s.label} market rate went {moved}, saving {usd(monthly)} a month and "
            f"{usd(lifetime)} of interest against the earlier rate. Locking keeps it; if you "
            "locked earlier at the higher rate, ask your lender about a float-down."
        )
    return recommendation("rate_lock", title, detail, monthly, lifetime)


def remove_pmi(s: Situation) -> Recommendation | None:
    """Mortgage insurance applies (under 20% down): what it costs, the down
    payment that removes it, when it ends by the schedule, and FHA's MIP."""
    d, q = s.data, s.chosen
    if s.product.program not in ("conventional", "jumbo") or not q.pmi_monthly:
        return None
    assert q.piti is not None and q.total_interest is not None
    target = percent_of(d.price, NO_PMI_DOWN)
    after = s.requote(down_payment=target)
    assert after.piti is not None and after.total_interest is not None
    months = pmi_months_of(s.totals, d.price)
    premiums = q.pmi_monthly * months
    ltv = ltv_percent(s.loan, d.price)
    automatic = payment_reaching_ltv(s.totals, d.price, PMI_AUTOMATIC_END_LTV)
    if automatic is not None and automatic <= months:
        ends = (
            f"when the scheduled balance reaches {usd(percent_of(d.price, PMI_AUTOMATIC_END_LTV))}"
            f", {PMI_AUTOMATIC_END_LTV}% of the original value"
        )
    else:
        ends = "at the midpoint of the term"
    detail = (
        f"With {usd(d.down_payment)} down the loan is {share(ltv)} of the price, so PMI of "
        f"{usd(q.pmi_monthly)} a month applies. By the schedule it ends automatically after "
        f"payment {months} ({s.month_of(months)}), {ends}: {months} months, "
        f"{usd(premiums)} in all."
    )
    on_request = payment_reaching_ltv(s.totals, d.price, PMI_CANCEL_ON_REQUEST_LTV)
    if on_request is not None and on_request < months:
        detail += (
            f" You may ask the lender to cancel it from payment {on_request} "
            f"({s.month_of(on_request)}), when the balance reaches "
            f"{usd(percent_of(d.price, PMI_CANCEL_ON_REQUEST_LTV))} "
            f"({PMI_CANCEL_ON_REQUEST_LTV}%), saving {usd(q.pmi_monthly * (months - on_request))}."
        )
    detail += (
        f" With {usd(target)} down ({NO_PMI_DOWN}%) there is none, and the monthly payment "
        f"falls from {usd(q.piti)} to {usd(after.piti)}."
    )
    detail += _fha_compared(s)
    return recommendation(
        "remove_pmi",
        f"Mortgage insurance adds {usd(q.pmi_monthly)} a month: "
        f"{usd(target - d.down_payment)} more down avoids it",
        detail,
        q.piti - after.piti,
        premiums + q.total_interest - after.total_interest,
    )


def _fha_compared(s: Situation) -> str:
    """FHA's mortgage insurance for the same purchase, as a sentence (or none)."""
    fha, q = s.quotes.get("fha_30"), s.chosen
    if fha is None or fha.rate is None or fha.piti is None or fha.pmi_monthly is None:
        return ""
    if not fha.eligible:
        return f" An FHA loan is not open to you here: {fha.reason}."
    d = s.data
    mip = fha_mip(d.price - d.down_payment, d.price, CATALOG["fha_30"].term_months)
    lasts = (
        "for the life of the loan"
        if mip.months >= CATALOG["fha_30"].term_months
        else f"for {mip.months} months"
    )
    assert q.piti is not None
    return (
        f" The 30-year FHA at {rate(fha.rate)} carries MIP instead: {usd(fha.pmi_monthly)} a "
        f"month {lasts}, whatever the balance, plus {usd(mip.upfront)} upfront added to the "
        f"loan; its payment would be {usd(fha.piti)} a month against {usd(q.piti)}."
    )


def jumbo_threshold(s: Situation) -> Recommendation | None:
    """A loan just over the conforming limit: the down payment that keeps it
    conforming, and what the conforming loan costs against the jumbo."""
    d = s.data
    limit = conforming_limit(d.state)
    over = d.price - d.down_payment - limit
    if over <= 0 or over > percent_of(limit, JUMBO_NEAR):
        return None
    jumbo = s.quotes.get("jumbo_30")
    if jumbo is None or jumbo.rate is None or jumbo.piti is None:
        return None
    needed = d.price - limit
    conforming = s.quote(["30y_fixed"], down_payment=needed)[0]
    if conforming.rate is None or conforming.piti is None or not conforming.eligible:
        return None
    assert jumbo.total_interest is not None and conforming.total_interest is not None
    return recommendation(
        "jumbo_threshold",
        f"{usd(over)} more down keeps the loan conforming",
        f"A loan of {usd(d.price - d.down_payment)} is {usd(over)} over the "
        f"{usd(limit)} conforming limit in {d.state}, so it is a jumbo loan: the 30-year "
        f"jumbo at {rate(jumbo.rate)} costs {usd(jumbo.piti)} a month. With {usd(needed)} "
        f"down ({usd(over)} more) the loan stays conforming: the 30-year fixed at "
        f"{rate(conforming.rate)} costs {usd(conforming.piti)} a month.",
        jumbo.piti - conforming.piti,
        jumbo.total_interest - conforming.total_interest,
    )


def points_break_even_advice(s: Situation) -> Recommendation | None:
    """Points were bought: when they pay back, against the expected stay."""
    d = s.data
    if d.points <= 0:
        return None
    par = s.requote(points=ZERO)
    assert par.rate is not None
    found = points_break_even(s.loan, s.term, par.rate, s.rate, d.points)
    stay = d.years_in_home * 12 if d.years_in_home else None
    horizon = min(stay or s.term, s.term)
    without = loan_totals(s.loan, par.rate, s.term)
    interest_saved = without.interest_through(horizon) - s.totals.interest_through(horizon)
    net = interest_saved - found.cost
    month = found.break_even_month
    if month is None:
        return recommendation(
            "points_break_even",
            "Your points do not lower the payment",
            f"{points(d.points)} cost {usd(found.cost)} but leave the payment at "
            f"{usd(found.payment_with_points)}; ask for the zero-point rate instead.",
            ZERO,
            -found.cost,
        )
    detail = (
        f"{points(d.points)} cost {usd(found.cost)} and lower the rate from {rate(par.rate)} "
        f"to {rate(s.rate)}: {usd(found.monthly_savings)} less each month, paid back by "
        f"month {month}."
    )
    if stay is None:
        detail += (
            f" Over the full term they save {usd(net)} net of their cost; they pay off only "
            f"if you keep the loan past month {month}."
        )
    elif month <= stay:
        detail += (
            f" You expect to stay {d.years_in_home} years ({stay} months), so they pay off: "
            f"{usd(net)} ahead net of their cost."
        )
    else:
        detail += (
            f" You expect to stay {d.years_in_home} years ({stay} months), so they would not "
            f"pay off: you would be {usd(net)} behind. Consider fewer points or none."
        )
    return recommendation(
        "points_break_even",
        f"Your points break even in month {month}",
        detail,
        found.monthly_savings,
        net,
    )


def credit_score(s: Situation) -> Recommendation | None:
    """A higher credit band would lower the price adjustment (and PMI)."""
    d, q = s.data, s.chosen
    if s.product.program not in ("conventional", "jumbo") or s.term <= 180:
        return None
    higher = [floor for floor in s.score_floors if floor > d.credit_score]
    if not higher:
        return None
    target = min(higher)
    better = s.requote(credit_score=target)
    assert q.piti is not None and q.total_interest is not None
    if better.piti is None or better.rate is None or better.piti >= q.piti:
        return None
    assert better.total_interest is not None
    detail = (
        f"At {d.credit_score} this loan carries a price adjustment of {points(q.llpa_points)} "
        f"and a rate of {rate(s.rate)}; at {target} it is {points(better.llpa_points)} and "
        f"{rate(better.rate)}"
    )
    if better.pmi_monthly != q.pmi_monthly and q.pmi_monthly is not None:
        detail += (
            f", and mortgage insurance falls from {usd(q.pmi_monthly)} to "
            f"{usd(better.pmi_monthly or ZERO)} a month"
        )
    detail += (
        f". The payment would drop from {usd(q.piti)} to {usd(better.piti)}. Paying card "
        "balances down before applying is the quickest way to gain points."
    )
    return recommendation(
        "credit_score",
        f"A credit score of {target} would save {usd(q.piti - better.piti)} a month",
        detail,
        q.piti - better.piti,
        q.total_interest - better.total_interest,
    )


RULES: tuple[Callable[[Situation], Recommendation | None], ...] = (
    dti_limit,
    rate_lock,
    jumbo_threshold,
    remove_pmi,
    points_break_even_advice,
    credit_score,
    arm_caps,
    shorter_term,
    longer_term,
    extra_payment,
    biweekly,
)
MAX_SHOWN = 6
MUST_SHOW = ("dti_limit", "remove_pmi", "jumbo_threshold", "points_break_even")
"""Kinds a loan officer would never leave out; a model's answer must keep them."""


def analyse(
    data: AdvisorInput,
    llpa_grid: LlpaGrid | None = None,
    priced: Mapping[str, ProductQuote] | None = None,
    *,
    first_payment: dt.date | None = None,
) -> tuple[Situation, list[Recommendation]]:
    """Every recommendation whose condition holds, in the order shown.
    `priced`: quotes the calculation already priced for `data`;
    `first_payment`: where dates in advice count from (next month's first)."""
    situation = Situation(data, llpa_grid, priced, first_payment)
    found = [rec for rule in RULES if (rec := rule(situation)) is not None]
    return situation, found
