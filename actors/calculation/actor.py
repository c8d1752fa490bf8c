"""The calculation actor: prices a purchase from live rates, asks the advisor,
stores the answer.

Pricing is CPU work and runs in the actor's thread, one calculation at a
time per worker (a small pool shares the load): the actor replies with the
`Priced` calculation. The rest is waiting, for the advisor and for
PostgreSQL, so the caller finishes it on the server's loop (`finish`) while
the worker prices the next one. The advisor's answer is optional: when
the agent manager is down, slow or has nothing to say, the calculation is
stored and served without recommendations and with a note saying why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from prometheus_client import Counter

from actors.calculation import flow
from actors.calculation.pricing import LlpaGrid, load_grid
from actors.calculation.quote import ProductQuote
from actors.calculation.service import calculate_quotes, quote_option
from actors.runtime import ActorContext, ActorSystem, ActorUnavailable, RatelineActor
from protocols.api.agents import Recommendation
from protocols.api.mortgage import CalculateRequest, QuoteOption
from protocols.rate_sources.records import RateRecord
from storage import calculations as store

log = logging.getLogger("rateline.calculation")

CALCULATIONS = Counter(
    "rateline_calculations_total",
    "Calculations served, by what became of their recommendations.",
    ["recommendations"],
)

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class CalcOptions:
    """How the calculation workers behave.

    `advice_seconds` bounds the wait for recommendations; a late answer is
    still cached by the agents, so the next identical calculation gets it.
    `llpa_path` replaces the shipped LLPA grid.
    """

    advice_seconds: float = 5.0
    llpa_path: str | None = None


@dataclass(frozen=True)
class Calculate:
    """Price `request`; the reply is a `Priced`, for `finish` on the loop.
    `user_id` (a signed-in caller) owns the stored calculation."""

    request: CalculateRequest
    user_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Calculated:
    id: uuid.UUID
    body: bytes
    """The JSON document, exactly as stored."""


@dataclass(frozen=True)
class Priced:
    """A calculation's options at the live rates, before advice and storage."""

    request: CalculateRequest
    user_id: uuid.UUID | None
    options: list[QuoteOption]
    quotes: dict[str, ProductQuote]
    records: list[RateRecord]
    rates: dict[str, Decimal]
    advice_seconds: float


class CalculationActor(RatelineActor):
    def __init__(self, ctx: ActorContext, options: CalcOptions | None = None) -> None:
        super().__init__(ctx)
        self.options = options or CalcOptions()
        self.grid: LlpaGrid | None = None

    def on_start(self) -> None:
        if self.options.llpa_path:
            self.grid = load_grid(self.options.llpa_path)

    def handle(self, message: Any) -> Any:
        if isinstance(message, Calculate):
            return self.calculate(message)
        raise TypeError(f"{self.name} does not understand {type(message).__name__}")

    def calculate(self, message: Calculate) -> Priced:
        book = self.ctx.deps.get("rate_book")
        records: Mapping[str, RateRecord] = book.snapshot.rates if book is not None else {}
        rates = flow.live_rates(records)
        quotes = self.price(message.request, rates)
        options = flow.mark_unpriced([quote_option(q) for q in quotes], rates)
        return Priced(
            message.request,
            message.user_id,
            options,
            {q.product: q for q in quotes},
            list(records.values()),
            rates,
            self.options.advice_seconds,
        )

    def price(self, request: CalculateRequest, rates: Mapping[str, Decimal]) -> list[ProductQuote]:
        """Every requested product's quote at the live rates (the engine's work)."""
        return calculate_quotes(request, rates, llpa_grid=self.grid)


async def finish(system: ActorSystem | None, pool: Any, priced: Priced) -> Calculated:
    """On the server's loop: recommendations, then the stored document."""
    now = dt.datetime.now(dt.UTC)
    previous: dict[str, Decimal] = {}
    previous_as_of = None
    if priced.user_id is not None:
        past = await store.latest_rates_of_user(pool, priced.user_id)
        if past is not None:
            previous, previous_as_of = flow.past_rates(past.rates), past.rates_as_of
    question = flow.advisor_input(
        priced.request,
        priced.options,
        priced.rates,
        previous_rates=previous,
        previous_as_of=previous_as_of,
    )
    recommendations: list[Recommendation]
    note: str | None
    if isinstance(question, str):
        recommendations, note, outcome = [], question, "not_asked"
    else:
        user_id = None if priced.user_id is None else str(priced.user_id)
        recommendations, note, outcome = await advise(
            system, flow.Advise(question, priced.quotes, user_id), priced.advice_seconds
        )
    CALCULATIONS.labels(outcome).inc()

    calculation_id = uuid.uuid4()
    document = flow.CalculationDocument(
        id=str(calculation_id),
        rates_as_of=flow.rates_as_of(priced.records, now),
        options=priced.options,
        recommendations=recommendations,
        note=note,
        created_at=now,
    )
    body = _encode(document)
    await store.insert_calculation(
        pool,
        id=calculation_id,
        user_id=priced.user_id,
        inputs=_encode(priced.request).decode(),
        rates=_encode(priced.records).decode(),
        rates_as_of=document.rates_as_of,
        document=body.decode(),
        created_at=now,
    )
    return Calculated(calculation_id, body)


async def advise(
    system: ActorSystem | None, request: flow.Advise, seconds: float
) -> tuple[list[Recommendation], str | None, str]:
    """The advisor's recommendations, or none and a note, within `seconds`.

    The answer is shielded from our deadline: a late one still lands in the
    agents' cache for the next identical calculation.
    """
    if system is None:
        return [], flow.NOTE_UNAVAILABLE, "unavailable"
    try:
        async with asyncio.timeout(seconds):
            pending = await system.ask(flow.ADVISOR_ACTOR, request, timeout=seconds)
            waiting = asyncio.wrap_future(pending)
            waiting.add_done_callback(_quiet)
            answer = await asyncio.shield(waiting)
    except TimeoutError:
        return [], flow.NOTE_SLOW.format(seconds=seconds), "slow"
    except ActorUnavailable as exc:
        log.warning("advisor unavailable for a calculation: %s", exc)
        return [], flow.NOTE_UNAVAILABLE, "unavailable"
    except Exception:
        log.exception("advisor failed on a calculation")
        return [], flow.NOTE_FAILED, "failed"
    return list(answer.output.recommendations), None, "advised"


def _quiet(future: asyncio.Future[Any]) -> None:
    """A late answer's failure was already reported as a note; don't warn again."""
    if not future.cancelled():
        future.exception()
