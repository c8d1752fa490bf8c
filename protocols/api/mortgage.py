"""Request and response types of the mortgage endpoints.

Money and rates arrive as decimal strings or JSON numbers and leave as
decimal strings ("1264.14", "6.500"). Rates are annual percentages (6.5
means 6.5%). Single-field bounds that msgspec can state (whole numbers) are
declared on the type; the rest, and every rule that spans fields, live in
validate() (rules in protocols.api.mortgage_rules) so each error names
its field.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from protocols.api.decimals import decode_json
from protocols.rate_sources.records import Product as ProductName

DecimalIn = Annotated[
    Decimal,
    Meta(description="A decimal number; a JSON number is accepted as well as a string."),
]
Money = Annotated[Decimal, Meta(description='Dollars and cents, e.g. "1264.14".')]
Rate = Annotated[Decimal, Meta(description='Annual percentage, e.g. "6.500".')]
TermMonths = Annotated[int, Meta(ge=1, le=480, description="Loan term in months (1–480).")]
CreditScore = Annotated[int, Meta(ge=300, le=850, description="FICO score, 300–850.")]
Frequency = Literal[
    "monthly",
    "semimonthly",
    "quarterly",
    "weekly",
    "biweekly",
    "fourweekly",
    "bimonthly",
    "annually",
    "single",
]


class LumpSum(Struct, forbid_unknown_fields=True):
    """A one-time extra principal payment made with payment `payment_number`."""

    payment_number: Annotated[int, Meta(ge=1, le=1100)]
    amount: DecimalIn


class ArmCaps(Struct, forbid_unknown_fields=True):
    """Caps in percentage points: first change, each later change, lifetime
    above the initial rate (e.g. 2/1/5)."""

    initial: DecimalIn
    periodic: DecimalIn
    lifetime: DecimalIn


class ArmSpec(Struct, forbid_unknown_fields=True):
    """An adjustable rate: after `fixed_months` the rate becomes index + margin
    (optionally rounded to 1/8), limited by the caps and the floor, every
    `adjust_every_months`; the balance is re-amortized at each change."""

    fixed_months: Annotated[int, Meta(ge=1, le=479, description="Months before the first change.")]
    adjust_every_months: Annotated[int, Meta(ge=1, le=120)]
    margin: DecimalIn
    initial_rate: DecimalIn | None = None
    """Defaults to the request's annual_rate."""
    index_path: Annotated[
        list[DecimalIn],
        Meta(
            max_length=480,
            description="One index value per adjustment; a shorter path holds its last value.",
        ),
    ] = []
    current_index: DecimalIn | None = None
    """Held flat when index_path is empty."""
    caps: ArmCaps | None = None
    floor: DecimalIn | None = None
    """Lowest rate; defaults to the margin."""
    rate_rounding: Literal["none", "nearest_eighth"] = "none"


class AmortizationRequest(Struct, forbid_unknown_fields=True):
    """A loan to amortize. `start_date` is the first payment's due date (the
    first of next month when absent). `balloon_months` makes the loan due
    after that many payments: payments still amortize over `term_months` and
    the last one also repays the remaining balance. `biweekly` pays half the
    monthly payment every two weeks (fixed-rate loans only)."""

    principal: DecimalIn
    annual_rate: DecimalIn
    term_months: TermMonths
    start_date: dt.date | None = None
    extra_monthly: DecimalIn | None = None
    lump_sums: Annotated[list[LumpSum], Meta(max_length=1100)] = []
    biweekly: bool = False
    interest_only_months: Annotated[int, Meta(ge=0, le=479)] = 0
    balloon_months: (
        Annotated[
            int, Meta(ge=1, le=479, description="Payments after which the loan is due in full.")
        ]
        | None
    ) = None
    arm: ArmSpec | None = None


class ScheduleRow(Struct):
    n: int
    date: dt.date
    rate: Rate
    payment: Money
    principal: Money
    interest: Money
    balance: Money


class AmortizationResponse(Struct, omit_defaults=True):
    """`payment` is the first scheduled payment without extras (a half-payment
    when biweekly). Savings against the plain schedule appear when extra
    payments or biweekly payments were asked for; `amortizing_payment` after
    an interest-only period; `balloon_payment` for a balloon loan."""

    payment: Money
    total_interest: Money
    total_paid: Money
    payoff_months: int
    schedule: list[ScheduleRow]
    payments_per_year: int = 12
    months_saved: int | None = None
    interest_saved: Money | None = None
    amortizing_payment: Money | None = None
    balloon_payment: Money | None = None


class PaymentGroup(Struct, forbid_unknown_fields=True):
    """`count` equal payments from `first_date`. Semimonthly pays on
    first_date's day and 15 days later; biweekly every 14 days; fourweekly
    every 28; bimonthly every two months; single is one payment."""

    amount: DecimalIn
    first_date: dt.date
    count: Annotated[int, Meta(ge=1, le=1200)] = 1
    frequency: Frequency = "monthly"


class AprRequest(Struct, forbid_unknown_fields=True):
    """One advance repaid by one or more payment groups (several groups
    describe odd first or final payments)."""

    amount_financed: DecimalIn
    advance_date: dt.date
    payments: Annotated[list[PaymentGroup], Meta(min_length=1, max_length=100)]


