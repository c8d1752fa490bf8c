"""A calculation as the advisor sees it: the engine's quote for every
product on offer, from the buyer's inputs, and the option they lean to.
Rules compare this against variations of itself (more down, another score,
the earlier market rate), each again quoted by the engine.

A calculation hands over the quotes it priced, so only the products it did
not show (and the variations) are priced here; asked directly, through the
agents' API, the advisor prices every product itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from actors.calculation.money import ZERO, add_months, first_payment_date
from actors.calculation.pricing import LlpaGrid, load_grid
from actors.calculation.products import CATALOG
from actors.calculation.quote import ProductQuote, quote_options
from actors.calculation.totals import loan_totals
from protocols.api.agents import AdvisorInput

LABELS = {
    "30y_fixed": "30-year fixed",
    "15y_fixed": "15-year fixed",
    "5_6_arm": "5/6 ARM",
    "fha_30": "30-year FHA",
    "va_30": "30-year VA",
    "jumbo_30": "30-year jumbo",
}


class Situation:
    """The calculation: one engine quote per product, the chosen one, and
    the chosen loan's schedule figures."""

    def __init__(
        self,
        data: AdvisorInput,
        llpa_grid: LlpaGrid | None = None,
        priced: Mapping[str, ProductQuote] | None = None,
        first_payment: dt.date | None = None,
    ) -> None:
        self.data = data
        self.first_payment = first_payment or first_payment_date(dt.datetime.now(dt.UTC).date())
        self.llpa_grid = llpa_grid
        self.product = CATALOG[data.product]
        self.term = self.product.term_months
        given = {name: q for name, q in (priced or {}).items() if name in data.market_rates}
        missing: list[str] = [name for name in data.market_rates if name not in given]
        fresh = {q.product: q for q in self.quote(missing)} if missing else {}
        self.quotes = {name: given.get(name) or fresh[name] for name in data.market_rates}
        self.chosen = self.quotes[data.product]
        if self.chosen.rate is None or self.chosen.loan_amount is None:
            raise ValueError(f"{data.product} cannot be priced: {self.chosen.reason}")
        self.rate: Decimal = self.chosen.rate
        self.loan: Decimal = self.chosen.loan_amount
        self.totals = loan_totals(self.loan, self.rate, self.term)

    def quote(self, products: list[str] | None = None, **changes: Any) -> list[ProductQuote]:
        d = self.data
        args: dict[str, Any] = {
            "price": d.price,
            "down_payment": d.down_payment,
            "credit_score": d.credit_score,
            "state": d.state,
            "market_rates": dict(d.market_rates),
            "annual_income": d.annual_income,
            "monthly_debts": d.monthly_debts or ZERO,
            "points": d.points,
            "property_tax_annual": d.property_tax_annual,
            "insurance_annual": d.insurance_annual,
            "hoa_monthly": d.hoa_monthly,
            "va_eligible": d.va_eligible,
            "first_time_buyer": d.first_time_buyer,
            "arm_index": d.arm_index,
        }
        args.update(changes)
        price, down, score, state, rates = (
            args.pop(k) for k in ("price", "down_payment", "credit_score", "state", "market_rates")
        )
        names = list(rates) if products is None else products
        return quote_options(
            price, down, score, state, rates, products=names, llpa_grid=self.llpa_grid, **args
        )

    def requote(self, **changes: Any) -> ProductQuote:
        """The chosen product again with some inputs changed."""
        return self.quote([self.data.product], **changes)[0]

    def month_of(self, payment: int) -> str:
        """When payment number `payment` (from 1) falls due: "March 2034"."""
        return add_months(self.first_payment, payment - 1).strftime("%B %Y")

    @property
    def score_floors(self) -> tuple[int, ...]:
        """The credit bands of the grid this deployment prices with."""
        return (self.llpa_grid or load_grid()).score_floors

    @property
    def label(self) -> str:
        return LABELS[self.data.product]
