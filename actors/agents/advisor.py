"""mortgage_advisor: three to six recommendations on a mortgage calculation,
each with what it is worth per month and over the loan.

The built-in advisor is the rules in advice.py and payment_plans.py. A model
may choose among the same candidates and word them better, but it is shown
the engine's results and held to them: each recommendation must be one the
engine found, carry the engine's impact unchanged, and quote no figure the
engine did not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from actors.agents.advice import MAX_SHOWN, MUST_SHOW, analyse
from actors.agents.base import Agent
from actors.agents.canonical import input_hash
from actors.calculation.money import first_payment_date
from actors.calculation.pricing import LlpaGrid
from protocols.api.agents import AdvisorInput, AdvisorOutput


class MortgageAdvisor(Agent[AdvisorInput, AdvisorOutput]):
    """Recommendations on a mortgage calculation, every figure from the engine."""

    name = "mortgage_advisor"
    input_type = AdvisorInput
    output_type = AdvisorOutput
    prompt = """
You are a mortgage advisor writing for a home buyer. INPUT is their
calculation; ENGINE_FACTS.candidates are the recommendations the mortgage
engine found, in order of importance, each with its figures. Choose 3 to 6
of them, most useful first, and rewrite each title and detail in plain,
friendly words. Keep each recommendation's kind and impact exactly as given.
Never leave out dti_limit, remove_pmi, jumbo_threshold or points_break_even
when they are among the candidates, and keep every figure and date they give.
"""

    def __init__(
        self,
        llpa_grid: LlpaGrid | None = None,
        today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
    ) -> None:
        # the grid the calculation prices with, so advice and quote agree
        self.llpa_grid = llpa_grid
        self.today = today  # dates in advice count from the first of next month
        if llpa_grid is not None:
            self.variant = "llpa " + input_hash(
                [llpa_grid.score_floors, llpa_grid.ltv_ceilings, llpa_grid.tables]
            )

    def builtin(self, data: AdvisorInput) -> AdvisorOutput:
        return self.solve(data)[0]

    def solve(self, data: AdvisorInput, priced: Any = None) -> tuple[AdvisorOutput, Any]:
        first = first_payment_date(self.today())
        situation, found = analyse(data, self.llpa_grid, priced, first_payment=first)
        q = situation.chosen
        facts = {
            "chosen_quote": msgspec.to_builtins(
                {
                    "product": q.product,
                    "rate": q.rate,
                    "apr": q.apr,
                    "payment": q.payment,
                    "piti": q.piti,
                    "pmi_monthly": q.pmi_monthly,
                    "total_interest": q.total_interest,
                    "loan_amount": q.loan_amount,
                    "cash_to_close": q.cash_to_close,
                    "eligible": q.eligible,
                    "reason": q.reason,
                }
            ),
            "candidates": msgspec.to_builtins(found),
        }
        return AdvisorOutput(recommendations=found[:MAX_SHOWN]), facts

    def check(self, data: AdvisorInput, answer: AdvisorOutput, facts: Any) -> str | None:
        impacts = {
            c["kind"]: (Decimal(c["impact"]["monthly"]), Decimal(c["impact"]["lifetime"]))
            for c in facts["candidates"]
        }
        seen: set[str] = set()
        for rec in answer.recommendations:
            if rec.kind not in impacts:
                return f"figure check: the engine found no {rec.kind} recommendation"
            if rec.kind in seen:
                return f"figure check: {rec.kind} appears twice"
            seen.add(rec.kind)
            try:
                given = (Decimal(rec.impact.monthly), Decimal(rec.impact.lifetime))
            except ArithmeticError:
                return f"figure check: the {rec.kind} impact is not a number"
            if given != impacts[rec.kind]:
                return (
                    f"figure check: the {rec.kind} impact {rec.impact.monthly}/"
                    f"{rec.impact.lifetime} is not the engine's"
                )
        left_out = [kind for kind in MUST_SHOW if kind in impacts and kind not in seen]
        if left_out:
            return f"figure check: the answer leaves out {', '.join(left_out)}"
        return super().check(data, answer, facts)
