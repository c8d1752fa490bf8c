"""Recording what Stripe says: confirm, webhook events, refunds, cancellations.

Money is counted once because of one statement: `move_payment(...,
to="succeeded")` returns the row to exactly one caller, and that caller
extends the subscription, numbers the receipt and queues its email in the
same transaction. The confirm call, webhooks and the reconciliation all end
there, however they interleave. Stripe's word is taken only from Stripe: a
status is re-read from the API, never taken from a client.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from actors.mailer.outbox import enqueue
from actors.payments import rules
from actors.payments.metrics import COLLECTED, PAYMENTS
from protocols.problems import Problem
from protocols.stripe_adapter import StripeGateway, StripeRefused, StripeUnavailable
from storage import payments as store
from storage.payments import PaymentRow, PlanRow, SubscriptionRow

log = logging.getLogger(__name__)

RECEIPT_TEMPLATE = "payment_receipt"
INTENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed"})
SUBSCRIPTION_EVENTS = frozenset({"customer.subscription.updated", "customer.subscription.deleted"})
HANDLED = INTENT_EVENTS | INVOICE_EVENTS | SUBSCRIPTION_EVENTS | {"charge.refunded"}


@dataclass(frozen=True)
class Started:
    payment_id: uuid.UUID
    client_secret: str


def unavailable() -> Problem:
    return Problem(
        503,
        "Payments are unavailable",
        "the payment service could not be reached; nothing was charged by this request,"
        " try again in a minute",
    )


def refused(exc: StripeRefused) -> Problem:
    log.error("Stripe refused a request", extra={"error": str(exc), "code": exc.code})
    return Problem(502, "The payment service refused the request", str(exc))


class PaymentLedger:
    def __init__(self, pool: asyncpg.Pool, gateway: StripeGateway) -> None:
        self.pool = pool
        self.stripe = gateway

    # -- confirm ----------------------------------------------------------------

    async def confirm(
        self, user_id: uuid.UUID, payment_id: uuid.UUID
    ) -> tuple[PaymentRow, SubscriptionRow | None]:
        row = await store.payment(self.pool, payment_id, user_id=user_id)
        if row is None:
            raise Problem(404, "No such payment", "check the payment_id returned by create")
        if row.status not in ("succeeded", "refunded", "canceled"):
            if row.payment_intent_id is None:
                raise Problem(
                    409, "Payment never started", "it did not reach Stripe; create a new payment"
                )
            try:
                intent = await self.stripe.payment_intent(row.payment_intent_id)
                await self.apply_intent(row, intent, strict=True)
            except StripeUnavailable:
                raise unavailable() from None
            except StripeRefused as exc:
                raise refused(exc) from None
            row = await store.payment(self.pool, payment_id) or row
        if row.status == "failed":
            raise Problem(402, "Payment failed", row.failure_reason or rules.decline_message(None))
        return row, await store.subscription(self.pool, user_id)

    async def apply_intent(self, row: PaymentRow, intent: dict[str, Any], *, strict: bool) -> None:
        """Bring the local payment to what Stripe says of its PaymentIntent."""
        mismatch = _mismatch(row, intent)
        if mismatch:
            log.error(
                "PaymentIntent does not match its payment",
                extra={"payment_id": str(row.id), "intent": intent.get("id"), "field": mismatch},
            )
            if strict:
                raise Problem(
                    409, "Payment does not match", f"Stripe reports a different {mismatch}"
                )
            return
        status = rules.payment_status(intent)
        if status == "succeeded":
            await self._succeed(row, intent)
        elif status != "pending":
            reason = rules.decline_message(intent.get("last_payment_error"))
            moved = await store.move_payment(
                self.pool,
                row.id,
                to=status,
                allowed_from=rules.may_come_from(status),
                failure_reason=reason,
            )
            if moved is not None and status in ("failed", "canceled"):
                PAYMENTS.labels(status).inc()

    async def _succeed(self, row: PaymentRow, intent: dict[str, Any]) -> None:
        if row.status in ("succeeded", "refunded"):
            return
        card = await self._card(intent)
        plan = await store.plan(self.pool, row.plan_code)
        assert plan is not None
        period: tuple[str, datetime | None, bool | None] | None = None
        if row.subscription_id is not None:
            period = await self._subscription_state(row.subscription_id, plan, paid=True)
        async with self.pool.acquire() as conn, conn.transaction():
            moved = await store.move_payment(
                conn,
                row.id,
                to="succeeded",
                allowed_from=rules.may_come_from("succeeded"),
                card_brand=card[0],
                card_last4=card[1],
            )
            if moved is None:
                return  # someone else recorded it first
            if period is not None and row.subscription_id is not None:
                await store.update_subscription(
                    conn,
                    row.subscription_id,
                    status=period[0],
                    current_period_end=period[1],
                    cancel_at_period_end=period[2],
                )
            paid_at = moved.succeeded_at or datetime.now(UTC)
            number = rules.receipt_number(
                paid_at.year, await store.next_receipt_sequence(conn, paid_at.year)
            )
            await store.set_receipt_number(conn, row.id, number)
            email, name = await store.recipient(conn, row.user_id)
            await enqueue(
                conn,
                to=email,
                template=RECEIPT_TEMPLATE,
                context={
                    "name": name,
                    "number": number,
                    "plan": plan.name,
                    "amount": rules.dollars(row.amount_cents),
                    "currency": row.currency.upper(),
                    "date": paid_at.date().isoformat(),
                    "card": f"{(card[0] or 'card').title()} ending in {card[1] or '????'}",
                },
            )
        PAYMENTS.labels("succeeded").inc()
        COLLECTED.labels(row.plan_code).inc(row.amount_cents)
        log.info("payment succeeded", extra={"payment_id": str(row.id), "receipt": number})

    async def _card(self, intent: dict[str, Any]) -> tuple[str | None, str | None]:
        method = intent.get("payment_method")
        if isinstance(method, str):
            method = await self.stripe.payment_method(method)
        card = (method or {}).get("card") or {}
        return card.get("brand"), card.get("last4")

    async def _subscription_state(
        self, subscription_id: str, plan: PlanRow, *, paid: bool
    ) -> tuple[str, datetime | None, bool | None]:
        """Status, period end and cancel-at-period-end as Stripe has them now."""
        try:
            found = await self.stripe.subscription(subscription_id)
        except StripeRefused:
            return ("canceled", None, None)
        status = rules.subscription_status(str(found.get("status")))
        if paid and status == "incomplete":
            status = "active"  # Stripe has not caught up with its own invoice yet
        end = _period_end(found)
        if end is None and paid and plan.billing_interval is not None:
            end = rules.add_interval(datetime.now(UTC), plan.billing_interval)
        return status, end, found.get("cancel_at_period_end")

    # -- events -----------------------------------------------------------------

    async def apply_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        obj = (event.get("data") or {}).get("object") or {}
        if kind in INTENT_EVENTS:
            await self._intent_changed(str(obj.get("id")))
        elif kind in INVOICE_EVENTS:
            subscription_id = _invoice_subscription(obj)
            if obj.get("payment_intent"):
                await self._intent_changed(str(obj["payment_intent"]), subscription_id)
            if subscription_id:
                await self.sync_subscription(subscription_id)
        elif kind in SUBSCRIPTION_EVENTS:
            await self.sync_subscription(str(obj.get("id")))
        elif kind == "charge.refunded" and obj.get("payment_intent"):
            row = await store.payment_by_intent(self.pool, str(obj["payment_intent"]))
            if row is not None and obj.get("refunded"):
                await self._refunded(row)

    async def _intent_changed(self, intent_id: str, subscription_id: str | None = None) -> None:
        intent = await self.stripe.payment_intent(intent_id)
        row = await store.payment_by_intent(self.pool, intent_id)
        if row is None and subscription_id is not None and intent.get("status") == "succeeded":
            row = await self._renewal(intent, subscription_id)
        if row is not None:
            await self.apply_intent(row, intent, strict=False)

    async def _renewal(self, intent: dict[str, Any], subscription_id: str) -> PaymentRow | None:
        """A later invoice of a subscription we know: a payment of its own."""
        subscription = await store.subscription_by_stripe_id(self.pool, subscription_id)
        if subscription is None:
            return None
        plan = await store.plan(self.pool, subscription.plan_code)
        if plan is None or plan.amount_cents != intent.get("amount"):
            return None
        await store.create_payment(
            self.pool,
            user_id=subscription.user_id,
            plan=plan,
            idempotency_key=None,
            payment_intent_id=str(intent["id"]),
            subscription_id=subscription_id,
        )
        return await store.payment_by_intent(self.pool, str(intent["id"]))

    async def sync_subscription(self, subscription_id: str) -> SubscriptionRow | None:
        local = await store.subscription_by_stripe_id(self.pool, subscription_id)
        if local is None:
            return None
        plan = await store.plan(self.pool, local.plan_code)
        assert plan is not None
        status, end, cancel = await self._subscription_state(subscription_id, plan, paid=False)
        if local.status == "incomplete" and status == "active":
            status = "incomplete"  # activation belongs to the recorded payment
        return await store.update_subscription(
            self.pool,
            subscription_id,
            status=status,
            current_period_end=end,
            cancel_at_period_end=cancel,
        )

    # -- subscription and refunds ------------------------------------------------

    async def cancel(self, user_id: uuid.UUID) -> SubscriptionRow:
        current = await store.subscription(self.pool, user_id)
        if current is None or current.stripe_subscription_id is None:
            raise Problem(404, "No subscription", "you have no subscription to cancel")
        if current.status == "canceled":
            raise Problem(409, "Already canceled", "this subscription has ended")
        try:
            found = await self.stripe.cancel_at_period_end(current.stripe_subscription_id)
        except StripeUnavailable:
            raise unavailable() from None
        except StripeRefused as exc:
            raise refused(exc) from None
        updated = await store.update_subscription(
            self.pool,
            current.stripe_subscription_id,
            status=rules.subscription_status(str(found.get("status"))),
            current_period_end=_period_end(found),
            cancel_at_period_end=True,
        )
        assert updated is not None
        return updated

    async def refund(self, payment_id: uuid.UUID) -> PaymentRow:
        row = await store.payment(self.pool, payment_id)
        if row is None:
            raise Problem(404, "No such payment", "check the payment id")
        if row.status == "refunded":
            return row
        if row.status != "succeeded" or row.payment_intent_id is None:
            raise Problem(
                409,
                "Not refundable",
                f"only a succeeded payment can be refunded; this one is {row.status}",
            )
        try:
            await self.stripe.refund(row.payment_intent_id, idempotency_key=f"refund-{row.id}")
        except StripeUnavailable:
            raise unavailable() from None
        except StripeRefused as exc:
            raise refused(exc) from None
        await self._refunded(row)
        return await store.payment(self.pool, payment_id) or row

    async def _refunded(self, row: PaymentRow) -> None:
        moved = await store.move_payment(
            self.pool, row.id, to="refunded", allowed_from=rules.may_come_from("refunded")
        )
        if moved is not None:
            PAYMENTS.labels("refunded").inc()


def _mismatch(row: PaymentRow, intent: dict[str, Any]) -> str | None:
    if intent.get("amount") != row.amount_cents:
        return "amount"
    if str(intent.get("currency", "")).lower() != row.currency:
        return "currency"
    if row.customer_id is not None and intent.get("customer") not in (None, row.customer_id):
        return "customer"
    named = (intent.get("metadata") or {}).get("rateline_payment_id")
    if named is not None and named != str(row.id):
        return "metadata"
    return None


def _period_end(subscription: dict[str, Any]) -> datetime | None:
    """Stripe moved the period onto the items in 2025; read either place."""
    stamp = subscription.get("current_period_end")
    if stamp is None:
        items = (subscription.get("items") or {}).get("data") or [{}]
        stamp = items[0].get("current_period_end")
    return datetime.fromtimestamp(int(stamp), UTC) if stamp else None


def _invoice_subscription(invoice: dict[str, Any]) -> str | None:
    found = invoice.get("subscription")
    if found is None:
        details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
        found = details.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    return str(found) if found else None
