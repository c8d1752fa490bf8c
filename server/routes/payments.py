"""Payments over HTTP: plans, create and confirm, the Stripe webhook,
subscriptions, and the admin's list and refunds.

Without a Stripe secret key every route here answers 503 and the rest of
the server goes on. The webhook is verified and stored here, answered at
once, and applied by the payment actor.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import orjson
from aiohttp import web

from actors.payments import rules
from actors.payments.actor import (
    NAME,
    ApplyEvent,
    CancelSubscription,
    ConfirmPayment,
    CreatePayment,
    PrepareCard,
    RefundPayment,
)
from actors.payments.metrics import WEBHOOK_EVENTS
from actors.runtime import ActorUnavailable
from protocols.api.payments import (
    CardSetup,
    Confirmed,
    Created,
    NewPlan,
    Payment,
    PaymentsConfig,
    PaymentsQuery,
    Plan,
    Subscription,
    WebhookReceipt,
)
from protocols.api.payments import ConfirmPayment as ConfirmBody
from protocols.api.payments import CreatePayment as CreateBody
from protocols.problems import BROKEN_RULE, FieldError, Problem
from protocols.stripe_adapter import BadSignature, verify_webhook
from server import keys
from server.admin_audit import record_admin_action
from server.auth import require_user
from server.routing import ApiRoutes, Header
from storage import payments as store
from storage.payments import PaymentRow, PlanRow, SubscriptionRow

log = logging.getLogger(__name__)

routes = ApiRoutes(tag="payments")

ASK_TIMEOUT = 90.0
MAX_IDEMPOTENCY_KEY = 255


def _configured(request: web.Request) -> None:
    if not request.app[keys.CONFIG].stripe_secret_key:
        raise Problem(
            503,
            "Payments are not configured",
            "this server has no Stripe secret key (STRIPE_SECRET_KEY); everything else works",
        )


async def _ask(request: web.Request, message: Any) -> Any:
    try:
        return await request.app[keys.SYSTEM].ask(NAME, message, timeout=ASK_TIMEOUT)
    except ActorUnavailable:
        raise Problem(503, "Payments are unavailable", "try again in a minute") from None


def plan_view(row: PlanRow) -> Plan:
    return Plan(
        code=row.code,
        name=row.name,
        amount=rules.dollars(row.amount_cents),
        amount_cents=row.amount_cents,
        currency=row.currency,
        interval=row.billing_interval,  # type: ignore[arg-type]
    )


def payment_view(row: PaymentRow) -> Payment:
    return Payment(
        payment_id=row.id,
        user_id=row.user_id,
        plan=row.plan_code,
        amount=rules.dollars(row.amount_cents),
        currency=row.currency,
        status=row.status,  # type: ignore[arg-type]
        failure_reason=row.failure_reason,
        receipt_number=row.receipt_number,
        card_brand=row.card_brand,
        card_last4=row.card_last4,
        created_at=row.created_at,
        succeeded_at=row.succeeded_at,
        refunded_at=row.refunded_at,
    )


def subscription_view(row: SubscriptionRow | None) -> Subscription | None:
    if row is None:
        return None
    return Subscription(
        plan=row.plan_code,
        status=row.status,  # type: ignore[arg-type]
        current_period_end=row.current_period_end,
        cancel_at_period_end=row.cancel_at_period_end,
    )


async def subscription_of(request: web.Request, user_id: uuid.UUID) -> Subscription | None:
    """The user's subscription, for /api/auth/me too."""
    return subscription_view(await store.subscription(request.app[keys.DB].pool, user_id))


@routes.get("/api/payments/plans", response=list[Plan])
async def list_plans(request: web.Request) -> list[Plan]:
    """The plans on sale, amounts in US dollars"""
    _configured(request)
    return [plan_view(p) for p in await store.plans(request.app[keys.DB].pool)]


@routes.get("/api/payments/config", response=PaymentsConfig)
async def payments_config(request: web.Request) -> PaymentsConfig:
    """The publishable key and the Stripe.js URL the payment page loads"""
    _configured(request)
    settings = request.app[keys.CONFIG]
    return PaymentsConfig(
        publishable_key=settings.stripe_publishable_key, stripe_js_url=settings.stripe_js_url
    )


@routes.post("/api/payments/card-setup", response=CardSetup, auth="user")
async def card_setup(request: web.Request) -> CardSetup:
    """Start collecting a card: Stripe.js confirms the SetupIntent with it

    The PaymentMethod it makes is what /api/payments/create takes as `payment_method`.
    """
    _configured(request)
    await require_user(request)
    return CardSetup(client_secret=await _ask(request, PrepareCard()))


@routes.post("/api/payments/plans", body=NewPlan, response=Plan, status=201, auth="admin")
async def add_plan(request: web.Request, body: NewPlan) -> Plan:
    """Put a new plan on sale (admin)"""
    _configured(request)
    admin = await require_user(request, "admin")
    async with request.app[keys.DB].pool.acquire() as conn, conn.transaction():
        row = await store.add_plan(
            conn,
            code=body.code,
            name=body.name,
            amount_cents=body.amount_cents,
            billing_interval=body.interval,
        )
        plan = {"name": body.name, "amount_cents": body.amount_cents, "interval": body.interval}
        await record_admin_action(
            request,
            admin,
            "plan_added",
            "success" if row is not None else "failure",
            target=body.code,
            details=plan if row is not None else {**plan, "reason": "the code is taken"},
            conn=conn,
        )
    if row is None:
        raise Problem(
            409,
            "Plan exists",
            f"a plan {body.code!r} exists already; choose another code",
            errors=[FieldError(pointer="/code", detail="is taken by another plan")],
        )
    return plan_view(row)


