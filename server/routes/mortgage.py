"""The pure mortgage calculators: amortization, APR, affordability, refinance.

They need no database and no actor, so the handlers call the engine
directly; schedules longer than ten years are built and encoded in a worker
thread so the event loop keeps serving sockets meanwhile.
"""

from __future__ import annotations

import asyncio

import msgspec
from aiohttp import web

from actors.calculation import service
from protocols.api.mortgage import (
    AffordabilityRequest,
    AffordabilityResponse,
    AmortizationRequest,
    AmortizationResponse,
    AprRequest,
    AprResponse,
    RefinanceRequest,
    RefinanceResponse,
    validate,
)
from server.routing import ApiRoutes

routes = ApiRoutes(tag="mortgage")

THREAD_ABOVE_MONTHS = 120
CSV_TYPE = "text/csv"


def _wants_csv(request: web.Request) -> bool:
    return CSV_TYPE in request.headers.get("Accept", "")


def _render(request: web.Request, body: AmortizationRequest) -> web.Response:
    response = service.amortization(body)
    if _wants_csv(request):
        return web.Response(
            text=service.schedule_csv(response),
            content_type=CSV_TYPE,
            headers={"Content-Disposition": 'attachment; filename="amortization.csv"'},
        )
    return web.Response(body=msgspec.json.encode(response), content_type="application/json")


@routes.post(
    "/api/mortgage/amortization",
    body=AmortizationRequest,
    check=validate,
    response=AmortizationResponse,
    summary="Amortization schedule (JSON, or CSV with Accept: text/csv)",
)
async def amortization(request: web.Request, body: AmortizationRequest) -> web.Response:
    """Payment, totals and the full schedule; extras report what they save."""
    if body.term_months > THREAD_ABOVE_MONTHS:
        return await asyncio.to_thread(_render, request, body)
    return _render(request, body)


@routes.post(
    "/api/mortgage/apr",
    body=AprRequest,
    check=validate,
    response=AprResponse,
    summary="Annual percentage rate by Regulation Z Appendix J",
)
async def apr(request: web.Request, body: AprRequest) -> AprResponse:
    """APR of an amount financed and its payment schedule (actuarial method)."""
    return service.apr(body)


@routes.post(
    "/api/mortgage/affordability",
    body=AffordabilityRequest,
    check=validate,
    response=AffordabilityResponse,
    summary="Largest price and loan an income qualifies for",
)
async def affordability(request: web.Request, body: AffordabilityRequest) -> AffordabilityResponse:
    """The price the buyer's income, debts and down payment support."""
    return service.affordability(body)


@routes.post(
    "/api/mortgage/refinance",
    body=RefinanceRequest,
    check=validate,
    response=RefinanceResponse,
    summary="Refinance savings and break-even month",
)
async def refinance(request: web.Request, body: RefinanceRequest) -> RefinanceResponse:
    """New payment, monthly savings, break-even and lifetime interest."""
    return service.refinance(body)
