"""Paying against localstripe: create, the browser confirms with Stripe,
confirm, subscription, receipt; declines, someone else's payment, Stripe down."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from storage.database import Database
from tests.payments_support import (
    CHARGE_DECLINED_CARD,
    FakeStripe,
    free_port,
    receipts,
    signed_in,
)
from tests.support.net import eventually


async def create(
    client: TestClient, auth: dict[str, str], plan: str, card: str | None, **headers: str
) -> Any:
    body: dict[str, Any] = {"plan": plan}
    if card is not None:
        body["payment_method"] = card
    return await client.post("/api/payments/create", json=body, headers={**auth, **headers})


async def intent_of(db: Database, payment_id: str) -> str:
    return str(
        await db.pool.fetchval(
            "SELECT payment_intent_id FROM payments WHERE id = $1::uuid", payment_id
        )
    )


async def test_a_one_time_purchase_ends_with_one_receipt_in_the_mailbox(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, auth = await signed_in(db, "ada@example.com")
    response = await create(pay_client, auth, "rate_report", await fake_stripe.card())
    assert response.status == 200
    created = await response.json()
    assert created["client_secret"].startswith("pi_")
    assert created["publishable_key"] == "pk_test_rateline"

    waiting = await pay_client.post(
        "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=auth
    )
    assert (await waiting.json())["payment"]["status"] == "pending"  # not paid yet

    await fake_stripe.confirm(await intent_of(db, created["payment_id"]))
    confirmed = await pay_client.post(
        "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=auth
    )
    assert confirmed.status == 200
    payment = (await confirmed.json())["payment"]
    assert payment["status"] == "succeeded"
    assert payment["amount"] == "19.00"
    assert payment["card_last4"] == "4242" and payment["card_brand"] == "visa"
    assert payment["receipt_number"].startswith("RL-")

    mail = await receipts(pay_client, "ada@example.com")
    assert len(mail) == 1
    text = mail[0]["text"]
    assert payment["receipt_number"] in text
    assert "Rate report" in text and "$19.00 USD" in text and "Visa ending in 4242" in text


async def test_a_subscription_becomes_active_with_its_period_end_and_shows_on_me(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, auth = await signed_in(db, "broker@example.com")
    response = await create(pay_client, auth, "broker_pro_monthly", await fake_stripe.card())
    assert response.status == 200, await response.text()
    created = await response.json()
    confirmed = await pay_client.post(
        "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=auth
    )
    body = await confirmed.json()
    assert body["payment"]["status"] == "succeeded", body
    assert body["payment"]["amount"] == "49.00"
    assert body["subscription"]["status"] == "active"
    assert body["subscription"]["current_period_end"] is not None
    me = await (await pay_client.get("/api/auth/me", headers=auth)).json()
    assert me["subscription"]["status"] == "active"
    assert me["subscription"]["plan"] == "broker_pro_monthly"

    again = await create(pay_client, auth, "broker_pro_annual", await fake_stripe.card())
    assert again.status == 409  # one subscription at a time

    canceled = await pay_client.post("/api/payments/subscription/cancel", headers=auth)
    assert canceled.status == 200
    view = await canceled.json()
    assert view["cancel_at_period_end"] is True and view["status"] == "active"
    mine = await (await pay_client.get("/api/payments/subscription", headers=auth)).json()
    assert mine["cancel_at_period_end"] is True
    assert len(await receipts(pay_client, "broker@example.com")) == 1


async def test_a_declined_card_says_why_and_records_no_payment(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, auth = await signed_in(db, "declined@example.com")
    response = await create(
        pay_client, auth, "rate_report", await fake_stripe.card(CHARGE_DECLINED_CARD)
    )
    created = await response.json()
    intent = await intent_of(db, created["payment_id"])
    await fake_stripe.session.post(
        f"{fake_stripe.url}/v1/payment_intents/{intent}/confirm",
        headers={"Authorization": "Bearer sk_test_rateline"},
    )
    confirmed = await pay_client.post(
        "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=auth
    )
    assert confirmed.status == 402
    problem = await confirmed.json()
    assert problem["title"] == "Payment failed"
    assert "declined" in problem["detail"]
    assert await db.pool.fetchval("SELECT status FROM payments") == "failed"
    assert await receipts(pay_client, "declined@example.com") == []


async def test_confirming_someone_elses_payment_is_404(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, owner = await signed_in(db, "owner@example.com")
    _, other = await signed_in(db, "other@example.com")
    created = await (
        await create(pay_client, owner, "rate_report", await fake_stripe.card())
    ).json()
    await fake_stripe.confirm(await intent_of(db, created["payment_id"]))
    response = await pay_client.post(
        "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=other
    )
    assert response.status == 404
    assert await db.pool.fetchval("SELECT status FROM payments") == "pending"


async def test_a_retried_create_with_the_same_idempotency_key_gets_the_same_answer(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, auth = await signed_in(db, "retry@example.com")
    card = await fake_stripe.card()
    first = await (
        await create(pay_client, auth, "rate_report", card, **{"Idempotency-Key": "k-1"})
    ).json()
    second = await (
        await create(pay_client, auth, "rate_report", card, **{"Idempotency-Key": "k-1"})
    ).json()
    assert first == second
    assert await db.pool.fetchval("SELECT count(*) FROM payments") == 1
    third = await (
        await create(pay_client, auth, "rate_report", card, **{"Idempotency-Key": "k-2"})
    ).json()
    assert third["payment_id"] != first["payment_id"]


async def test_stripe_unreachable_is_a_clear_503_and_nothing_is_half_written(
    db: Database, settings: Any, aiohttp_client: Any
) -> None:
    from server.app import create_app
    from tests.payments_support import reseed_plans, stripe_settings

    await reseed_plans(db)
    client = await aiohttp_client(
        create_app(stripe_settings(settings, f"http://127.0.0.1:{free_port()}"))
    )
    _, auth = await signed_in(db, "offline@example.com")
    response = await create(client, auth, "broker_pro_monthly", "pm_offline")
    assert response.status == 503
    problem = await response.json()
    assert problem["title"] == "Payments are unavailable"
    assert await db.pool.fetchval("SELECT status FROM payments") == "failed"
    assert await db.pool.fetchval("SELECT count(*) FROM subscriptions") == 0
    assert await db.pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert (await client.get("/api/payments/subscription", headers=auth)).status == 200


async def test_an_admin_refunds_and_lists_payments(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, admin = await signed_in(db, "boss@example.com", role="admin")
    _, auth = await signed_in(db, "refund@example.com")
    created = await (await create(pay_client, auth, "rate_report", await fake_stripe.card())).json()
    await fake_stripe.confirm(await intent_of(db, created["payment_id"]))
    await pay_client.post(
        "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=auth
    )
    path = f"/api/payments/{created['payment_id']}/refund"
    assert (await pay_client.post(path, headers=auth)).status == 403
    refunded = await pay_client.post(path, headers=admin)
    assert refunded.status == 200
    assert (await refunded.json())["status"] == "refunded"
    listed = await pay_client.get("/api/payments", params={"status": "refunded"}, headers=admin)
    assert [p["payment_id"] for p in await listed.json()] == [created["payment_id"]]
    assert await eventually(lambda: receipts(pay_client, "refund@example.com"))


async def test_an_intent_that_does_not_match_the_local_payment_is_not_recorded(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, auth = await signed_in(db, "mismatch@example.com")
    created = await (await create(pay_client, auth, "rate_report", await fake_stripe.card())).json()
    await fake_stripe.confirm(await intent_of(db, created["payment_id"]))
    await db.pool.execute("UPDATE payments SET amount_cents = 100")  # Stripe charged 1900
    response = await pay_client.post(
        "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=auth
    )
    assert response.status == 409
    assert "amount" in (await response.json())["detail"]
    assert await db.pool.fetchval("SELECT status FROM payments") == "pending"
    assert await receipts(pay_client, "mismatch@example.com") == []


async def test_receipts_are_numbered_in_sequence_and_money_is_counted_by_plan(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    async def collected() -> float:
        text = await (await pay_client.get("/metrics")).text()
        for line in text.splitlines():
            if line.startswith('rateline_payment_collected_cents_total{plan="rate_report"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = await collected()
    _, auth = await signed_in(db, "twice@example.com")
    numbers = []
    for _ in range(2):
        created = await (
            await create(pay_client, auth, "rate_report", await fake_stripe.card())
        ).json()
        await fake_stripe.confirm(await intent_of(db, created["payment_id"]))
        confirmed = await pay_client.post(
            "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=auth
        )
        numbers.append((await confirmed.json())["payment"]["receipt_number"])
    year = numbers[0].split("-")[1]
    assert numbers == [f"RL-{year}-000001", f"RL-{year}-000002"]
    assert await collected() == before + 3800


async def test_a_card_needing_3d_secure_is_answered_as_requires_action(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, auth = await signed_in(db, "3ds@example.com")
    card = await fake_stripe.card("4000002500003155")
    created = await (await create(pay_client, auth, "rate_report", card)).json()
    await fake_stripe.confirm(await intent_of(db, created["payment_id"]))
    response = await pay_client.post(
        "/api/payments/confirm", json={"payment_id": created["payment_id"]}, headers=auth
    )
    assert response.status == 200
    assert (await response.json())["payment"]["status"] == "requires_action"
    assert await receipts(pay_client, "3ds@example.com") == []


async def test_a_subscription_needs_a_card_that_stripe_knows(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    _, auth = await signed_in(db, "nocard@example.com")
    without = await create(pay_client, auth, "broker_pro_monthly", None)
    assert without.status == 422
    problem = await without.json()
    assert problem["type"] == "tag:rateline,2026:broken-rule"
    assert problem["errors"][0]["pointer"] == "/payment_method"

    unknown = await create(pay_client, auth, "broker_pro_monthly", "pm_nosuchcard")
    assert unknown.status == 404
    problem = await unknown.json()
    assert problem["errors"][0]["pointer"] == "/payment_method"
    assert "declined" not in problem["detail"]
    assert await db.pool.fetchval("SELECT count(*) FROM subscriptions") == 0