@routes.post("/api/payments/create", body=CreateBody, response=Created, auth="user")
async def create(request: web.Request, body: CreateBody) -> Created:
    """Start paying for a plan; the amount comes from the plan

    Send an `Idempotency-Key` header to make a retried request return the same answer.
    """
    _configured(request)
    user = await require_user(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise Problem(
            400,
            "Invalid Idempotency-Key",
            f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
        )
    started = await _ask(
        request,
        CreatePayment(
            user_id=user.id,
            email=user.email,
            plan=body.plan,
            payment_method=body.payment_method,
            idempotency_key=key,
        ),
    )
    return Created(
        payment_id=started.payment_id,
        client_secret=started.client_secret,
        publishable_key=request.app[keys.CONFIG].stripe_publishable_key,
    )


@routes.post("/api/payments/confirm", body=ConfirmBody, response=Confirmed, auth="user")
async def confirm(request: web.Request, body: ConfirmBody) -> Confirmed:
    """Check a payment with Stripe and record it once it succeeded"""
    _configured(request)
    user = await require_user(request)
    row, subscription = await _ask(
        request, ConfirmPayment(user_id=user.id, payment_id=body.payment_id)
    )
    return Confirmed(payment=payment_view(row), subscription=subscription_view(subscription))


SIGNATURE = Header(
    "Stripe-Signature",
    "Stripe's signature of the body with the webhook secret. A signature of this "
    "shape that does not sign the body (a rule spanning the header and the body) "
    f"is answered 400 with the problem type {BROKEN_RULE}.",
    pattern=r"^t=[0-9]+(,[a-z0-9]+=[0-9a-f]+)+$",
)


@routes.post("/api/payments/webhook", response=WebhookReceipt, headers=(SIGNATURE,))
async def webhook(request: web.Request) -> WebhookReceipt:
    """Stripe's signed events; each is stored once, then applied by the payment actor"""
    _configured(request)
    settings = request.app[keys.CONFIG]
    if not settings.stripe_webhook_secret:
        raise Problem(
            503, "Payments are not configured", "this server has no STRIPE_WEBHOOK_SECRET"
        )
    payload = await request.read()
    signature = request.headers.get(SIGNATURE.name)
    try:
        verify_webhook(payload, signature, settings.stripe_webhook_secret)
        event = orjson.loads(payload)
        event_id, kind = str(event["id"]), str(event["type"])
    except BadSignature as exc:
        WEBHOOK_EVENTS.labels("unknown", "rejected").inc()
        log.warning("webhook signature rejected", extra={"reason": str(exc)})
        shaped = signature is not None and re.fullmatch(str(SIGNATURE.pattern), signature)
        raise Problem(
            400,
            "Invalid signature",
            f"the Stripe-Signature does not verify: {exc}",
            type=BROKEN_RULE if shaped else "about:blank",
        ) from None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        WEBHOOK_EVENTS.labels("unknown", "rejected").inc()
        raise Problem(
            400, "Invalid event", "the body is not a Stripe event with an id and a type"
        ) from None
    fresh = await store.record_event(
        request.app[keys.DB].pool, event_id=event_id, type=kind, payload=event, source="webhook"
    )
    WEBHOOK_EVENTS.labels(kind, "verified" if fresh else "duplicate").inc()
    if fresh:
        try:
            request.app[keys.SYSTEM].tell(NAME, ApplyEvent(event_id))
        except ActorUnavailable:
            log.warning("payment actor down; the reconciliation will apply the event")
    return WebhookReceipt(received=True, duplicate=not fresh)


@routes.get("/api/payments/subscription", response=Subscription | None, auth="user")
async def my_subscription(request: web.Request) -> Subscription | None:
    """The signed-in user's subscription (null when there is none)"""
    _configured(request)
    user = await require_user(request)
    return await subscription_of(request, user.id)


@routes.post("/api/payments/subscription/cancel", response=Subscription, auth="user")
async def cancel(request: web.Request) -> Subscription:
    """Cancel the subscription at the end of the period already paid for"""
    _configured(request)
    user = await require_user(request)
    row = await _ask(request, CancelSubscription(user_id=user.id))
    view = subscription_view(row)
    assert view is not None
    return view


@routes.post("/api/payments/{id}/refund", response=Payment, auth="admin")
async def refund(request: web.Request) -> Payment:
    """Refund a succeeded payment in full (admin)"""
    _configured(request)
    admin = await require_user(request, "admin")
    try:
        payment_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise Problem(404, "No such payment", "the id is not a payment id") from None
    try:
        row = await _ask(request, RefundPayment(payment_id=payment_id))
    except Problem as problem:
        await record_admin_action(
            request,
            admin,
            "payment_refunded",
            "failure",
            target=str(payment_id),
            details={"status": problem.status, "reason": problem.title},
        )
        raise
    await record_admin_action(
        request,
        admin,
        "payment_refunded",
        "success",
        target=str(payment_id),
        details={"user_id": str(row.user_id), "amount_cents": row.amount_cents},
    )
    return payment_view(row)


@routes.get("/api/payments", query=PaymentsQuery, response=list[Payment], auth="admin")
async def list_payments(request: web.Request, query: PaymentsQuery) -> list[Payment]:
    """All payments, newest first, filtered by status, user and plan (admin)"""
    _configured(request)
    rows = await store.list_payments(
        request.app[keys.DB].pool,
        status=query.status,
        user_id=query.user_id,
        plan_code=query.plan,
        limit=query.limit,
    )
    return [payment_view(r) for r in rows]
