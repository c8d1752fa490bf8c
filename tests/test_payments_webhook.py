"""The Stripe webhook: signatures, replays, order, racing the confirm call,
and the reconciliation that heals a lost delivery."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from actors.payments.actor import Reconcile
from ops.config import Settings
from server import keys
from server.app import create_app
from storage.database import Database
from tests.payments_support import (
    FakeStripe,
    receipts,
    reseed_plans,
    signed_event,
    signed_in,
    stripe_settings,
)
from tests.support.net import eventually

WEBHOOK = "/api/payments/webhook"


async def paid_at_stripe(
    client: TestClient, db: Database, stripe: FakeStripe, email: str, plan: str = "rate_report"
) -> tuple[str, str, dict[str, str]]:
    """A payment created through us and paid at Stripe, not yet confirmed with us."""
    _, auth = await signed_in(db, email)
    body = {"plan": plan, "payment_method": await stripe.card()}
    created = await (await client.post("/api/payments/create", json=body, headers=auth)).json()
    payment_id = created["payment_id"]
    intent = str(
        await db.pool.fetchval(
            "SELECT payment_intent_id FROM payments WHERE id = $1::uuid", payment_id
        )
    )
    if plan == "rate_report":
        await stripe.confirm(intent)
    return payment_id, intent, auth


async def status_of(db: Database, payment_id: str) -> str:
    return str(
        await db.pool.fetchval("SELECT status FROM payments WHERE id = $1::uuid", payment_id)
    )


async def metric(client: TestClient, line_start: str) -> float:
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_forged_or_stale_signature_is_400_and_changes_nothing(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    payment_id, intent, _ = await paid_at_stripe(pay_client, db, fake_stripe, "forge@example.com")
    body, headers = signed_event("payment_intent.succeeded", {"id": intent})
    forged = body.replace(b'"object":"event"', b'"object":"event","livemode":true')
    stale_body, stale_headers = signed_event("payment_intent.succeeded", {"id": intent}, age=301)
    rejected_before = await metric(
        pay_client, 'rateline_payment_webhook_events_total{result="rejected"'
    )
    attempts = ((forged, headers, True), (stale_body, stale_headers, True), (body, {}, False))
    for payload, sent, shaped in attempts:
        response = await pay_client.post(WEBHOOK, data=payload, headers=sent)
        assert response.status == 400
        problem = await response.json()
        assert problem["title"] == "Invalid signature"
        # A well-formed signature that does not sign the body breaks a rule
        # spanning header and body; a missing one breaks the documented shape.
        broken_rule = problem["type"] == "tag:rateline,2026:broken-rule"
        assert broken_rule == shaped
    await asyncio.sleep(0.3)
    assert await status_of(db, payment_id) == "pending"
    assert await db.pool.fetchval("SELECT count(*) FROM payment_events") == 0
    rejected = await metric(pay_client, 'rateline_payment_webhook_events_total{result="rejected"')
    assert rejected == rejected_before + 3


async def test_the_same_event_twice_is_acknowledged_and_applied_once(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    payment_id, intent, _ = await paid_at_stripe(pay_client, db, fake_stripe, "twice@example.com")
    body, headers = signed_event("payment_intent.succeeded", {"id": intent})
    first = await pay_client.post(WEBHOOK, data=body, headers=headers)
    second = await pay_client.post(WEBHOOK, data=body, headers=headers)
    assert (first.status, second.status) == (200, 200)
    assert (await first.json())["duplicate"] is False
    assert (await second.json())["duplicate"] is True
    assert await eventually(lambda: receipts(pay_client, "twice@example.com"))
    assert await status_of(db, payment_id) == "succeeded"
    assert len(await receipts(pay_client, "twice@example.com")) == 1
    duplicates = await metric(
        pay_client,
        'rateline_payment_webhook_events_total{result="duplicate",type="payment_intent.succeeded"}',
    )
    assert duplicates >= 1


async def test_confirm_and_webhooks_racing_give_one_payment_one_period_one_receipt(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    payment_id, intent, auth = await paid_at_stripe(
        pay_client, db, fake_stripe, "race@example.com", plan="broker_pro_monthly"
    )
    invoice = (await fake_stripe.call("GET", f"/v1/payment_intents/{intent}"))["invoice"]
    subscription = (await fake_stripe.call("GET", f"/v1/invoices/{invoice}"))["subscription"]
    events = [
        signed_event("payment_intent.succeeded", {"id": intent}),
        signed_event(
            "invoice.paid", {"id": invoice, "payment_intent": intent, "subscription": subscription}
        ),
    ]

    def confirm() -> Any:
        return pay_client.post(
            "/api/payments/confirm", json={"payment_id": payment_id}, headers=auth
        )

    def deliver(body: bytes, headers: dict[str, str]) -> Any:
        return pay_client.post(WEBHOOK, data=body, headers=headers)

    answers = await asyncio.gather(
        confirm(), deliver(*events[0]), confirm(), deliver(*events[1]), deliver(*events[0])
    )
    assert all(a.status == 200 for a in answers)
    assert await eventually(
        lambda: db.pool.fetchval("SELECT count(*) = 0 FROM payment_events WHERE applied_at IS NULL")
    )
    assert await db.pool.fetchval("SELECT count(*) FROM payments") == 1
    assert await status_of(db, payment_id) == "succeeded"
    assert len(await receipts(pay_client, "race@example.com")) == 1
    stripe_end = (await fake_stripe.call("GET", f"/v1/subscriptions/{subscription}"))[
        "current_period_end"
    ]
    mine = await (await pay_client.get("/api/payments/subscription", headers=auth)).json()
    assert mine["status"] == "active"
    local_end = await db.pool.fetchval(
        "SELECT extract(epoch FROM current_period_end) FROM subscriptions"
    )
    assert int(local_end) == stripe_end


async def test_localstripes_own_signed_webhook_records_the_payment_without_a_confirm(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    await fake_stripe.deliver_webhooks_to(str(pay_client.make_url(WEBHOOK)))
    payment_id, _, _ = await paid_at_stripe(pay_client, db, fake_stripe, "hook@example.com")

    async def succeeded() -> bool:
        return await status_of(db, payment_id) == "succeeded"

    assert await eventually(succeeded, within=15)
    assert len(await receipts(pay_client, "hook@example.com")) == 1


async def test_late_events_never_move_a_subscription_backwards(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    payment_id, intent, auth = await paid_at_stripe(
        pay_client, db, fake_stripe, "late@example.com", plan="broker_pro_monthly"
    )
    await pay_client.post("/api/payments/confirm", json={"payment_id": payment_id}, headers=auth)
    subscription = str(await db.pool.fetchval("SELECT stripe_subscription_id FROM subscriptions"))
    await fake_stripe.call("DELETE", f"/v1/subscriptions/{subscription}")
    deleted = signed_event(
        "customer.subscription.deleted", {"id": subscription, "status": "canceled"}
    )
    assert (await pay_client.post(WEBHOOK, data=deleted[0], headers=deleted[1])).status == 200

    async def canceled() -> bool:
        view = await (await pay_client.get("/api/payments/subscription", headers=auth)).json()
        return bool(view["status"] == "canceled")

    assert await eventually(canceled)
    late = signed_event(
        "customer.subscription.updated", {"id": subscription, "status": "active"}, age=200
    )
    assert (await pay_client.post(WEBHOOK, data=late[0], headers=late[1])).status == 200
    refund = signed_event(
        "charge.refunded", {"id": "ch_x", "payment_intent": intent, "refunded": True}
    )
    assert (await pay_client.post(WEBHOOK, data=refund[0], headers=refund[1])).status == 200
    assert await eventually(lambda: _is(db, payment_id, "refunded"))
    assert await canceled()


async def _is(db: Database, payment_id: str, status: str) -> bool:
    return await status_of(db, payment_id) == status


async def test_a_lost_webhook_is_healed_by_the_reconciliation(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    payment_id, _, _ = await paid_at_stripe(pay_client, db, fake_stripe, "lost@example.com")
    await asyncio.sleep(1.2)  # localstripe's delivery (to nowhere) is over
    assert await status_of(db, payment_id) == "pending"
    await db.pool.execute(
        """INSERT INTO payments (user_id, plan_code, amount_cents, currency, created_at)
        SELECT user_id, plan_code, amount_cents, currency, now() - interval '2 days'
        FROM payments"""
    )
    system = pay_client.app[keys.SYSTEM]
    result = await system.ask("payments", Reconcile(), timeout=60)
    assert result.missed_events >= 1 and result.closed_payments == 1
    assert await status_of(db, payment_id) == "succeeded"
    assert len(await receipts(pay_client, "lost@example.com")) == 1
    statuses = await db.pool.fetch("SELECT status FROM payments ORDER BY created_at")
    assert [r["status"] for r in statuses] == ["canceled", "succeeded"]
    again = await system.ask("payments", Reconcile(), timeout=60)
    assert again.missed_events == 0
    assert len(await receipts(pay_client, "lost@example.com")) == 1


async def test_the_timer_reconciles_without_being_asked(
    db: Database, settings: Settings, fake_stripe: FakeStripe, aiohttp_client: Any
) -> None:
    await reseed_plans(db)
    often = stripe_settings(settings, fake_stripe.url).replace(payments_reconcile_seconds=0.3)
    client: TestClient = await aiohttp_client(create_app(often))
    payment_id, _, _ = await paid_at_stripe(client, db, fake_stripe, "timer@example.com")
    assert await eventually(lambda: _is(db, payment_id, "succeeded"))  # its webhook was lost


async def test_a_signed_event_for_an_unknown_intent_is_stored_and_harms_nothing(
    pay_client: TestClient, db: Database, fake_stripe: FakeStripe
) -> None:
    body, headers = signed_event("payment_intent.succeeded", {"id": "pi_unknown000"})
    assert (await pay_client.post(WEBHOOK, data=body, headers=headers)).status == 200
    assert await eventually(
        lambda: db.pool.fetchval("SELECT applied_at IS NOT NULL FROM payment_events")
    )
    payment_id, _, auth = await paid_at_stripe(pay_client, db, fake_stripe, "after@example.com")
    confirmed = await pay_client.post(
        "/api/payments/confirm", json={"payment_id": payment_id}, headers=auth
    )
    assert (await confirmed.json())["payment"]["status"] == "succeeded"
