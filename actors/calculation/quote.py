"""A personalised quote for every product: the main calculation flow's math.

Given the buyer and the live market rate of each product, price each one
(market rate + LLPA, less what the chosen points buy), build its schedule,
add mortgage insurance and escrow, disclose the APR and the cash to close,
and say plainly when the buyer cannot take it. Fetching rates and storing
results belong to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext

from actors.calculation.apr import amount_financed, mortgage_apr_runs
from actors.calculation.arm import ArmTerms, rate_path
from actors.calculation.insurance import (
    fha_mip,
    fha_premium_runs,
    ltv_percent,
    pmi_monthly,
    pmi_months_of,
    va_funding_fee,
)
from actors.calculation.money import (
    ENGINE_CONTEXT,
    HUNDRED,
    NO_CENTS,
    TWELVE,
    ZERO,
    cents,
    percent_of,
)
from actors.calculation.piti import piti
from actors.calculation.pricing import (
    RATE_PER_POINT,
    LadderStep,
    LlpaGrid,
    ladder,
    llpa_points,
    quote_rate,
)
from actors.calculation.products import CATALOG, DTI_LIMITS, DtiLimits, Product, ineligibility
from actors.calculation.totals import LoanTotals, Run, loan_totals, with_premiums

_PERCENT_PLACES = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class ProductQuote:
    product: str
    rate: Decimal | None
    apr: Decimal | None
    points: Decimal
    payment: Decimal | None
    piti: Decimal | None
    pmi_monthly: Decimal | None
    """First month's mortgage insurance (PMI, or FHA's annual MIP monthly)."""
    cash_to_close: Decimal | None
    total_interest: Decimal | None
    eligible: bool
    reason: str | None
    loan_amount: Decimal | None = None
    llpa_points: Decimal = ZERO
    ladder: list[LadderStep] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Buyer:
    price: Decimal
    down_payment: Decimal
    credit_score: int
    state: str
    annual_income: Decimal | None = None
    monthly_debts: Decimal = ZERO
    points: Decimal = ZERO
    property_tax_annual: Decimal | None = None
    insurance_annual: Decimal | None = None
    hoa_monthly: Decimal = ZERO
    va_eligible: bool = False
    va_subsequent_use: bool = False
    first_time_buyer: bool = False
    lender_fees: Decimal = ZERO
    """Prepaid finance charges other than points (origination, underwriting):
    part of the APR and the cash to close."""
    other_closing_costs: Decimal = ZERO
    """Closing costs that are not finance charges (title, appraisal, recording)."""


def quote_options(
    price: Decimal,
    down_payment: Decimal,
    credit_score: int,
    state: str,
    market_rates: Mapping[str, Decimal],
    *,
    annual_income: Decimal | None = None,
    monthly_debts: Decimal = ZERO,
    products: Iterable[str] | None = None,
    points: Decimal = ZERO,
    property_tax_annual: Decimal | None = None,
    insurance_annual: Decimal | None = None,
    hoa_monthly: Decimal = ZERO,
    va_eligible: bool = False,
    va_subsequent_use: bool = False,
    first_time_buyer: bool = False,
    lender_fees: Decimal = ZERO,
    other_closing_costs: Decimal = ZERO,
    arm_index: Decimal | None = None,
    llpa_grid: LlpaGrid | None = None,
    rate_per_point: Decimal = RATE_PER_POINT,
    dti_limits: Mapping[str, DtiLimits] | None = None,
) -> list[ProductQuote]:
    """One quote per product (all products when `products` is None).

    `market_rates` maps a product to its live zero-point market rate; a
    product without one is listed as ineligible. `arm_index` is the ARM's
    current index; without it the ARM's rate is assumed to stay where it
    starts (its APR is then that of a fixed loan at the initial rate).
    """
    buyer = Buyer(
        price=price,
        down_payment=down_payment,
        credit_score=credit_score,
        state=state,
        annual_income=annual_income,
        monthly_debts=monthly_debts,
        points=points,
        property_tax_annual=property_tax_annual,
        insurance_annual=insurance_annual,
        hoa_monthly=hoa_monthly,
        va_eligible=va_eligible,
        va_subsequent_use=va_subsequent_use,
        first_time_buyer=first_time_buyer,
        lender_fees=lender_fees,
        other_closing_costs=other_closing_costs,
    )
    names = list(CATALOG) if products is None else list(dict.fromkeys(products))
    limits = {**DTI_LIMITS, **(dti_limits or {})}
    return [
        _quote_product(
            CATALOG[name],
            buyer,
            market_rates.get(name),
            arm_index,
            llpa_grid,
            rate_per_point,
            limits[CATALOG[name].program],
        )
        for name in names
    ]


def _quote_product(
    product: Product,
    buyer: Buyer,
    market_rate: Decimal | None,
    arm_index: Decimal | None,
    llpa_grid: LlpaGrid | None,
    rate_per_point: Decimal,
    limits: DtiLimits | None,
) -> ProductQuote:
    if market_rate is None:
        return _unpriced(product, buyer, f"no market rate is available for {product.name}")
    with localcontext(ENGINE_CONTEXT):
        price = buyer.price
        base = price - buyer.down_payment
        down_percent = buyer.down_payment * HUNDRED / price
        ltv = ltv_percent(base, price)
    reason = ineligibility(
        product,
        base_loan=base,
        down_percent=down_percent,
        credit_score=buyer.credit_score,
        state=buyer.state,
        va_eligible=buyer.va_eligible,
        first_time_buyer=buyer.first_time_buyer,
    )
    llpa = llpa_points(
        product.program, product.term_months, buyer.credit_score, ltv, grid=llpa_grid
    )
    zero_point_rate = quote_rate(market_rate, llpa, ZERO, rate_per_point)
    rate = quote_rate(market_rate, llpa, buyer.points, rate_per_point)
    if rate <= 0:
        return _unpriced(product, buyer, "the points asked for would take the rate below zero")

    financed_fee = ZERO
    if product.program == "fha":
        mip = fha_mip(base, price, product.term_months)
        financed_fee = mip.upfront
    elif product.program == "va":
        financed_fee = va_funding_fee(base, down_percent, subsequent_use=buyer.va_subsequent_use)
    loan = base + financed_fee
    totals = _totals(product, loan, rate, arm_index)

    premiums: list[Run] = []
    if product.program == "fha":
        premiums = fha_premium_runs(totals, fha_mip(base, price, product.term_months))
    elif product.program in ("conventional", "jumbo"):
        monthly = pmi_monthly(base, price, buyer.credit_score)
        if monthly:
            original = totals if product.arm is None else _original(product, loan, rate)
            months = pmi_months_of(original, price)
            if months:
                premiums = [(monthly, months)]
    first_premium = premiums[0][0] if premiums else NO_CENTS

    housing = piti(
        totals.payment,
        price=price,
        property_tax_annual=buyer.property_tax_annual,
        insurance_annual=buyer.insurance_annual,
        hoa_monthly=buyer.hoa_monthly,
        mortgage_insurance_monthly=first_premium,
    )
    points_cost = percent_of(loan, buyer.points)
    cash_to_close = cents(
        buyer.down_payment + points_cost + buyer.lender_fees + buyer.other_closing_costs
    )
    financed = amount_financed(
        loan,
        points=points_cost,
        prepaid_finance_charges=buyer.lender_fees,
        upfront_mortgage_insurance=financed_fee,
    )
    apr = mortgage_apr_runs(financed, with_premiums(totals.payments, premiums), near=rate).apr

    if reason is None and buyer.annual_income is not None:
        reason = _dti_problem(product, housing.total, buyer, limits or DTI_LIMITS[product.program])
    return ProductQuote(
        product=product.name,
        rate=rate,
        apr=apr,
        points=buyer.points,
        payment=totals.payment,
        piti=housing.total,
        pmi_monthly=first_premium,
        cash_to_close=cash_to_close,
        total_interest=totals.total_interest,
        eligible=reason is None,
        reason=reason,
        loan_amount=loan,
        llpa_points=llpa,
        ladder=ladder(zero_point_rate, rate_per_point=rate_per_point),
    )


def _totals(
    product: Product, loan: Decimal, rate: Decimal, arm_index: Decimal | None
) -> LoanTotals:
    """The schedule's figures (amortize or amortize_arm, without the rows)."""
    if product.arm is None:
        return loan_totals(loan, rate, product.term_months)
    terms = _arm_terms(product.arm, rate)
    index = arm_index if arm_index is not None else rate - terms.margin
    changes = rate_path(terms, product.term_months, current_index=index)
    return loan_totals(loan, rate, product.term_months, rate_changes=changes)


