"""A simulated mortgage market, so a server with no configuration is useful.

One market factor (think the 10-year Treasury plus the mortgage spread)
drifts as a mean-reverting random walk a few basis points a tick; each
product sits at its usual spread to that factor with a little noise of its
own, and reprices on about half of the ticks, the way lenders' rate sheets
move. Seeded, so a run can be replayed exactly; it can resume from the last
published rates, so a restart does not jump back to the baseline.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from actors.rates.apr import apr
from protocols.rate_sources.records import PLACES, PRODUCTS, Product, RateRecord


@dataclass(frozen=True)
class Quote:
    rate: Decimal
    points: Decimal
    term_months: int | None  # None: no APR is quoted (adjustable rate)


# Late-2025 market levels: the 30-year fixed in the low 6s, the 15-year about
# three quarters of a point under it, government loans under conventional,
# jumbo a little above.
BASELINE: dict[Product, Quote] = {
    "30y_fixed": Quote(Decimal("6.375"), Decimal("0.700"), 360),
    "15y_fixed": Quote(Decimal("5.625"), Decimal("0.700"), 180),
    "5_6_arm": Quote(Decimal("5.990"), Decimal("0.500"), None),
    "fha_30": Quote(Decimal("6.125"), Decimal("0.900"), 360),
    "va_30": Quote(Decimal("5.875"), Decimal("0.600"), 360),
    "jumbo_30": Quote(Decimal("6.500"), Decimal("0.400"), 360),
}

# In percent per tick: the market moves about 1.5 bp a tick and is pulled
# back 2 % of the way to its baseline each tick (about 7.5 bp typical
# deviation); a product's own spread wanders by half a basis point.
MARKET_STEP = 0.015
MARKET_PULL = Decimal("0.02")
SPREAD_STEP = 0.005
SPREAD_PULL = Decimal("0.1")
REPRICE_CHANCE = 0.5
# The walk never leaves a sane band around the baseline, however long it runs.
MAX_DEVIATION = Decimal("1.5")
# Noise is drawn as a float and enters the walk rounded to a millionth of a
# percent, so the walk itself is exact decimal arithmetic.
_NOISE_PLACES = Decimal("0.000001")


class MarketSimulator:
    def __init__(self, seed: int, start: Mapping[Product, Decimal] | None = None) -> None:
        self._random = random.Random(seed)
        self._spread: dict[Product, Decimal] = dict.fromkeys(PRODUCTS, Decimal(0))
        self._market = Decimal(0)
        self._started = False
        if start:
            offsets = {p: start[p] - BASELINE[p].rate for p in PRODUCTS if p in start}
            if offsets:
                self._market = _clamp(sum(offsets.values(), Decimal(0)) / len(offsets))
                for product, offset in offsets.items():
                    self._spread[product] = _clamp(offset - self._market)

    def tick(self, now: datetime) -> list[RateRecord]:
        """Quotes of the products that repriced this tick (all of them on the first)."""
        self._market = _clamp(self._market * (1 - MARKET_PULL) + self._noise(MARKET_STEP))
        first = not self._started
        self._started = True
        records = []
        for product in PRODUCTS:
            self._spread[product] = _clamp(
                self._spread[product] * (1 - SPREAD_PULL) + self._noise(SPREAD_STEP)
            )
            if not first and self._random.random() >= REPRICE_CHANCE:
                continue
            records.append(self.quote(product, now))
        return records

    def quote(self, product: Product, now: datetime) -> RateRecord:
        base = BASELINE[product]
        rate = (base.rate + self._market + self._spread[product]).quantize(PLACES)
        return RateRecord(
            product=product,
            rate=rate,
            points=base.points,
            apr=apr(rate, base.points, base.term_months) if base.term_months else None,
            as_of=now,
            source="simulated",
        )

    def _noise(self, sigma: float) -> Decimal:
        return Decimal(repr(self._random.gauss(0.0, sigma))).quantize(_NOISE_PLACES)


def _clamp(value: Decimal) -> Decimal:
    return max(-MAX_DEVIATION, min(MAX_DEVIATION, value))
