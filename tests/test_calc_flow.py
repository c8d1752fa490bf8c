"""POST /api/mortgage/calculate end to end: live rates from the rate book,
the calculation pool, the built-in advisor through the agent manager, the
calculations table, and reading calculations back, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from aiohttp.test_utils import TestClient

import server.app as app_module
from actors import agents
from actors.accounts.hashing import Argon2Params, PasswordHasher
from actors.calculation import child_specs
from actors.calculation.actor import CalcOptions, CalculationActor
from actors.calculation.service import calculate_quotes, quote_option
from actors.rates import RatesConfig, load_book
from actors.rates.book import RateBook
from actors.runtime import ChildSpec, SupervisorSpec
from ops.config import Settings
from protocols.api.mortgage import CalculateRequest, decode
from protocols.channels import ChannelHead
from protocols.rate_sources.records import PRODUCTS, RateRecord
from server import keys
from server.app import create_app
from server.auth import DEPS_KEY, Accounts
from server.routes import calculate as calculate_routes
from storage.calculations import count_calculations
from storage.database import Database
from storage.rates import insert_observations
from tests.support import accounts
from tests.support.openai import Reply, flat_llpa_grid, running_fake_openai
from tests.support.openai import options as agent_options

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LIVE = {
    "30y_fixed": "6.500",
    "15y_fixed": "5.750",
    "5_6_arm": "6.125",
    "fha_30": "6.250",
    "va_30": "6.000",
}  # no jumbo_30 rate: the book has none
PURCHASE = {
    "price": "450000",
    "down_payment": "45000",
    "credit_score": 700,
    "state": "CA",
    "annual_income": "160000",
    "monthly_debts": "400",
}
CRASH_PRICE = Decimal("123456.78")
OPTION_FIELDS = (
    "product",
    "rate",
    "apr",
    "points",
    "payment",
    "piti",
    "pmi_monthly",
    "cash_to_close",
    "total_interest",
    "eligible",
    "reason",
)

MakeClient = Callable[..., Awaitable[TestClient]]


class FragileCalculator(CalculationActor):
    """A worker whose engine fails on one price, as a bug would."""

    def price(self, request: CalculateRequest, rates: Any) -> Any:
        if request.price == CRASH_PRICE:
            raise ArithmeticError("the engine failed")
        return super().price(request, rates)


async def seeded_book(db: Database, settings: Settings) -> RateBook:
    """The live rates stored and loaded the way the server loads them at start."""
    await insert_observations(
        db.pool, [(p, T0, "simulated", Decimal(rate), None, None) for p, rate in LIVE.items()]
    )
    return await load_book(db.pool, RatesConfig.from_settings(settings))


@pytest.fixture
def make_client(db: Database, settings: Settings, aiohttp_client: Callable[..., Any]) -> MakeClient:
    async def make(
        *,
        with_agents: bool = True,
        actor: type[CalculationActor] = CalculationActor,
        calc: CalcOptions | None = None,
        agent_settings: Any = None,
        config: Settings = settings,
    ) -> TestClient:
        children: list[Any] = []
        if with_agents:
            children += agents.child_specs(config, agent_settings or agent_options())
        children += child_specs(config, calc or CalcOptions(advice_seconds=10.0), actor=actor)
        app = create_app(config, tree=SupervisorSpec(name="test", children=children))
        if calculate_routes not in app_module.ROUTE_MODULES:
            calculate_routes.routes.install(app)
            app[keys.ENDPOINTS].extend(calculate_routes.routes.endpoints)
        app[keys.DEPS]["rate_book"] = await seeded_book(db, config)
        app[keys.DEPS][DEPS_KEY] = Accounts(
            hasher=PasswordHasher(Argon2Params(time_cost=1, memory_kib=8, parallelism=1)),
            public_url=config.public_url,
        )
        client: TestClient = await aiohttp_client(app)
        return client

    return make


async def signed_in(db: Database, email: str) -> tuple[uuid.UUID, dict[str, str]]:
    user_id, token = await accounts.signed_in(db, email, name="Buyer")
    return uuid.UUID(user_id), accounts.bearer(token)


def engine_options(body: dict[str, Any]) -> dict[str, Any]:
    """The engine's own answer for the same purchase and rates."""
    rates = {p: Decimal(r) for p, r in LIVE.items()}
    options = [
        quote_option(q)
        for q in calculate_quotes(decode(orjson.dumps(body), CalculateRequest), rates)
    ]
    return {o["product"]: o for o in msgspec.to_builtins(options)}


