"""Adjustable-rate mortgages: the rate path a note produces, and its schedule.

At each change date the fully indexed rate (index + margin, optionally
rounded to the nearest 1/8 point) is limited in the order the note states:
the initial cap on the first change and the periodic cap afterwards (both
measured from the rate in force), then the lifetime ceiling (initial rate +
lifetime cap), then the floor (the margin unless the note says otherwise).
The balance is re-amortized over the remaining term at every change date,
even when the rate did not move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Literal

from actors.calculation.amortization import Schedule, amortize
from actors.calculation.money import ZERO

RateRounding = Literal["none", "nearest_eighth"]

_EIGHTHS = Decimal(8)


@dataclass(frozen=True, slots=True)
class ArmTerms:
    initial_rate: Decimal
    fixed_months: int
    adjust_every_months: int
    margin: Decimal
    initial_cap: Decimal
    periodic_cap: Decimal
    lifetime_cap: Decimal
    floor: Decimal | None = None
    rate_rounding: RateRounding = "none"

    @property
    def ceiling(self) -> Decimal:
        return self.initial_rate + self.lifetime_cap

    @property
    def effective_floor(self) -> Decimal:
        return self.margin if self.floor is None else self.floor


def round_rate(rate: Decimal, rounding: RateRounding) -> Decimal:
    if rounding == "nearest_eighth":
        return (rate * _EIGHTHS).quantize(Decimal(1), rounding=ROUND_HALF_UP) / _EIGHTHS
    return rate


def change_dates(terms: ArmTerms, term_months: int) -> list[int]:
    """Payment numbers from which a new rate applies."""
    if terms.fixed_months <= 0 or terms.adjust_every_months <= 0:
        raise ValueError("fixed_months and adjust_every_months must be positive")
    return list(range(terms.fixed_months + 1, term_months + 1, terms.adjust_every_months))


def next_rate(terms: ArmTerms, current: Decimal, index: Decimal, first_change: bool) -> Decimal:
    """The rate after one change date."""
    target = round_rate(index + terms.margin, terms.rate_rounding)
    cap = terms.initial_cap if first_change else terms.periodic_cap
    rate = min(max(target, current - cap), current + cap)
    rate = min(rate, terms.ceiling)
    return max(rate, terms.effective_floor)


def rate_path(
    terms: ArmTerms,
    term_months: int,
    index_path: Sequence[Decimal] = (),
    current_index: Decimal | None = None,
) -> dict[int, Decimal]:
    """Payment number → rate from then on, one entry per change date.

    `index_path` holds one index value per adjustment; a shorter path holds
    its last value, and no path holds `current_index` flat.
    """
    if index_path:
        return _path(terms, term_months, index_path)
    if current_index is None:
        raise ValueError("an ARM needs an index path or the current index")
    return dict(_flat_path(terms, term_months, current_index))


@lru_cache(maxsize=1024)
def _flat_path(
    terms: ArmTerms, term_months: int, index: Decimal
) -> tuple[tuple[int, Decimal], ...]:
    """A flat index's path: every quote of one rate band shares it."""
    return tuple(_path(terms, term_months, (index,)).items())


def _path(terms: ArmTerms, term_months: int, path: Sequence[Decimal]) -> dict[int, Decimal]:
    rates: dict[int, Decimal] = {}
    rate = terms.initial_rate
    for k, month in enumerate(change_dates(terms, term_months)):
        index = path[min(k, len(path) - 1)]
        rate = next_rate(terms, rate, index, first_change=k == 0)
        rates[month] = rate
    return rates


def amortize_arm(
    principal: Decimal,
    term_months: int,
    terms: ArmTerms,
    index_path: Sequence[Decimal] = (),
    current_index: Decimal | None = None,
    *,
    extra_monthly: Decimal = ZERO,
    lump_sums: Mapping[int, Decimal] | None = None,
    interest_only_months: int = 0,
    balloon_months: int | None = None,
) -> Schedule:
    return amortize(
        principal,
        terms.initial_rate,
        term_months,
        extra_monthly=extra_monthly,
        lump_sums=lump_sums,
        interest_only_months=interest_only_months,
        balloon_months=balloon_months,
        rate_changes=rate_path(terms, term_months, index_path, current_index),
    )
