"""Current rates and rate history over REST, and the rate book's start-up.

`rate_book_service` is a start-up service (it runs after storage and before
the actors): it loads the book from the database, hands it to the actors as
deps["rate_book"] and reports each source's health to /readyz.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import msgspec
from aiohttp import web

from actors.rates import RateBook, RatesConfig, load_book
from actors.rates.store import from_row
from protocols.problems import BROKEN_RULE, FieldError, Problem
from protocols.rate_sources.records import Product, RateHistoryResponse, RatesResponse
from server import keys
from server.keys import RATE_BOOK
from server.routing import ApiRoutes
from storage.rates import observation_history

routes = ApiRoutes(tag="rates")


DEFAULT_HISTORY_DAYS = 90


class HistoryQuery(msgspec.Struct, forbid_unknown_fields=True):
    product: Product
    from_: date | None = msgspec.field(name="from", default=None)
    to: date | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000


@routes.get("/api/rates", response=RatesResponse, summary="Current rate of every product")
async def current_rates(request: web.Request) -> RatesResponse:
    return RatesResponse(rates=request.app[RATE_BOOK].snapshot.ordered())


@routes.get(
    "/api/rates/history",
    query=HistoryQuery,
    response=RateHistoryResponse,
    summary="Stored observations of one product, oldest first (dates inclusive, UTC)",
)
async def rate_history(request: web.Request, query: HistoryQuery) -> RateHistoryResponse:
    to = query.to or datetime.now(UTC).date()
    start = query.from_ or to - timedelta(days=DEFAULT_HISTORY_DAYS)
    if start > to:
        raise Problem(
            400,
            "Invalid query parameter",
            "parameter from: must not be after `to`",
            errors=[FieldError(pointer="/from", detail="must not be after `to`")],
            type=BROKEN_RULE,
        )
    rows = await observation_history(
        request.app[keys.DB].pool,
        query.product,
        datetime.combine(start, time(), UTC),
        datetime.combine(to + timedelta(days=1), time(), UTC),
        limit=query.limit + 1,
    )
    records = [from_row(row) for row in rows[: query.limit]]
    return RateHistoryResponse(
        product=query.product, observations=records, truncated=len(rows) > query.limit
    )


async def rate_book_service(app: web.Application) -> AsyncIterator[None]:
    """Load the rate book before the fetchers start; it outlives their restarts."""
    config = RatesConfig.from_settings(app[keys.CONFIG])
    book = await load_book(app[keys.DB].pool, config)
    app[RATE_BOOK] = book
    app[keys.DEPS]["rate_book"] = book

    async def readiness() -> list[keys.Readiness]:
        leadership = app[keys.DEPS].get("leadership")
        if leadership is not None and not leadership.leader:
            return [keys.Readiness("rates", True, "another node fetches the rates", critical=False)]
        return rates_readiness(book)

    app[keys.READINESS_CHECKS].append(readiness)
    yield


def rates_readiness(book: RateBook) -> list[keys.Readiness]:
    """One informational line per rate source for /readyz: serving the last
    good rates while a source is down is degraded, not unavailable."""
    parts = []
    for source, status in book.health.status().items():
        detail = "" if status["healthy"] else str(status["last_error"])
        parts.append(
            keys.Readiness(f"rates:{source}", bool(status["healthy"]), detail, critical=False)
        )
    return parts