async def test_a_purchase_is_priced_from_live_rates_advised_stored_and_read_back(
    make_client: MakeClient, db: Database
) -> None:
    client = await make_client()
    response = await client.post("/api/mortgage/calculate", json=PURCHASE)
    assert response.status == 200, await response.text()
    served = await response.read()
    body = orjson.loads(served)

    assert response.headers["Content-Location"] == f"/api/mortgage/calculations/{body['id']}"
    assert datetime.fromisoformat(body["rates_as_of"]) == T0
    options = {o["product"]: o for o in body["options"]}
    assert [o["product"] for o in body["options"]] == list(PRODUCTS)

    expected = engine_options(PURCHASE)
    for product in LIVE:
        assert options[product] == expected[product]
    thirty = options["30y_fixed"]
    assert thirty["payment"] == expected["30y_fixed"]["payment"]
    assert Decimal(thirty["rate"]) >= Decimal(LIVE["30y_fixed"])  # the LLPA is priced in
    assert set(thirty) == set(OPTION_FIELDS)

    jumbo = options["jumbo_30"]
    assert (jumbo["eligible"], jumbo["reason"], jumbo["rate"], jumbo["payment"]) == (
        False,
        "no live rate",
        None,
        None,
    )

    assert body["note"] is None
    assert 3 <= len(body["recommendations"]) <= 6
    kinds = [r["kind"] for r in body["recommendations"]]
    assert "remove_pmi" in kinds  # 10% down on a conventional loan pays PMI
    insurance = next(r for r in body["recommendations"] if r["kind"] == "remove_pmi")
    assert "adds $263.25 a month" in insurance["title"]  # 0.78% a year on $405,000
    assert "78% of the original value" in insurance["detail"]
    assert "$360,000.00 (80%)" in insurance["detail"]
    assert "30-year FHA at 6.250% carries MIP" in insurance["detail"]
    assert "shorter_term" in kinds  # the 15-year at its live rate, compared
    for rec in body["recommendations"]:
        assert set(rec) == {"kind", "title", "detail", "impact"}

    again = await client.get(f"/api/mortgage/calculations/{body['id']}")
    assert again.status == 200
    assert await again.read() == served
    assert await count_calculations(db.pool) == 1


async def test_bad_input_is_a_422_naming_each_field_and_nothing_is_stored(
    make_client: MakeClient, db: Database
) -> None:
    client = await make_client()
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"price": "0"}, {"/price": "at least 1000"}),
        ({"price": "-450000"}, {"/price": "at least 1000 and at most"}),
        ({"down_payment": "500000"}, {"/down_payment": "less than price"}),
        (
            {"annual_income": "12000", "monthly_debts": "3000"},
            {"/monthly_debts": "300% of income"},
        ),
        ({"credit_score": 900}, {"/credit_score": "from 300 to 850"}),
        (
            {"price": "-1", "points": "12", "state": "ZZ"},
            {"/price": "at least 1000", "/points": "at least -5", "/state": "US state"},
        ),
    ]
    for change, wanted in cases:
        response = await client.post("/api/mortgage/calculate", json={**PURCHASE, **change})
        assert response.status == 422, change
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        details = {e["pointer"]: e["detail"] for e in problem["errors"]}
        for pointer, text in wanted.items():
            assert text in details[pointer], (change, details)
    assert await count_calculations(db.pool) == 0


