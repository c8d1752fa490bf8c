"""Plans, payments, subscriptions, Stripe events and receipt numbers.

Every state change is a conditional UPDATE naming the states it may leave,
so two callers racing to record the same outcome both run the statement and
exactly one of them gets a row back; the caller that did applies the effects
in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.database import Executor


@dataclass(frozen=True)
class PlanRow:
    code: str
    name: str
    amount_cents: int
    currency: str
    billing_interval: str | None
    active: bool


@dataclass(frozen=True)
class PaymentRow:
    id: uuid.UUID
    user_id: uuid.UUID
    plan_code: str
    amount_cents: int
    currency: str
    status: str
    idempotency_key: str | None
    payment_intent_id: str | None
    client_secret: str | None
    customer_id: str | None
    subscription_id: str | None
    failure_reason: str | None
    card_brand: str | None
    card_last4: str | None
    receipt_number: str | None
    created_at: datetime
    succeeded_at: datetime | None
    refunded_at: datetime | None


@dataclass(frozen=True)
class SubscriptionRow:
    user_id: uuid.UUID
    plan_code: str
    stripe_subscription_id: str | None
    status: str
    current_period_end: datetime | None
    cancel_at_period_end: bool


_PLAN = "code, name, amount_cents, currency, billing_interval, active"
_PAYMENT = (
    "id, user_id, plan_code, amount_cents, currency, status, idempotency_key, payment_intent_id,"
    " client_secret, customer_id, subscription_id, failure_reason, card_brand, card_last4,"
    " receipt_number, created_at, succeeded_at, refunded_at"
)
_SUBSCRIPTION = (
    "user_id, plan_code, stripe_subscription_id, status, current_period_end, cancel_at_period_end"
)


def _payment(row: Any) -> PaymentRow | None:
    return PaymentRow(**dict(row)) if row is not None else None


# -- plans ----------------------------------------------------------------------


async def plans(db: Executor, *, active_only: bool = True) -> list[PlanRow]:
    rows = await db.fetch(
        f"SELECT {_PLAN} FROM payment_plans WHERE active OR NOT $1 ORDER BY amount_cents, code",
        active_only,
    )
    return [PlanRow(**dict(r)) for r in rows]


async def plan(db: Executor, code: str) -> PlanRow | None:
    row = await db.fetchrow(f"SELECT {_PLAN} FROM payment_plans WHERE code = $1", code)
    return PlanRow(**dict(row)) if row is not None else None


async def add_plan(
    db: Executor, *, code: str, name: str, amount_cents: int, billing_interval: str | None
) -> PlanRow | None:
    """The new plan, or None when the code is taken."""
    row = await db.fetchrow(
        f"""INSERT INTO payment_plans (code, name, amount_cents, billing_interval)
        VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING RETURNING {_PLAN}""",
        code,
        name,
        amount_cents,
        billing_interval,
    )
    return PlanRow(**dict(row)) if row is not None else None


# -- customers ------------------------------------------------------------------


async def customer_of(db: Executor, user_id: uuid.UUID) -> str | None:
    value = await db.fetchval(
        "SELECT customer_id FROM stripe_customers WHERE user_id = $1", user_id
    )
    return str(value) if value is not None else None


async def remember_customer(db: Executor, user_id: uuid.UUID, customer_id: str) -> str:
    """The user's customer id: the one stored first wins."""
    await db.execute(
        "INSERT INTO stripe_customers (user_id, customer_id) VALUES ($1, $2)"
        " ON CONFLICT (user_id) DO NOTHING",
        user_id,
        customer_id,
    )
    return await customer_of(db, user_id) or customer_id


# -- payments -------------------------------------------------------------------


async def create_payment(
    db: Executor,
    *,
    user_id: uuid.UUID,
    plan: PlanRow,
    idempotency_key: str | None,
    payment_intent_id: str | None = None,
    subscription_id: str | None = None,
) -> PaymentRow | None:
    """A pending payment; None when this user already used the idempotency key."""
    row = await db.fetchrow(
        f"""INSERT INTO payments (user_id, plan_code, amount_cents, currency, idempotency_key,
            payment_intent_id, subscription_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT DO NOTHING RETURNING {_PAYMENT}""",
        user_id,
        plan.code,
        plan.amount_cents,
        plan.currency,
        idempotency_key,
        payment_intent_id,
        subscription_id,
    )
    return _payment(row)


