"""Request and response types of the AI agents.

Every money figure and rate is a Decimal (a decimal string in JSON; inputs
accept strings or numbers). Answer types forbid unknown fields so a model's
structured output is held to exactly this shape.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_type_hints

import msgspec
from msgspec import Meta

from protocols.api.decimals import Bounds
from protocols.api.mortgage import (
    AMOUNT,
    HOME,
    RATE,
    Amount,
    CreditScore,
    DateTimeIn,
    HoaIn,
    HomePrice,
    IndexIn,
    InsuranceIn,
    PropertyTaxIn,
    UsState,
)
from protocols.api.mortgage_rules import fits
from protocols.problems import BROKEN_RULE, FieldError, Problem
from protocols.rate_sources.records import Product as ProductName

NEEDED_RATES = ("30y_fixed", "15y_fixed")
NO_NUL = "^[^\x00]*$"  # PostgreSQL text cannot hold U+0000
LOAN_RATE = Bounds(0, RATE.high, RATE.places, low_open=True)
ADVISOR_POINTS = Bounds(0, 4, RATE.places)

Rate = Annotated[Decimal, LOAN_RATE.meta('Annual percentage, e.g. "6.500".'), LOAN_RATE]
RateMap = dict[ProductName, Rate]
AdvisorPoints = Annotated[Decimal, ADVISOR_POINTS.meta("Discount points."), ADVISOR_POINTS]
LoanType = Literal["conventional", "fha", "va"]
FixedProduct = Literal["30y_fixed", "15y_fixed", "fha_30", "va_30", "jumbo_30"]
RecommendationKind = Literal[
    "dti_limit",
    "rate_lock",
    "remove_pmi",
    "points_break_even",
    "credit_score",
    "arm_caps",
    "shorter_term",
    "longer_term",
    "extra_payment",
    "biweekly",
    "jumbo_threshold",
]
Tier = Literal["hot", "warm", "cold"]


# ---- mortgage_advisor --------------------------------------------------------


class AdvisorInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A mortgage calculation to advise on, in the calculation's own terms:
    the buyer, the live market rate of each product, and the option the
    buyer leans to. The advisor reruns the engine on these inputs rather
    than trusting figures it is handed. Every range is the mortgage
    routes' own (protocols/api/mortgage.py)."""

    price: HomePrice
    down_payment: Amount
    credit_score: CreditScore
    state: UsState
    market_rates: Annotated[
        RateMap,
        Meta(
            description="Zero-point market rate by product; 30y_fixed and 15y_fixed needed.",
            extra_json_schema={"required": list(NEEDED_RATES)},
        ),
    ]
    product: Annotated[
        FixedProduct, Meta(description="The fixed-rate option the buyer leans to.")
    ] = "30y_fixed"
    annual_income: Amount | None = None
    monthly_debts: Amount | None = None
    points: AdvisorPoints = Decimal(0)
    property_tax_annual: PropertyTaxIn | None = None
    insurance_annual: InsuranceIn | None = None
    hoa_monthly: HoaIn = Decimal(0)
    va_eligible: bool = False
    first_time_buyer: bool = False
    years_in_home: Annotated[int, Meta(ge=1, le=40)] | None = None
    arm_index: IndexIn | None = None
    previous_rates: Annotated[
        RateMap,
        Meta(description="Market rates at the buyer's earlier quote (or a week ago)."),
    ] = {}
    previous_as_of: DateTimeIn | None = None


def advisor_rules(d: AdvisorInput) -> list[FieldError]:
    """What no schema can state: the down payment below the price, and a
    market rate for each product the advice needs."""
    errors = []
    if fits(d.price, HOME) and fits(d.down_payment, AMOUNT) and d.down_payment >= d.price:
        errors.append(FieldError("/down_payment", f"must be less than price ({d.price})"))
    for needed in dict.fromkeys((*NEEDED_RATES, d.product)):
        if needed not in d.market_rates:
            errors.append(FieldError(f"/market_rates/{needed}", "is required"))
    return errors


