"""The main calculation flow's pure steps: live rates in, the document out.

The calculation actor prices the options from the rate book, then asks the
advisor and stores the result. Everything in between that needs no I/O is
here: which rates a calculation uses, how a product without a live rate is
shown, which option the advisor is asked about (or why it is not asked),
and the notes that tell a client its recommendations are missing.

The calculation does not import the agents (they use this engine): it asks
the actor named ADVISOR_ACTOR with `Advise`, a request stated in its own
terms, and the agent manager answers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from actors.calculation.products import CATALOG
from actors.calculation.quote import ProductQuote
from protocols.api.agents import AdvisorInput, Recommendation
from protocols.api.mortgage import CalculateRequest, CalculateResponse, QuoteOption
from protocols.rate_sources.records import RateRecord

NO_LIVE_RATE = "no live rate"

ADVISOR = "mortgage_advisor"
ADVISOR_ACTOR = "agents.manager"
ADVISOR_NEEDS = ("30y_fixed", "15y_fixed")
"""Products the advisor compares every calculation with."""
MIN_ADVICE_POINTS = Decimal(0)
MAX_ADVICE_POINTS = Decimal(4)

NOTE_UNAVAILABLE = (
    "recommendations are unavailable: the advisor is not running right now; "
    "the options are complete"
)
NOTE_SLOW = (
    "recommendations are missing: the advisor did not answer within {seconds:g} s; "
    "the options are complete, and asking again shortly should bring them"
)
NOTE_FAILED = (
    "recommendations are unavailable: the advisor could not answer this calculation; "
    "the options are complete"
)
NOTE_NO_BASE_RATES = (
    "no recommendations: they compare against the 30-year and 15-year fixed rates, "
    "and the rate book has no live {missing} rate"
)
NOTE_NO_FIXED_OPTION = (
    "no recommendations: they are about a fixed-rate option, and none could be priced"
)
NOTE_POINTS = "no recommendations: they cover 0 to 4 discount points, not {points}"


@dataclass(frozen=True)
class Advise:
    """Recommendations on `question`, from the quotes the calculation priced
    (the advisor prices only the variations it compares them with).

    The reply is a concurrent.futures.Future of the agents' Answer; a late
    answer still reaches their cache."""

    question: AdvisorInput
    quotes: Mapping[str, ProductQuote]
    user_id: str | None = None


class CalculationDocument(CalculateResponse, kw_only=True):
    """What POST /api/mortgage/calculate answers and GET returns, byte for byte.

    `note` says why `recommendations` is empty when the advisor was not
    asked, was not running or was too slow; the options are complete then.
    """

    # The advisor's own type, narrower than the base's dicts, so the OpenAPI
    # document shows what a recommendation holds.
    recommendations: list[Recommendation] = msgspec.field(  # type: ignore[assignment]
        default_factory=list
    )
    note: str | None = None
    created_at: dt.datetime


class CalculationEntry(CalculationDocument, kw_only=True):
    """One of a user's stored calculations, with the inputs it answered."""

    inputs: CalculateRequest


class CalculationPage(msgspec.Struct):
    """A signed-in user's calculations, newest first; `next_offset` is null
    on the last page."""

    calculations: list[CalculationEntry]
    next_offset: int | None = None


def live_rates(records: Mapping[str, RateRecord]) -> dict[str, Decimal]:
    """The zero-point market rate of every product the book has."""
    return {product: record.rate for product, record in records.items()}


def mark_unpriced(
    options: Iterable[QuoteOption], rates: Mapping[str, Decimal]
) -> list[QuoteOption]:
    """A product the book has no rate for is ineligible for that reason alone."""
    return [
        msgspec.structs.replace(option, eligible=False, reason=NO_LIVE_RATE)
        if option.product not in rates
        else option
        for option in options
    ]


def rates_as_of(records: Iterable[RateRecord], default: dt.datetime) -> dt.datetime:
    """When the newest rate used was observed; `default` when none was."""
    return max((record.as_of for record in records), default=default)


def advised_product(options: Sequence[QuoteOption]) -> str | None:
    """The fixed-rate option the buyer would lean to: the first eligible
    one, else the first priced one, in the order the options are shown."""
    fixed = [o for o in options if o.rate is not None and CATALOG[o.product].arm is None]
    eligible = [o for o in fixed if o.eligible]
    chosen = eligible or fixed
    return chosen[0].product if chosen else None


def past_rates(stored: Any) -> dict[str, Decimal]:
    """Rates from a stored calculation's snapshot (a list of rate records)."""
    return {item["product"]: Decimal(str(item["rate"])) for item in stored or ()}


def advisor_input(
    request: CalculateRequest,
    options: Sequence[QuoteOption],
    rates: Mapping[str, Decimal],
    *,
    previous_rates: Mapping[str, Decimal] | None = None,
    previous_as_of: dt.datetime | None = None,
) -> AdvisorInput | str:
    """The advisor's question about this calculation, or the note saying why
    there is none to ask."""
    missing = [name for name in ADVISOR_NEEDS if name not in rates]
    if missing:
        return NOTE_NO_BASE_RATES.format(missing=" or ".join(m.replace("_", " ") for m in missing))
    if not MIN_ADVICE_POINTS <= request.points <= MAX_ADVICE_POINTS:
        return NOTE_POINTS.format(points=request.points)
    product = advised_product(options)
    if product is None:
        return NOTE_NO_FIXED_OPTION
    previous = {p: r for p, r in (previous_rates or {}).items() if p in CATALOG and r > 0}
    try:
        return AdvisorInput(
            price=request.price,
            down_payment=request.down_payment,
            credit_score=request.credit_score,
            state=request.state,
            market_rates=dict(rates),  # type: ignore[arg-type]
            product=product,  # type: ignore[arg-type]
            annual_income=request.annual_income,
            monthly_debts=request.monthly_debts,
            points=request.points,
            property_tax_annual=request.property_tax_annual,
            insurance_annual=request.insurance_annual,
            hoa_monthly=request.hoa_monthly,
            va_eligible=request.va_eligible,
            first_time_buyer=request.first_time_buyer,
            previous_rates=previous,  # type: ignore[arg-type]
            previous_as_of=previous_as_of if previous else None,
        )
    except (ValueError, TypeError, msgspec.ValidationError):
        return NOTE_FAILED