async def test_a_crashing_calculation_fails_alone_and_the_pool_keeps_serving(
    make_client: MakeClient, db: Database
) -> None:
    client = await make_client(actor=FragileCalculator)
    workers = sorted(n for n in client.app[keys.SYSTEM].names() if n.startswith("calculation."))
    assert workers == ["calculation.1", "calculation.2"]

    crash = await client.post(
        "/api/mortgage/calculate", json={**PURCHASE, "price": str(CRASH_PRICE)}
    )
    assert crash.status == 500
    assert crash.content_type == "application/problem+json"
    problem = await crash.json()
    assert "engine" not in problem["detail"] and problem["instance"]

    for _ in workers:  # round-robin: every worker answers after the crash
        ok = await client.post("/api/mortgage/calculate", json=PURCHASE)
        assert ok.status == 200, await ok.text()
    assert await count_calculations(db.pool) == len(workers)


async def test_without_the_agent_manager_options_come_with_a_note(
    make_client: MakeClient,
) -> None:
    client = await make_client(with_agents=False)
    response = await client.post("/api/mortgage/calculate", json=PURCHASE)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["recommendations"] == []
    assert "advisor is not running" in body["note"]
    assert {o["product"]: o for o in body["options"]}["30y_fixed"] == engine_options(PURCHASE)[
        "30y_fixed"
    ]
    stored = await client.get(f"/api/mortgage/calculations/{body['id']}")
    assert (await stored.json())["note"] == body["note"]


async def test_a_slow_advisor_leaves_a_note_and_its_late_answer_serves_the_next_ask(
    make_client: MakeClient, aiohttp_server: Callable[..., Any]
) -> None:
    async with running_fake_openai(aiohttp_server) as model:
        model.then(Reply(delay=30.0))
        client = await make_client(
            agent_settings=agent_options(model, deadline=30.0),
            calc=CalcOptions(advice_seconds=1.0),
        )
        first = await (await client.post("/api/mortgage/calculate", json=PURCHASE)).json()
        assert first["recommendations"] == []
        assert "did not answer within 1 s" in first["note"]
        assert first["options"]

        model.release.set()  # the model answers now, after the calculation gave up
        second = await (await client.post("/api/mortgage/calculate", json=PURCHASE)).json()
        assert second["note"] is None
        assert second["recommendations"]
        assert all(r["title"].startswith("Worth a look: ") for r in second["recommendations"])
        assert model.calls == 1


async def test_a_signed_in_buyer_lists_their_own_and_hears_when_rates_moved(
    make_client: MakeClient, db: Database
) -> None:
    client = await make_client()
    owner, headers = await signed_in(db, "owner@example.com")
    _, stranger = await signed_in(db, "stranger@example.com")

    first = await (
        await client.post("/api/mortgage/calculate", json=PURCHASE, headers=headers)
    ).json()
    assert "rate_lock" not in [r["kind"] for r in first["recommendations"]]

    book: RateBook = client.app[keys.DEPS]["rate_book"]
    moved = RateRecord(
        product="30y_fixed", rate=Decimal("6.750"), as_of=T0 + timedelta(days=1), source="simulated"
    )
    with book.write_lock:
        proposal = book.propose([moved])
        assert proposal is not None
        book.commit(
            proposal, {channel: ChannelHead("test", 1) for channel, _, _ in proposal.entries}
        )
    second = await (
        await client.post("/api/mortgage/calculate", json=PURCHASE, headers=headers)
    ).json()
    lock = next(r for r in second["recommendations"] if r["kind"] == "rate_lock")
    assert "6.500%" in lock["detail"] and "6.750%" in lock["detail"]
    assert datetime.fromisoformat(second["rates_as_of"]) == moved.as_of

    anonymous = await (await client.post("/api/mortgage/calculate", json=PURCHASE)).json()
    assert await count_calculations(db.pool, user_id=owner) == 2

    listed = await client.get("/api/mortgage/calculations", headers=headers)
    assert listed.status == 200
    page = await listed.json()
    assert [c["id"] for c in page["calculations"]] == [second["id"], first["id"]]
    assert page["calculations"][0]["inputs"]["price"] == "450000"
    assert page["next_offset"] is None
    one = await (await client.get("/api/mortgage/calculations?limit=1", headers=headers)).json()
    assert ([c["id"] for c in one["calculations"]], one["next_offset"]) == ([second["id"]], 1)

    assert (await client.get("/api/mortgage/calculations")).status == 401
    mine = f"/api/mortgage/calculations/{first['id']}"
    assert (await client.get(mine, headers=headers)).status == 200
    for other in ({}, stranger):
        hidden = await client.get(mine, headers=other)
        assert hidden.status == 404
        assert hidden.content_type == "application/problem+json"
    open_one = await client.get(f"/api/mortgage/calculations/{anonymous['id']}", headers=stranger)
    assert open_one.status == 200