class Impact(msgspec.Struct, forbid_unknown_fields=True):
    """What acting on the advice is worth in dollars, per month and over the
    loan (or the stay): positive saves, negative costs more."""

    monthly: str
    lifetime: str


class Recommendation(msgspec.Struct, forbid_unknown_fields=True):
    kind: RecommendationKind
    title: str
    detail: str
    impact: Impact


class AdvisorOutput(msgspec.Struct, forbid_unknown_fields=True):
    recommendations: Annotated[list[Recommendation], Meta(min_length=3, max_length=6)]


# ---- lead_qualifier ----------------------------------------------------------


class LeadInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A prospective borrower as the lead form captured them, in the ranges
    of the mortgage routes."""

    loan_amount: HomePrice
    home_price: HomePrice | None = None
    monthly_income: Amount | None = None
    monthly_debts: Amount = Decimal(0)
    credit_score: CreditScore | None = None
    timeline_months: Annotated[int, Meta(ge=0, le=120)] | None = None
    preapproved: bool = False
    loan_type: LoanType = "conventional"
    rate: Rate | None = None
    term_years: Annotated[int, Meta(ge=5, le=40)] = 30
    message: Annotated[str, Meta(max_length=2000, pattern=NO_NUL)] = ""


def check_input(body: Any) -> None:
    """The route's rule check (server.routing `check=`): a 422 of type
    BROKEN_RULE naming every field a rule refuses."""
    errors = advisor_rules(body) if isinstance(body, AdvisorInput) else []
    if errors:
        raise Problem(
            422,
            "Invalid input",
            "; ".join(f"{e.pointer}: {e.detail}" for e in errors),
            errors=errors,
            type=BROKEN_RULE,
        )


class LeadOutput(msgspec.Struct, forbid_unknown_fields=True):
    score: Annotated[int, Meta(ge=0, le=100)]
    tier: Tier
    reasons: Annotated[list[str], Meta(min_length=1, max_length=8)]


# ---- answers as the API returns them -----------------------------------------

ANSWER_META_FIELDS: list[tuple[str, Any]] = [
    ("provider", Literal["openai", "builtin"]),
    ("cached", bool),
    ("interaction_id", int | None),
    ("model", str | None),
    ("reason", str | None),
]
"""What every answer carries besides the agent's output: which provider
answered, whether a cache served it, the stored interaction, the model, and
why the built-in advisor answered when a model was configured."""

_ANSWER_TYPES: dict[type[Any], type[msgspec.Struct]] = {}


def answer_type(output_type: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The response type of an agent: its output's fields plus the answer
    meta fields, as one flat object ("AdvisorOutput" → "AdvisorAnswer")."""
    made = _ANSWER_TYPES.get(output_type)
    if made is None:
        hints = get_type_hints(output_type, include_extras=True)
        fields = [(f.name, hints[f.name]) for f in msgspec.structs.fields(output_type)]
        name = output_type.__name__.removesuffix("Output") + "Answer"
        made = msgspec.defstruct(name, fields + ANSWER_META_FIELDS, kw_only=True, module=__name__)
        _ANSWER_TYPES[output_type] = made
    return made


class InteractionsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    limit: Annotated[int, Meta(ge=1, le=200)] = 50
    offset: Annotated[int, Meta(ge=0)] = 0
    agent: Annotated[str, Meta(pattern=NO_NUL)] | None = None
    user_id: Annotated[str, Meta(pattern=NO_NUL)] | None = None


class InteractionView(msgspec.Struct, kw_only=True):
    id: int
    agent: str
    input_hash: str
    input: Any
    output: Any
    provider: str
    model: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal
    latency_ms: Decimal
    cache_level: str
    source_id: int | None
    error: str | None
    user_id: str | None
    created_at: datetime


class InteractionsPage(msgspec.Struct, kw_only=True):
    items: list[InteractionView]
    total: int
    limit: int
    offset: int
