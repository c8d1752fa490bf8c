"""The agents over HTTP, through the real application, the agent manager
actor and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import server.app as app_module
from actors.accounts.hashing import Argon2Params, PasswordHasher
from actors.agents import child_specs
from actors.runtime import SupervisorSpec
from ops.config import Settings
from server import keys
from server.app import create_app
from server.auth import DEPS_KEY, Accounts
from server.routes import agents as agent_routes
from server.routes import auth as auth_routes
from storage.database import Database
from tests.support.accounts import session_for
from tests.support.openai import (
    ADVICE_REQUEST,
    LEAD_REQUEST,
    FakeOpenAI,
    Reply,
    options,
    running_fake_openai,
)


def build_app(settings: Settings, fake: FakeOpenAI | None = None) -> web.Application:
    """The real application with a tree holding only the agent manager."""
    tree = SupervisorSpec(name="test", children=child_specs(settings, options(fake)))
    app = create_app(settings, tree=tree)
    for module in (agent_routes, auth_routes):
        if module not in app_module.ROUTE_MODULES:
            module.routes.install(app)
            app[keys.ENDPOINTS].extend(module.routes.endpoints)
            lifespan = getattr(module, "lifespan", None)
            if lifespan is not None:
                app.cleanup_ctx.append(lifespan)
    app[keys.DEPS][DEPS_KEY] = Accounts(
        hasher=PasswordHasher(Argon2Params(time_cost=1, memory_kib=8, parallelism=1)),
        public_url=settings.public_url,
    )
    return app


@pytest.fixture
async def client(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any]
) -> TestClient:
    return await aiohttp_client(build_app(settings))


async def test_advice_is_served_then_served_again_from_the_cache(client: TestClient) -> None:
    response = await client.post("/api/agents/mortgage_advisor", json=ADVICE_REQUEST)
    assert response.status == 200, await response.text()
    first = await response.json()
    assert 3 <= len(first["recommendations"]) <= 6
    for rec in first["recommendations"]:
        assert set(rec) == {"kind", "title", "detail", "impact"}
        assert set(rec["impact"]) == {"monthly", "lifetime"}
        assert isinstance(rec["impact"]["monthly"], str)
    assert (first["provider"], first["cached"], first["reason"]) == ("builtin", False, None)
    assert isinstance(first["interaction_id"], int)

    reformatted = {**ADVICE_REQUEST, "price": 400000, "down_payment": 40000.0}
    second = await (await client.post("/api/agents/mortgage_advisor", json=reformatted)).json()
    assert second["cached"] is True
    assert second["recommendations"] == first["recommendations"]
    assert second["interaction_id"] != first["interaction_id"]


async def test_a_lead_is_scored(client: TestClient) -> None:
    response = await client.post("/api/agents/lead_qualifier", json=LEAD_REQUEST)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["tier"] in {"hot", "warm", "cold"} and 0 <= body["score"] <= 100
    assert body["reasons"] and body["provider"] == "builtin"


async def test_an_unknown_agent_is_a_404_that_lists_the_agents(client: TestClient) -> None:
    response = await client.post("/api/agents/fortune_teller", json={})
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert "fortune_teller" in problem["detail"]
    assert "mortgage_advisor" in problem["detail"] and "lead_qualifier" in problem["detail"]
    listed = await (await client.get("/api/agents")).json()
    assert [a["name"] for a in listed] == ["lead_qualifier", "mortgage_advisor"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"price": None}, "/price"),
        ({"down_payment": "500000"}, "/down_payment"),
        ({"market_rates": {"30y_fixed": "6.5"}}, "/market_rates/15y_fixed"),
        ({"credit_score": 200}, "/credit_score"),
        ({"colour": "blue"}, "/colour"),
    ],
)
async def test_invalid_input_is_a_422_pointing_at_the_field(
    client: TestClient, change: dict[str, Any], pointer: str
) -> None:
    body = {k: v for k, v in {**ADVICE_REQUEST, **change}.items() if v is not None}
    response = await client.post("/api/agents/mortgage_advisor", json=body)
    assert response.status == 422
    problem = await response.json()
    assert pointer in [e["pointer"] for e in problem["errors"]], problem


async def test_administrators_page_through_the_interactions(
    client: TestClient, db: Database
) -> None:
    admin = await session_for(db, "admin")
    consumer = await session_for(db, "consumer")
    for rate in ("6.4", "6.5", "6.6"):
        asked = await client.post(
            "/api/agents/lead_qualifier", json={**LEAD_REQUEST, "rate": rate}, headers=admin
        )
        assert asked.status == 200

    assert (await client.get("/api/agents/interactions")).status == 401
    assert (await client.get("/api/agents/interactions", headers=consumer)).status == 403
    page = await (await client.get("/api/agents/interactions?limit=2", headers=admin)).json()
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (3, 2, 2, 0)
    newest = page["items"][0]
    assert newest["agent"] == "lead_qualifier" and newest["input"]["rate"] == "6.6"
    assert newest["user_id"] is not None and newest["provider"] == "builtin"
    rest = await (
        await client.get("/api/agents/interactions?limit=2&offset=2", headers=admin)
    ).json()
    assert [i["input"]["rate"] for i in rest["items"]] == ["6.4"]
    none = await (
        await client.get("/api/agents/interactions?agent=mortgage_advisor", headers=admin)
    ).json()
    assert none["total"] == 0
    bad = await client.get("/api/agents/interactions?limit=0", headers=admin)
    assert bad.status == 400


async def test_the_agents_are_in_the_api_document(client: TestClient) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    advisor = document["paths"]["/api/agents/mortgage_advisor"]["post"]
    assert "requestBody" in advisor
    assert "/api/agents/interactions" in document["paths"]
    assert "AdvisorAnswer" in document["components"]["schemas"]


async def test_concurrent_callers_share_one_model_call_through_the_manager(
    db: Database, settings: Settings, aiohttp_client: Callable[..., Any], aiohttp_server: Any
) -> None:
    async with running_fake_openai(aiohttp_server) as fake:
        fake.then(Reply(delay=0.3, prompt_tokens=2000, completion_tokens=1000))
        unlimited = settings.replace(anon_requests_per_minute=0)  # 100 callers from one IP
        client = await aiohttp_client(build_app(unlimited, fake=fake))

        responses = await asyncio.gather(
            *(client.post("/api/agents/mortgage_advisor", json=ADVICE_REQUEST) for _ in range(100))
        )

        bodies = [await r.json() for r in responses]
        assert {r.status for r in responses} == {200}
        assert fake.calls == 1
        assert {b["provider"] for b in bodies} == {"openai"}
        assert sorted(b["cached"] for b in bodies).count(False) == 1
        metrics = await (await client.get("/metrics")).text()
        for line in (
            'rateline_agent_requests_total{agent="mortgage_advisor"}',
            'rateline_agent_cache_hits_total{agent="mortgage_advisor",level="inflight"}',
            'rateline_agent_provider_calls_total{agent="mortgage_advisor",outcome="ok",provider="openai"}',
            'rateline_agent_tokens_total{agent="mortgage_advisor",direction="in"}',
            'rateline_agent_cost_dollars_total{agent="mortgage_advisor"}',
            'rateline_agent_provider_duration_seconds_count{agent="mortgage_advisor",provider="openai"}',
        ):
            assert line in metrics, line
