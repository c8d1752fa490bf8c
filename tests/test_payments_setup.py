"""Payments switched off and on: 503 without Stripe, plans as data."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from storage.database import Database
from tests.payments_support import signed_in


async def test_without_a_secret_key_payment_routes_answer_503_and_the_rest_works(
    app_client: TestClient, db: Database
) -> None:
    _, auth = await signed_in(db, "nopay@example.com")
    for method, path, body in (
        ("GET", "/api/payments/plans", None),
        ("POST", "/api/payments/create", {"plan": "rate_report"}),
        ("POST", "/api/payments/webhook", None),
        ("GET", "/api/payments/subscription", None),
    ):
        response = await app_client.request(method, path, json=body, headers=auth)
        assert response.status == 503, path
        problem = await response.json()
        assert response.content_type == "application/problem+json"
        assert problem["title"] == "Payments are not configured"
    assert (await app_client.get("/healthz")).status == 200
    me = await (await app_client.get("/api/auth/me", headers=auth)).json()
    assert me["email"] == "nopay@example.com" and me["subscription"] is None


async def test_the_seeded_plans_are_listed_in_dollars(pay_client: TestClient) -> None:
    response = await pay_client.get("/api/payments/plans")
    assert response.status == 200
    plans = {p["code"]: p for p in await response.json()}
    assert plans["broker_pro_monthly"]["amount"] == "49.00"
    assert plans["broker_pro_monthly"]["interval"] == "month"
    assert plans["broker_pro_annual"]["amount_cents"] == 49000
    assert plans["rate_report"]["interval"] is None
    assert plans["rate_report"]["amount"] == "19.00"


async def test_an_admin_adds_a_plan_and_a_duplicate_code_is_refused(
    pay_client: TestClient, db: Database
) -> None:
    _, admin = await signed_in(db, "admin@example.com", role="admin")
    _, user = await signed_in(db, "user@example.com")
    plan = {"code": "rate_report_plus", "name": "Rate report plus", "amount_cents": 2900}
    assert (await pay_client.post("/api/payments/plans", json=plan, headers=user)).status == 403
    created = await pay_client.post("/api/payments/plans", json=plan, headers=admin)
    assert created.status == 201
    assert (await created.json())["amount"] == "29.00"
    again = await pay_client.post("/api/payments/plans", json=plan, headers=admin)
    assert again.status == 409  # the code is taken
    assert (await again.json())["errors"][0]["pointer"] == "/code"
    codes = [p["code"] for p in await (await pay_client.get("/api/payments/plans")).json()]
    assert "rate_report_plus" in codes


async def test_an_unknown_plan_names_the_field_and_changes_nothing(
    pay_client: TestClient, db: Database
) -> None:
    _, auth = await signed_in(db, "buyer@example.com")
    response = await pay_client.post("/api/payments/create", json={"plan": "gold"}, headers=auth)
    assert response.status == 422
    problem = await response.json()
    assert problem["errors"][0]["pointer"] == "/plan"
    assert "rate_report" in problem["errors"][0]["detail"]
    assert await db.pool.fetchval("SELECT count(*) FROM payments") == 0
