"""The rate record every source produces and every client receives.

One type travels from the adapters through the rate book, the history table
and the WebSocket frames to the REST API, so a rate cannot change shape (or
precision) on its way. Rates are percent with three decimal places, as
`Decimal`; on the wire they are decimal strings ("6.240").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

import msgspec

Product = Literal["30y_fixed", "15y_fixed", "5_6_arm", "fha_30", "va_30", "jumbo_30"]
PRODUCTS: tuple[Product, ...] = (
    "30y_fixed",
    "15y_fixed",
    "5_6_arm",
    "fha_30",
    "va_30",
    "jumbo_30",
)
SourceName = Literal["simulated", "fred", "pmms"]
SOURCES: tuple[SourceName, ...] = ("simulated", "fred", "pmms")

PLACES = Decimal("0.001")
# A mortgage rate at or below zero, or at 25 % and above, is a broken feed
# rather than a market: the highest US average on record is about 18.6 %.
MIN_RATE = Decimal(0)
MAX_RATE = Decimal(25)


class RateRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The rate of one product as one source saw it at one time; `points`
    and `apr` are null where the source does not publish them."""

    product: Product
    rate: Decimal
    points: Decimal | None = None
    apr: Decimal | None = None
    as_of: datetime
    source: SourceName

    def same_value(self, other: RateRecord | None) -> bool:
        """A change worth publishing is a change of the numbers, not of the date."""
        return (
            other is not None
            and self.rate == other.rate
            and self.points == other.points
            and self.apr == other.apr
        )


class RatesResponse(msgspec.Struct):
    """Current rate of every product that has one."""

    rates: list[RateRecord]


class RateHistoryResponse(msgspec.Struct):
    """Stored observations of one product, oldest first; `truncated` says the
    range held more than the requested limit."""

    product: Product
    observations: list[RateRecord]
    truncated: bool = False


def to_decimal(value: object) -> Decimal:
    """Percent figure from a string or number, quantized to three places."""
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number.quantize(PLACES)


def channel_of(product: Product) -> str:
    return f"rates:{product}"


RATE_CHANNELS: tuple[str, ...] = ("rates", *(channel_of(p) for p in PRODUCTS))