async def payment(
    db: Executor, payment_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> PaymentRow | None:
    row = await db.fetchrow(
        f"SELECT {_PAYMENT} FROM payments WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2)",
        payment_id,
        user_id,
    )
    return _payment(row)


async def payment_by_key(db: Executor, user_id: uuid.UUID, key: str) -> PaymentRow | None:
    row = await db.fetchrow(
        f"SELECT {_PAYMENT} FROM payments WHERE user_id = $1 AND idempotency_key = $2",
        user_id,
        key,
    )
    return _payment(row)


async def payment_by_intent(db: Executor, intent_id: str) -> PaymentRow | None:
    row = await db.fetchrow(
        f"SELECT {_PAYMENT} FROM payments WHERE payment_intent_id = $1", intent_id
    )
    return _payment(row)


async def attach_intent(
    db: Executor,
    payment_id: uuid.UUID,
    *,
    intent_id: str,
    client_secret: str,
    customer_id: str,
    subscription_id: str | None,
) -> None:
    await db.execute(
        """UPDATE payments SET payment_intent_id = $2, client_secret = $3, customer_id = $4,
            subscription_id = $5, updated_at = now()
        WHERE id = $1""",
        payment_id,
        intent_id,
        client_secret,
        customer_id,
        subscription_id,
    )


async def move_payment(
    db: Executor,
    payment_id: uuid.UUID,
    *,
    to: str,
    allowed_from: frozenset[str] | set[str],
    failure_reason: str | None = None,
    card_brand: str | None = None,
    card_last4: str | None = None,
) -> PaymentRow | None:
    """Set the status when the payment is in one of `allowed_from`; None if it was not."""
    row = await db.fetchrow(
        f"""UPDATE payments SET status = $2, updated_at = now(),
            failure_reason = CASE WHEN $2 = 'failed' THEN $4 ELSE failure_reason END,
            card_brand = coalesce($5, card_brand), card_last4 = coalesce($6, card_last4),
            succeeded_at = CASE WHEN $2 = 'succeeded' THEN now() ELSE succeeded_at END,
            refunded_at = CASE WHEN $2 = 'refunded' THEN now() ELSE refunded_at END
        WHERE id = $1 AND status = ANY($3::text[])
        RETURNING {_PAYMENT}""",
        payment_id,
        to,
        list(allowed_from),
        failure_reason,
        card_brand,
        card_last4,
    )
    return _payment(row)


async def set_receipt_number(db: Executor, payment_id: uuid.UUID, number: str) -> None:
    await db.execute("UPDATE payments SET receipt_number = $2 WHERE id = $1", payment_id, number)


async def next_receipt_sequence(db: Executor, year: int) -> int:
    """The next number of `year`; the row lock serialises concurrent callers."""
    value = await db.fetchval(
        """INSERT INTO receipt_counters (year, last_number) VALUES ($1, 1)
        ON CONFLICT (year) DO UPDATE SET last_number = receipt_counters.last_number + 1
        RETURNING last_number""",
        year,
    )
    return int(value)


async def list_payments(
    db: Executor,
    *,
    status: str | None = None,
    user_id: uuid.UUID | None = None,
    plan_code: str | None = None,
    limit: int = 100,
) -> list[PaymentRow]:
    rows = await db.fetch(
        f"""SELECT {_PAYMENT} FROM payments
        WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR user_id = $2)
          AND ($3::text IS NULL OR plan_code = $3)
        ORDER BY created_at DESC LIMIT $4""",
        status,
        user_id,
        plan_code,
        limit,
    )
    return [PaymentRow(**dict(r)) for r in rows]


async def stale_open_payments(db: Executor, *, older_than_seconds: float) -> list[PaymentRow]:
    rows = await db.fetch(
        f"""SELECT {_PAYMENT} FROM payments
        WHERE status IN ('pending', 'processing', 'requires_action')
          AND created_at < now() - make_interval(secs => $1)
        ORDER BY created_at LIMIT 100""",
        older_than_seconds,
    )
    return [PaymentRow(**dict(r)) for r in rows]


# -- subscriptions --------------------------------------------------------------


async def subscription(db: Executor, user_id: uuid.UUID) -> SubscriptionRow | None:
    row = await db.fetchrow(
        f"SELECT {_SUBSCRIPTION} FROM subscriptions WHERE user_id = $1", user_id
    )
    return SubscriptionRow(**dict(row)) if row is not None else None


async def subscription_by_stripe_id(db: Executor, stripe_id: str) -> SubscriptionRow | None:
    row = await db.fetchrow(
        f"SELECT {_SUBSCRIPTION} FROM subscriptions WHERE stripe_subscription_id = $1", stripe_id
    )
    return SubscriptionRow(**dict(row)) if row is not None else None


async def start_subscription(
    db: Executor, *, user_id: uuid.UUID, plan_code: str, stripe_subscription_id: str
) -> None:
    """A new incomplete subscription replaces a user's ended one."""
    await db.execute(
        """INSERT INTO subscriptions (user_id, plan_code, stripe_subscription_id, status)
        VALUES ($1, $2, $3, 'incomplete')
        ON CONFLICT (user_id) DO UPDATE SET plan_code = $2, stripe_subscription_id = $3,
            status = 'incomplete', current_period_end = NULL, cancel_at_period_end = false,
            updated_at = now()""",
        user_id,
        plan_code,
        stripe_subscription_id,
    )


async def update_subscription(
    db: Executor,
    stripe_subscription_id: str,
    *,
    status: str,
    current_period_end: datetime | None,
    cancel_at_period_end: bool | None = None,
) -> SubscriptionRow | None:
    """Follow Stripe; a canceled subscription stays canceled, its period never shrinks."""
    row = await db.fetchrow(
        f"""UPDATE subscriptions SET
            status = CASE WHEN status = 'canceled' THEN status ELSE $2 END,
            current_period_end = GREATEST(current_period_end, $3),
            cancel_at_period_end = coalesce($4, cancel_at_period_end),
            updated_at = now()
        WHERE stripe_subscription_id = $1 RETURNING {_SUBSCRIPTION}""",
        stripe_subscription_id,
        status,
        current_period_end,
        cancel_at_period_end,
    )
    return SubscriptionRow(**dict(row)) if row is not None else None


# -- Stripe events --------------------------------------------------------------


async def record_event(
    db: Executor, *, event_id: str, type: str, payload: dict[str, Any], source: str
) -> bool:
    """Store an event once; False when it was seen before."""
    status = await db.execute(
        """INSERT INTO payment_events (id, type, payload, source) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO NOTHING""",
        event_id,
        type,
        payload,
        source,
    )
    return bool(status == "INSERT 0 1")


async def unapplied_event(db: Executor, event_id: str) -> dict[str, Any] | None:
    payload = await db.fetchval(
        "SELECT payload FROM payment_events WHERE id = $1 AND applied_at IS NULL", event_id
    )
    return dict(payload) if payload is not None else None


async def unapplied_event_ids(db: Executor, *, limit: int = 500) -> list[str]:
    rows = await db.fetch(
        "SELECT id FROM payment_events WHERE applied_at IS NULL ORDER BY received_at LIMIT $1",
        limit,
    )
    return [r["id"] for r in rows]


async def known_event_ids(db: Executor, ids: list[str]) -> set[str]:
    rows = await db.fetch("SELECT id FROM payment_events WHERE id = ANY($1::text[])", ids)
    return {r["id"] for r in rows}


async def mark_applied(db: Executor, event_id: str) -> None:
    await db.execute("UPDATE payment_events SET applied_at = now() WHERE id = $1", event_id)


async def recipient(db: Executor, user_id: uuid.UUID) -> tuple[str, str]:
    """The email address and name a receipt goes to."""
    row = await db.fetchrow("SELECT email, name FROM users WHERE id = $1", user_id)
    return (row["email"], row["name"]) if row is not None else ("", "")
