"""The main calculation flow over HTTP: quote a purchase across the rate
products at live rates, with recommendations; read stored calculations back.

The handler checks the input (once: the engine trusts it), has a worker of
the calculation pool price it, finishes it on the loop (advice, storage) and
sends the document as stored: nothing is decoded or re-encoded on the way.
A calculation made with a session belongs to that user: only they can read
it back or list it. An anonymous one is readable by anyone holding its id
(a random UUID).
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
import orjson
from aiohttp import web

from actors.calculation.actor import Calculate, Priced, finish
from actors.calculation.flow import CalculationDocument, CalculationPage
from actors.calculation.specs import POOL
from protocols.api.mortgage import CalculateRequest, validate
from protocols.problems import Problem
from server import keys
from server.anonymous_limits import limit_anonymous
from server.auth import current_user, require_user
from server.routing import ApiRoutes
from storage import calculations as store

routes = ApiRoutes(tag="mortgage")

POOL_WAIT = 10.0
"""Seconds a calculation may wait for a free worker before a 503."""
JSON = "application/json"


class ListQuery(msgspec.Struct, forbid_unknown_fields=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


def location(calculation_id: uuid.UUID | str) -> str:
    return f"/api/mortgage/calculations/{calculation_id}"


@routes.post(
    "/api/mortgage/calculate",
    body=CalculateRequest,
    check=validate,
    response=CalculationDocument,
    summary="Quote a purchase across the rate products at live rates, with recommendations",
)
async def calculate(request: web.Request, body: CalculateRequest) -> web.Response:
    """Every product priced from the live rate book (payment, APR, PITI, cash
    to close, total interest, eligibility), the advisor's recommendations,
    stored and returned; Content-Location is where it can be read again."""
    await limit_anonymous(request)
    user = await current_user(request)
    system = request.app[keys.SYSTEM]
    priced: Priced = await system.ask_any(
        POOL, Calculate(body, None if user is None else user.id), timeout=POOL_WAIT
    )
    done = await finish(system, request.app[keys.DB].pool, priced)
    return web.Response(
        body=done.body, content_type=JSON, headers={"Content-Location": location(done.id)}
    )


@routes.get(
    "/api/mortgage/calculations/{id}",
    response=CalculationDocument,
    summary="A stored calculation, as it was served",
)
async def calculation(request: web.Request) -> web.Response:
    """A calculation made while signed in is found only with its owner's session."""
    raw = request.match_info["id"]
    try:
        calculation_id = uuid.UUID(raw)
    except ValueError:
        raise _not_found(raw) from None
    stored = await store.find_calculation(request.app[keys.DB].pool, calculation_id)
    if stored is None:
        raise _not_found(raw)
    if stored.user_id is not None:
        user = await current_user(request)
        if user is None or user.id != stored.user_id:
            raise _not_found(raw)
    return web.Response(body=stored.document.encode(), content_type=JSON)


@routes.get(
    "/api/mortgage/calculations",
    query=ListQuery,
    response=CalculationPage,
    summary="The signed-in user's calculations, newest first",
    auth="user",
)
async def my_calculations(request: web.Request, query: ListQuery) -> web.Response:
    """Each calculation as it was served, with the inputs it answered."""
    user = await require_user(request)
    rows = await store.user_calculations(
        request.app[keys.DB].pool, user.id, limit=query.limit + 1, offset=query.offset
    )
    page = rows[: query.limit]
    entries = [{**orjson.loads(row.document), "inputs": orjson.loads(row.inputs)} for row in page]
    more = len(rows) > query.limit
    body = {"calculations": entries, "next_offset": query.offset + query.limit if more else None}
    return web.Response(body=orjson.dumps(body), content_type=JSON)


def _not_found(raw: str) -> Problem:
    return Problem(
        404,
        "Calculation not found",
        f"there is no calculation {raw!r} that you can see; a calculation made while "
        "signed in is visible only with that account's session",
    )