async def test_an_unknown_calculation_is_a_404_problem(make_client: MakeClient) -> None:
    client = await make_client()
    for raw in (str(uuid.uuid4()), "not-a-calculation"):
        response = await client.get(f"/api/mortgage/calculations/{raw}")
        assert response.status == 404
        assert response.content_type == "application/problem+json"
        assert raw in (await response.json())["detail"]


async def test_the_calculation_endpoints_are_in_the_openapi_document(
    make_client: MakeClient,
) -> None:
    client = await make_client(with_agents=False)
    document = await (await client.get("/api/openapi.json")).json()
    paths = document["paths"]
    assert "post" in paths["/api/mortgage/calculate"]
    assert paths["/api/mortgage/calculations"]["get"]["security"] == [{"session": []}]
    assert "get" in paths["/api/mortgage/calculations/{id}"]
    served = document["components"]["schemas"]["CalculationDocument"]["properties"]
    assert {"id", "rates_as_of", "options", "recommendations", "note"} <= set(served)


async def test_an_llpa_grid_file_replaces_the_shipped_one(
    make_client: MakeClient, settings: Settings, tmp_path: Path
) -> None:
    grid = flat_llpa_grid(tmp_path)
    client = await make_client(
        calc=CalcOptions(advice_seconds=10.0, llpa_path=str(grid)),
        agent_settings=agent_options(llpa_path=str(grid)),
    )
    body = await (await client.post("/api/mortgage/calculate", json=PURCHASE)).json()
    thirty = next(o for o in body["options"] if o["product"] == "30y_fixed")
    assert thirty["rate"] == LIVE["30y_fixed"]
    assert thirty["rate"] != engine_options(PURCHASE)["30y_fixed"]["rate"]
    # the advice prices with the same grid, so it quotes the rate the buyer was shown
    advice = next(r for r in body["recommendations"] if r["kind"] == "credit_score")
    shown = f"carries a price adjustment of 0 points and a rate of {thirty['rate']}%"
    assert shown in advice["detail"]


def test_the_pool_size_and_grid_come_from_settings(settings: Settings, tmp_path: Path) -> None:
    tree = SupervisorSpec(
        name="t", children=child_specs(settings.replace(calc_workers=3, llpa_path=tmp_path))
    )
    (pool,) = tree.children
    assert isinstance(pool, SupervisorSpec)
    assert [c.name for c in pool.children] == ["calculation.1", "calculation.2", "calculation.3"]
    assert {c.kwargs["options"].llpa_path for c in pool.children if isinstance(c, ChildSpec)} == {
        str(tmp_path)
    }
    (advisor,) = agents.child_specs(settings.replace(llpa_path=tmp_path))
    assert advisor.kwargs["options"].llpa_path == str(tmp_path)
