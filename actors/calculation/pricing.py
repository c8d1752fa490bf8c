"""Loan-level price adjustments and the rate/points trade-off.

An LLPA is a price charged in points (percent of the loan) by credit score
band × LTV band on conventional loans over 15 years. A borrower pays it as
points or as a higher rate; the rate sheet's ladder converts between the
two. The grid ships as llpa.json beside this module (Fannie Mae's matrix)
and can be replaced by a file of the same shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

from actors.calculation.money import RATE_PLACES, ZERO

Purpose = Literal["purchase", "limited_cash_out_refinance"]

DEFAULT_GRID_PATH = Path(__file__).with_name("llpa.json")

RATE_PER_POINT = Decimal("0.25")
"""Percentage points of rate one point of price buys on a 30-year loan: a
common rule of thumb, not a published figure; pass a lender's own."""

LADDER_POINTS: Sequence[Decimal] = tuple(
    Decimal(p) for p in ("-1", "-0.5", "0", "0.5", "1", "1.5", "2")
)
"""Points offered around the zero-point rate; negative points are a lender credit."""


@dataclass(frozen=True, slots=True)
class LlpaGrid:
    score_floors: tuple[int, ...]
    """Lowest score of each band, best band first; the last is 0."""
    ltv_ceilings: tuple[Decimal | None, ...]
    """Highest LTV (inclusive, percent) of each band; None = no ceiling."""
    tables: dict[str, tuple[tuple[Decimal, ...], ...]]
    source: str = ""

    def points(self, credit_score: int, ltv: Decimal, purpose: Purpose = "purchase") -> Decimal:
        row = next(i for i, floor in enumerate(self.score_floors) if credit_score >= floor)
        column = next(
            i for i, ceiling in enumerate(self.ltv_ceilings) if ceiling is None or ltv <= ceiling
        )
        return self.tables[purpose][row][column]


@dataclass(frozen=True, slots=True)
class LadderStep:
    rate: Decimal
    points: Decimal


def parse_grid(data: dict[str, Any]) -> LlpaGrid:
    """Build a grid from llpa.json's shape, checking every table is complete."""
    floors = tuple(int(f) for f in data["score_floors"])
    ceilings = tuple(None if c is None else Decimal(str(c)) for c in data["ltv_ceilings"])
    if not floors or floors[-1] != 0 or list(floors) != sorted(floors, reverse=True):
        raise ValueError("score_floors must fall from the best band to 0")
    if not ceilings or ceilings[-1] is not None:
        raise ValueError("the last LTV band must have no ceiling")
    tables: dict[str, tuple[tuple[Decimal, ...], ...]] = {}
    for purpose in ("purchase", "limited_cash_out_refinance"):
        rows = tuple(tuple(Decimal(str(v)) for v in row) for row in data[purpose])
        if len(rows) != len(floors) or any(len(r) != len(ceilings) for r in rows):
            raise ValueError(f"the {purpose} table must be {len(floors)} × {len(ceilings)}")
        tables[purpose] = rows
    return LlpaGrid(floors, ceilings, tables, str(data.get("source", "")))


def load_grid(path: str | Path | None = None) -> LlpaGrid:
    """The shipped grid (read once), or the one at `path`."""
    if path is None:
        return _default_grid()
    return parse_grid(json.loads(Path(path).read_text(encoding="utf-8")))


@cache
def _default_grid() -> LlpaGrid:
    return parse_grid(json.loads(DEFAULT_GRID_PATH.read_text(encoding="utf-8")))


def llpa_applies(program: str, term_months: int) -> bool:
    """FHA and VA carry insurance instead; 15-year and shorter loans are exempt."""
    return program in ("conventional", "jumbo") and term_months > 180


def llpa_points(
    program: str,
    term_months: int,
    credit_score: int,
    ltv: Decimal,
    *,
    purpose: Purpose = "purchase",
    grid: LlpaGrid | None = None,
) -> Decimal:
    if not llpa_applies(program, term_months):
        return ZERO
    return (grid or _default_grid()).points(credit_score, ltv, purpose)


def quote_rate(
    market_rate: Decimal,
    llpa: Decimal,
    points: Decimal = ZERO,
    rate_per_point: Decimal = RATE_PER_POINT,
) -> Decimal:
    """The note rate: LLPA folded into the rate, less what paid points buy."""
    rate = market_rate + (llpa - points) * rate_per_point
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def ladder(
    zero_point_rate: Decimal,
    steps: Sequence[Decimal] = LADDER_POINTS,
    rate_per_point: Decimal = RATE_PER_POINT,
) -> list[LadderStep]:
    """Rate/points pairs around the zero-point rate, lowest rate last."""
    return list(_ladder(zero_point_rate, tuple(steps), rate_per_point))


@lru_cache(maxsize=1024)
def _ladder(
    zero_point_rate: Decimal, steps: tuple[Decimal, ...], rate_per_point: Decimal
) -> tuple[LadderStep, ...]:
    # Every quote at one rate shows the same ladder, and quoted rates have three
    # decimals, so a few hundred ladders serve every calculation.
    return tuple(
        LadderStep(
            rate=(zero_point_rate - p * rate_per_point).quantize(RATE_PLACES, ROUND_HALF_UP),
            points=p,
        )
        for p in steps
        if zero_point_rate - p * rate_per_point > 0
    )
