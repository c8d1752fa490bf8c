"""Request and response types of the mortgage endpoints.

Money and rates arrive as decimal strings or JSON numbers and leave as
decimal strings ("1264.14", "6.500"). Rates are annual percentages (6.5
means 6.5%). Every single-field bound is declared on the type (whole
numbers through msgspec, decimals through protocols.api.decimals), so the
OpenAPI document states it; the rules that span fields, which no schema
can state, live in validate() (protocols.api.mortgage_rules), and each
error names its field.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta, Struct

from protocols.api.decimals import Bounds, decode_json
from protocols.rate_sources.records import Product as ProductName

Money = Annotated[Decimal, Meta(description='Dollars and cents, e.g. "1264.14".')]
Rate = Annotated[Decimal, Meta(description='Annual percentage, e.g. "6.500".')]

# The range of every decimal input, declared once: the validator checks it
# and the OpenAPI document states it (protocols/api/decimals.py).
MAX_LOAN = 100_000_000
MAX_RATE = 30
CENTS = 2
RATE_PLACES = 4
LOAN = Bounds(0, MAX_LOAN, CENTS, low_open=True)
AMOUNT = Bounds(0, MAX_LOAN, CENTS)
HOME = Bounds(1_000, MAX_LOAN, CENTS)
RATE = Bounds(0, MAX_RATE, RATE_PLACES)
INDEX = Bounds(-10, MAX_RATE, RATE_PLACES)
FLOOR = Bounds(0, 2 * MAX_RATE, RATE_PLACES)
POINTS = Bounds(-5, 10, RATE_PLACES)
PROPERTY_TAX = Bounds(0, 10_000_000, CENTS)
PROPERTY_TAX_RATE = Bounds(0, 10, RATE_PLACES)
INSURANCE = Bounds(0, 1_000_000, CENTS)
HOA = Bounds(0, 100_000, CENTS)
DTI_LIMIT = Bounds(0, 100, RATE_PLACES, low_open=True)

# Dates as the server reads them (years 1000-9999; days up to 28 in the
# pattern, so every date it admits exists; later days are accepted too).
DATE_PATTERN = r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
DateIn = Annotated[dt.date, Meta(extra_json_schema={"pattern": f"^{DATE_PATTERN}$"})]
DateTimeIn = Annotated[
    dt.datetime,
    Meta(
        extra_json_schema={
            "pattern": f"^{DATE_PATTERN}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
            r"(\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$"
        }
    ),
]

Loan = Annotated[Decimal, LOAN.meta('Dollars, e.g. "200000".'), LOAN]
HomePrice = Annotated[
    Decimal, HOME.meta('Dollars, e.g. "450000"; nothing below $1,000 is quoted.'), HOME
]
Amount = Annotated[Decimal, AMOUNT.meta('Dollars, e.g. "1264.14".'), AMOUNT]
RateIn = Annotated[Decimal, RATE.meta('Annual percentage, e.g. "6.5".'), RATE]
CapIn = Annotated[Decimal, RATE.meta("Percentage points."), RATE]
IndexIn = Annotated[Decimal, INDEX.meta("Index value, in percent."), INDEX]
FloorIn = Annotated[Decimal, FLOOR.meta("Lowest rate, in percent."), FLOOR]
PointsIn = Annotated[
    Decimal, POINTS.meta("Discount points (negative: a lender credit), % of the loan."), POINTS
]
PropertyTaxIn = Annotated[Decimal, PROPERTY_TAX.meta("Dollars a year."), PROPERTY_TAX]
PropertyTaxRateIn = Annotated[
    Decimal, PROPERTY_TAX_RATE.meta("Percent of the price a year."), PROPERTY_TAX_RATE
]
InsuranceIn = Annotated[Decimal, INSURANCE.meta("Dollars a year."), INSURANCE]
HoaIn = Annotated[Decimal, HOA.meta("Dollars a month."), HOA]
DtiLimitIn = Annotated[Decimal, DTI_LIMIT.meta("Percent of gross income."), DTI_LIMIT]
TermMonths = Annotated[int, Meta(ge=1, le=480, description="Loan term in months (1–480).")]
CreditScore = Annotated[int, Meta(ge=300, le=850, description="FICO score, 300–850.")]
UsState = Annotated[
    Literal[
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL",
        "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
        "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
        "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
    ],
    Meta(description="US state, DC or territory code, e.g. CA."),
]  # fmt: skip
US_STATES = frozenset(get_args(get_args(UsState)[0]))
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
    amount: Loan


class ArmCaps(Struct, forbid_unknown_fields=True):
    """Caps in percentage points: first change, each later change, lifetime
    above the initial rate (e.g. 2/1/5)."""

    initial: CapIn
    periodic: CapIn
    lifetime: CapIn


class ArmSpec(Struct, forbid_unknown_fields=True):
    """An adjustable rate: after `fixed_months` the rate becomes index + margin
    (optionally rounded to 1/8), limited by the caps and the floor, every
    `adjust_every_months`; the balance is re-amortized at each change."""

    fixed_months: Annotated[int, Meta(ge=1, le=479, description="Months before the first change.")]
    adjust_every_months: Annotated[int, Meta(ge=1, le=120)]
    margin: RateIn
    initial_rate: RateIn | None = None
    """Defaults to the request's annual_rate."""
    index_path: Annotated[
        list[IndexIn],
        Meta(
            max_length=480,
            description="One index value per adjustment; a shorter path holds its last value.",
        ),
    ] = []
    current_index: IndexIn | None = None
    """Held flat when index_path is empty."""
    caps: ArmCaps | None = None
    floor: FloorIn | None = None
    """Lowest rate; defaults to the margin."""
    rate_rounding: Literal["none", "nearest_eighth"] = "none"