def _original(product: Product, loan: Decimal, rate: Decimal) -> LoanTotals:
    """The schedule PMI's automatic end is measured on: the note's own terms,
    with no index movement assumed."""
    return loan_totals(loan, rate, product.term_months)


def _arm_terms(template: ArmTerms, rate: Decimal) -> ArmTerms:
    return ArmTerms(
        initial_rate=rate,
        fixed_months=template.fixed_months,
        adjust_every_months=template.adjust_every_months,
        margin=template.margin,
        initial_cap=template.initial_cap,
        periodic_cap=template.periodic_cap,
        lifetime_cap=template.lifetime_cap,
        floor=template.floor,
        rate_rounding=template.rate_rounding,
    )


def _dti_problem(product: Product, housing: Decimal, buyer: Buyer, limits: DtiLimits) -> str | None:
    assert buyer.annual_income is not None
    with localcontext(ENGINE_CONTEXT):
        income = buyer.annual_income / TWELVE
        front = housing * HUNDRED / income
        back = (housing + buyer.monthly_debts) * HUNDRED / income
    if limits.front is not None and front > limits.front:
        return (
            f"the housing payment would be {_shown(front)}% of income; "
            f"{product.program} allows {limits.front}%"
        )
    if back > limits.back:
        return (
            f"housing plus other debts would be {_shown(back)}% of income; "
            f"{product.program} allows {limits.back}%"
        )
    return None


def _shown(percent: Decimal) -> Decimal:
    return percent.quantize(_PERCENT_PLACES, rounding=ROUND_HALF_UP)


def _unpriced(product: Product, buyer: Buyer, reason: str) -> ProductQuote:
    return ProductQuote(
        product=product.name,
        rate=None,
        apr=None,
        points=buyer.points,
        payment=None,
        piti=None,
        pmi_monthly=None,
        cash_to_close=None,
        total_interest=None,
        eligible=False,
        reason=reason,
    )
