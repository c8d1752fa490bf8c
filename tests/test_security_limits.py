"""Anonymous callers cannot spend the platform's budget: a per-IP rate and
daily allowance on calculations and agent questions; signed-in users and
other clients are unaffected."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from actors.agents import child_specs
from actors.runtime import SupervisorSpec
from ops.config import Settings
from server import keys
from server.anonymous_limits import AnonymousLimiter
from server.app import create_app
from server.auth import DEPS_KEY
from storage.database import Database
from tests.support.accounts import bearer, make_accounts, signed_in
from tests.support.openai import LEAD_REQUEST, options

LEAD = "/api/agents/lead_qualifier"


def _app(settings: Settings) -> web.Application:
    tree = SupervisorSpec(name="test", children=child_specs(settings, options(None)))
    app = create_app(settings, tree=tree)
    app[keys.DEPS][DEPS_KEY] = make_accounts(settings)
    return app


async def test_an_anonymous_ip_is_held_to_its_rate_signed_in_users_are_not(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    limited = settings.replace(anon_requests_per_minute=3, trusted_proxies="127.0.0.1")
    http = await aiohttp_client(_app(limited))
    me = {"X-Forwarded-For": "203.0.113.7"}
    statuses = [(await http.post(LEAD, json=LEAD_REQUEST, headers=me)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = await http.post(LEAD, json=LEAD_REQUEST, headers=me)
    assert refused.content_type == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20
    assert "sign in" in (await refused.json())["detail"]

    other = {"X-Forwarded-For": "198.51.100.9"}
    assert (await http.post(LEAD, json=LEAD_REQUEST, headers=other)).status == 200
    _, token = await signed_in(db, "ada@example.com")
    for _ in range(5):
        answer = await http.post(LEAD, json=LEAD_REQUEST, headers={**me, **bearer(token)})
        assert answer.status == 200


async def test_the_calculation_route_is_limited_too(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    http = await aiohttp_client(_app(settings.replace(anon_requests_per_minute=1)))
    purchase = {"price": "450000", "down_payment": "90000", "credit_score": 740, "state": "CA"}
    first = await http.post("/api/mortgage/calculate", json=purchase)
    assert first.status != 429
    assert (await http.post("/api/mortgage/calculate", json=purchase)).status == 429


def test_the_daily_allowance_waits_for_the_next_day() -> None:
    day = ["2026-12-06"]
    limiter = AnonymousLimiter(per_minute=0, per_day=2, today=lambda: day[0])
    assert [limiter.take("203.0.113.7") for _ in range(2)] == [None, None]
    refused = limiter.take("203.0.113.7")
    assert refused is not None and "daily" in refused[1]
    assert limiter.take("198.51.100.9") is None, "another client has its own allowance"
    day[0] = "2026-12-07"
    assert limiter.take("203.0.113.7") is None


def test_the_rate_refills_with_time() -> None:
    now = [0.0]
    limiter = AnonymousLimiter(per_minute=2, per_day=0, clock=lambda: now[0])
    assert [limiter.take("a") is None for _ in range(3)] == [True, True, False]
    now[0] = 30.0
    assert limiter.take("a") is None and limiter.take("a") is not None
