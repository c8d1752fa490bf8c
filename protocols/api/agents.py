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

from protocols.rate_sources.records import Product as ProductName

Money = Annotated[Decimal, Meta(description="US dollars, as a decimal string")]
Percent = Annotated[Decimal, Meta(description='Percent, e.g. "6.500"')]
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


def _fail(path: str, detail: str) -> None:
    # msgspec's own error shape, so the 422 points at the field (/arm/margin).
    raise ValueError(f"{detail} - at `$.{path}`")


def _positive(value: Decimal, path: str) -> None:
    if not value.is_finite() or value <= 0:
        _fail(path, "must be greater than 0")


def _not_negative(value: Decimal, path: str) -> None:
    if not value.is_finite() or value < 0:
        _fail(path, "must not be negative")


def _percent(value: Decimal, path: str, *, positive: bool = False) -> None:
    if not value.is_finite() or value < 0 or value > 100 or (positive and value == 0):
        _fail(path, "must be a percentage between 0 and 100" + (", above 0" if positive else ""))


# ---- mortgage_advisor --------------------------------------------------------


class AdvisorInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A mortgage calculation to advise on, in the calculation's own terms:
    the buyer, the live market rate of each product, and the option the
    buyer leans to. The advisor reruns the engine on these inputs rather
    than trusting figures it is handed."""

    price: Money
    down_payment: Money
    credit_score: Annotated[int, Meta(ge=300, le=850)]
    state: Annotated[str, Meta(pattern="^[A-Z]{2}$", description="Two-letter US state code.")]
    market_rates: Annotated[
        dict[ProductName, Percent],
        Meta(description="Zero-point market rate by product; 30y_fixed and 15y_fixed needed."),
    ]
    product: Annotated[
        FixedProduct, Meta(description="The fixed-rate option the buyer leans to.")
    ] = "30y_fixed"
    annual_income: Money | None = None
    monthly_debts: Money | None = None
    points: Annotated[Decimal, Meta(description="Discount points, 0 to 4")] = Decimal(0)
    property_tax_annual: Money | None = None
    insurance_annual: Money | None = None
    hoa_monthly: Money = Decimal(0)
    va_eligible: bool = False
    first_time_buyer: bool = False
    years_in_home: Annotated[int, Meta(ge=1, le=40)] | None = None
    arm_index: Percent | None = None
    previous_rates: Annotated[
        dict[ProductName, Percent],
        Meta(description="Market rates at the buyer's earlier quote (or a week ago)."),
    ] = {}
    previous_as_of: datetime | None = None

    def __post_init__(self) -> None:
        _positive(self.price, "price")
        _not_negative(self.down_payment, "down_payment")
        if self.down_payment >= self.price:
            _fail("down_payment", "must be less than price")
        for name in ("annual_income", "monthly_debts", "property_tax_annual", "insurance_annual"):
            value = getattr(self, name)
            if value is not None:
                _not_negative(value, name)
        _not_negative(self.hoa_monthly, "hoa_monthly")
        if not 0 <= self.points <= 4:
            _fail("points", "must be between 0 and 4")
        for needed in ("30y_fixed", "15y_fixed"):
            if needed not in self.market_rates:
                _fail(f"market_rates.{needed}", "is required")
        if self.product not in self.market_rates:
            _fail(f"market_rates.{self.product}", "is required for the chosen product")
        for label, rates in (
            ("market_rates", self.market_rates),
            ("previous_rates", self.previous_rates),
        ):
            for name, rate in rates.items():
                _percent(rate, f"{label}.{name}", positive=True)
        if self.arm_index is not None:
            _percent(self.arm_index, "arm_index")


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
    """A prospective borrower as the lead form captured them."""

    loan_amount: Money
    home_price: Money | None = None
    monthly_income: Money | None = None
    monthly_debts: Money = Decimal(0)
    credit_score: Annotated[int, Meta(ge=300, le=850)] | None = None
    timeline_months: Annotated[int, Meta(ge=0, le=120)] | None = None
    preapproved: bool = False
    loan_type: LoanType = "conventional"
    rate: Percent | None = None
    term_years: Annotated[int, Meta(ge=5, le=40)] = 30
    message: Annotated[str, Meta(max_length=2000)] = ""

    def __post_init__(self) -> None:
        _positive(self.loan_amount, "loan_amount")
        if self.home_price is not None:
            _positive(self.home_price, "home_price")
        if self.monthly_income is not None:
            _not_negative(self.monthly_income, "monthly_income")
        _not_negative(self.monthly_debts, "monthly_debts")
        if self.rate is not None:
            _percent(self.rate, "rate", positive=True)


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
    agent: str | None = None
    user_id: str | None = None


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