class AprResponse(Struct):
    """The APR by Regulation Z Appendix J (actuarial method), rounded to two
    decimals as disclosed, with the unrounded figure and the unit period."""

    apr: Rate
    apr_exact: Rate
    unit_period: str
    unit_periods_per_year: int | Decimal


class AffordabilityRequest(Struct, forbid_unknown_fields=True):
    """A buyer's gross annual income, other monthly debts and cash for the
    down payment. DTI limits default to the program's (conventional 28/36,
    FHA 31/43, VA -/41) and may be overridden, in percent."""

    annual_income: DecimalIn
    down_payment: DecimalIn
    annual_rate: DecimalIn
    monthly_debts: DecimalIn = Decimal(0)
    term_months: TermMonths = 360
    program: Literal["conventional", "fha", "va"] = "conventional"
    credit_score: CreditScore = 740
    property_tax_rate: DecimalIn | None = None
    """% of the price a year; defaults to a national average."""
    insurance_annual: DecimalIn | None = None
    hoa_monthly: DecimalIn = Decimal(0)
    front_dti_limit: DecimalIn | None = None
    back_dti_limit: DecimalIn | None = None
    first_time_buyer: bool = False
    va_subsequent_use: bool = False


class MonthlyHousing(Struct):
    principal_interest: Money
    property_tax: Money
    insurance: Money
    hoa: Money
    mortgage_insurance: Money
    total: Money


class AffordabilityResponse(Struct):
    """The largest whole-dollar price and its loan, the monthly housing
    payment at that price and which limit stopped it."""

    max_price: Money
    max_loan: Money
    down_payment: Money
    monthly: MonthlyHousing
    max_housing_payment: Money
    front_dti: Rate
    back_dti: Rate
    front_dti_limit: Rate | None
    back_dti_limit: Rate
    limited_by: Literal["front_dti", "back_dti", "down_payment"]


class RefinanceRequest(Struct, forbid_unknown_fields=True):
    """The current loan's balance, rate and remaining months, and the new
    loan's rate and term. `points` are percent of the balance paid to buy
    the rate down; costs are paid in cash unless `finance_closing_costs`."""

    current_balance: DecimalIn
    current_rate: DecimalIn
    remaining_months: TermMonths
    new_rate: DecimalIn
    new_term_months: TermMonths = 360
    closing_costs: DecimalIn = Decimal(0)
    points: DecimalIn = Decimal(0)
    finance_closing_costs: bool = False


class RefinanceResponse(Struct):
    """Break-even is the first month whose savings cover the up-front costs
    (null when the payment does not fall); the lifetime differences are
    current loan minus new loan, so positive means the refinance saves."""

    current_payment: Money
    new_loan_amount: Money
    new_payment: Money
    monthly_savings: Money
    points_cost: Money
    upfront_costs: Money
    cash_at_closing: Money
    break_even_month: int | None
    current_remaining_interest: Money
    new_total_interest: Money
    lifetime_interest_difference: Money
    lifetime_cost_difference: Money


class CalculateRequest(Struct, forbid_unknown_fields=True):
    """A purchase to quote across the rate products (all when `products` is
    absent); `points` are bought (or, negative, taken as a lender credit)."""

    price: DecimalIn
    down_payment: DecimalIn
    credit_score: CreditScore
    state: Annotated[str, Meta(pattern="^[A-Z]{2}$", description="Two-letter US state code.")]
    annual_income: DecimalIn | None = None
    monthly_debts: DecimalIn | None = None
    products: Annotated[list[ProductName], Meta(min_length=1)] | None = None
    points: DecimalIn = Decimal(0)
    property_tax_annual: DecimalIn | None = None
    insurance_annual: DecimalIn | None = None
    hoa_monthly: DecimalIn = Decimal(0)
    va_eligible: bool = False
    first_time_buyer: bool = False


class QuoteOption(Struct):
    """One product's quote; numbers are null when the product has no market
    rate, and `reason` says why an ineligible product cannot be taken."""

    product: ProductName
    rate: Rate | None
    apr: Rate | None
    points: Decimal
    payment: Money | None
    piti: Money | None
    pmi_monthly: Money | None
    cash_to_close: Money | None
    total_interest: Money | None
    eligible: bool
    reason: str | None


class CalculateResponse(Struct):
    id: str
    rates_as_of: dt.datetime
    options: list[QuoteOption]
    recommendations: list[dict[str, Any]] = []


def decode(data: bytes | str, type_: type[Any]) -> Any:
    """Decode JSON the way the server does: numbers and strings both become
    Decimal where a Decimal is declared."""
    return msgspec.convert(decode_json(data), type_, strict=False)


def validate(request: Struct) -> None:
    """Raise a 422 Problem naming every out-of-range or inconsistent field."""
    from protocols.api.mortgage_rules import check

    check(request)


__all__ = [
    "AffordabilityRequest",
    "AffordabilityResponse",
    "AmortizationRequest",
    "AmortizationResponse",
    "AprRequest",
    "AprResponse",
    "ArmCaps",
    "ArmSpec",
    "CalculateRequest",
    "CalculateResponse",
    "LumpSum",
    "MonthlyHousing",
    "PaymentGroup",
    "QuoteOption",
    "RefinanceRequest",
    "RefinanceResponse",
    "ScheduleRow",
    "decode",
    "validate",
]
