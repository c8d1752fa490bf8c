"""Starting a payment: the local row first, then Stripe's customer, plan,
subscription and PaymentIntent, each created under a key derived from that
row, so a retry (or a retried request with the same Idempotency-Key) finds
what the first attempt made instead of charging twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from actors.payments import rules
from actors.payments.ledger import PaymentLedger, Started, unavailable
from actors.payments.metrics import PAYMENTS
from protocols.problems import BROKEN_RULE, FieldError, Problem, invalid
from protocols.stripe_adapter import StripeRefused, StripeUnavailable
from storage import payments as store
from storage.payments import PaymentRow, PlanRow


class Checkout:
    def __init__(self, ledger: PaymentLedger) -> None:
        self.pool = ledger.pool
        self.stripe = ledger.stripe

    async def create(
        self,
        *,
        user_id: uuid.UUID,
        email: str,
        plan_code: str,
        payment_method: str | None,
        idempotency_key: str | None,
    ) -> Started:
        plan = await store.plan(self.pool, plan_code)
        if plan is None or not plan.active:
            known = ", ".join(p.code for p in await store.plans(self.pool))
            raise invalid("/plan", f"no plan {plan_code!r}; choose one of {known}")
        if plan.billing_interval is not None and payment_method is None:
            raise invalid(
                "/payment_method",
                f"is required for {plan.code!r}, a subscription: send the card Stripe.js saved",
                type=BROKEN_RULE,
            )
        row = await self._row_for(user_id, plan, idempotency_key)
        if row.client_secret is not None:
            return Started(row.id, row.client_secret)
        if plan.billing_interval is not None:
            current = await store.subscription(self.pool, user_id)
            if current is not None and current.status in ("active", "past_due"):
                raise Problem(
                    409,
                    "Already subscribed",
                    f"you have a {current.status} {current.plan_code} subscription;"
                    " cancel it before choosing another plan",
                )
        try:
            customer = await self._customer(user_id, email)
            if plan.billing_interval is None:
                intent = await self.stripe.create_payment_intent(
                    amount=plan.amount_cents,
                    currency=plan.currency,
                    customer=customer,
                    payment_method=payment_method,
                    metadata={"rateline_payment_id": str(row.id)},
                    idempotency_key=f"payment-{row.id}",
                )
                subscription_id = None
            else:
                intent, subscription_id = await self._subscribe(row, plan, customer, payment_method)
        except StripeUnavailable:
            await store.move_payment(
                self.pool,
                row.id,
                to="failed",
                allowed_from={"pending"},
                failure_reason="the payment service could not be reached",
            )
            raise unavailable() from None
        except StripeRefused as exc:
            unknown_card = exc.missing and payment_method is not None
            reason = (
                f"Stripe has no card {payment_method}; enter the card again"
                if unknown_card
                else rules.decline_message({"code": exc.code, "decline_code": exc.decline_code})
            )
            await store.move_payment(
                self.pool, row.id, to="failed", allowed_from={"pending"}, failure_reason=reason
            )
            PAYMENTS.labels("failed").inc()
            if unknown_card:
                raise Problem(
                    404,
                    "No such card",
                    reason,
                    errors=[FieldError(pointer="/payment_method", detail=reason)],
                ) from None
            raise Problem(402, "Payment failed", reason) from None
        async with self.pool.acquire() as conn, conn.transaction():
            await store.attach_intent(
                conn,
                row.id,
                intent_id=intent["id"],
                client_secret=intent["client_secret"],
                customer_id=customer,
                subscription_id=subscription_id,
            )
            if subscription_id is not None:
                await store.start_subscription(
                    conn,
                    user_id=user_id,
                    plan_code=plan.code,
                    stripe_subscription_id=subscription_id,
                )
        return Started(row.id, intent["client_secret"])

    async def card_setup(self) -> str:
        """The client secret of a SetupIntent; Stripe.js confirms it with the card."""
        try:
            intent = await self.stripe.create_setup_intent()
        except StripeUnavailable:
            raise unavailable() from None
        except StripeRefused as exc:
            raise Problem(402, "Card setup failed", str(exc)) from None
        return str(intent["client_secret"])

    async def _row_for(self, user_id: uuid.UUID, plan: PlanRow, key: str | None) -> PaymentRow:
        """The local row, written before Stripe hears of the payment."""
        if key is not None:
            row = await store.payment_by_key(self.pool, user_id, key)
            if row is not None:
                if row.plan_code != plan.code:
                    raise Problem(
                        422,
                        "Idempotency-Key reused",
                        f"this key was used for a {row.plan_code} payment; send a new key",
                    )
                if row.status == "failed" and row.payment_intent_id is None:
                    # The first try never reached Stripe: try again on the same row and keys.
                    await store.move_payment(
                        self.pool, row.id, to="pending", allowed_from={"failed"}
                    )
                return row
        created = await store.create_payment(
            self.pool, user_id=user_id, plan=plan, idempotency_key=key
        )
        if created is None:  # the same key, concurrently
            assert key is not None
            again = await store.payment_by_key(self.pool, user_id, key)
            assert again is not None
            return again
        return created

    async def _customer(self, user_id: uuid.UUID, email: str) -> str:
        known = await store.customer_of(self.pool, user_id)
        if known is not None:
            return known
        customer = await self.stripe.create_customer(email=email, user_id=str(user_id))
        return await store.remember_customer(self.pool, user_id, customer["id"])

    async def _subscribe(
        self, row: PaymentRow, plan: PlanRow, customer: str, payment_method: str | None
    ) -> tuple[dict[str, Any], str]:
        if payment_method is not None:
            await self.stripe.attach_payment_method(payment_method, customer)
        plan_id = f"rateline_{plan.code}"
        await self.stripe.ensure_plan(
            plan_id=plan_id,
            name=plan.name,
            amount=plan.amount_cents,
            currency=plan.currency,
            interval=str(plan.billing_interval),
        )
        subscription = await self.stripe.create_subscription(
            customer=customer,
            plan_id=plan_id,
            metadata={"rateline_payment_id": str(row.id)},
            idempotency_key=f"subscription-{row.id}",
        )
        intent = (subscription.get("latest_invoice") or {}).get("payment_intent")
        if isinstance(intent, str):
            intent = await self.stripe.payment_intent(intent)
        if not intent:
            raise StripeUnavailable("the subscription came without a first invoice to pay")
        return intent, subscription["id"]