class AmortizationRequest(Struct, forbid_unknown_fields=True):
    """A loan to amortize. `start_date` is the first payment's due date (the
    first of next month when absent). `balloon_months` makes the loan due
    after that many payments: payments still amortize over `term_months` and
    the last one also repays the remaining balance. `biweekly` pays half the
    monthly payment every two weeks (fixed-rate loans only)."""

    principal: Loan
    annual_rate: RateIn
    term_months: TermMonths
    start_date: DateIn | None = None
    extra_monthly: Amount | None = None
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

    amount: Loan
    first_date: DateIn
    count: Annotated[int, Meta(ge=1, le=1200)] = 1
    frequency: Frequency = "monthly"


class AprRequest(Struct, forbid_unknown_fields=True):
    """One advance repaid by one or more payment groups (several groups
    describe odd first or final payments)."""

    amount_financed: Loan
    advance_date: DateIn
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

    annual_income: Loan
    down_payment: Amount
    annual_rate: RateIn
    monthly_debts: Amount = Decimal(0)
    term_months: TermMonths = 360
    program: Literal["conventional", "fha", "va"] = "conventional"
    credit_score: CreditScore = 740
    property_tax_rate: PropertyTaxRateIn | None = None
    """% of the price a year; defaults to a national average."""
    insurance_annual: InsuranceIn | None = None
    hoa_monthly: HoaIn = Decimal(0)
    front_dti_limit: DtiLimitIn | None = None
    back_dti_limit: DtiLimitIn | None = None
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

    current_balance: Loan
    current_rate: RateIn
    remaining_months: TermMonths
    new_rate: RateIn
    new_term_months: TermMonths = 360
    closing_costs: Amount = Decimal(0)
    points: PointsIn = Decimal(0)
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

    price: HomePrice
    down_payment: Amount
    credit_score: CreditScore
    state: UsState
    annual_income: Loan | None = None
    monthly_debts: Amount | None = None
    products: Annotated[list[ProductName], Meta(min_length=1)] | None = None
    points: PointsIn = Decimal(0)
    property_tax_annual: PropertyTaxIn | None = None
    insurance_annual: InsuranceIn | None = None
    hoa_monthly: HoaIn = Decimal(0)
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
    return msgspec.convert(decode_json(data), type_)


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
