"""Request and response types of /api/payments/*.

Amounts leave as decimal strings of dollars ("49.00"); plans keep their
integer cents too, since that is what Stripe is charged.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from protocols.problems import BROKEN_RULE

PlanCode = Annotated[
    str,
    Meta(pattern=r"^[a-z0-9_]{1,64}$", description="Plan code", examples=["broker_pro_monthly"]),
]
Dollars = Annotated[Decimal, Meta(description='US dollars, e.g. "49.00".')]
PaymentStatus = Literal[
    "pending", "processing", "requires_action", "failed", "succeeded", "canceled", "refunded"
]
SubscriptionStatus = Literal["incomplete", "active", "past_due", "canceled", "unpaid"]


class Plan(msgspec.Struct, kw_only=True):
    code: str
    name: str
    amount: Dollars
    amount_cents: int
    currency: str
    interval: Literal["month", "year"] | None


class NewPlan(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: PlanCode
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    amount_cents: Annotated[int, Meta(gt=0, le=10_000_000, description="Price in US cents")]
    interval: Literal["month", "year"] | None = None


class CreatePayment(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    plan: PlanCode
    payment_method: (
        Annotated[
            str,
            Meta(
                pattern=r"^pm_[A-Za-z0-9_]{1,200}$",
                description="A PaymentMethod made by Stripe.js, attached at create;"
                " required when the plan is a subscription (a rule spanning the plan"
                " and this field: without it the answer is a 422 of type"
                f" {BROKEN_RULE}).",
            ),
        ]
        | None
    ) = None


class Created(msgspec.Struct, kw_only=True):
    payment_id: uuid.UUID
    client_secret: str
    publishable_key: str | None


class PaymentsConfig(msgspec.Struct, kw_only=True):
    """What the payment page needs before it shows the card form."""

    publishable_key: str | None
    stripe_js_url: str


class CardSetup(msgspec.Struct, kw_only=True):
    """A SetupIntent's client secret: Stripe.js confirms it with the card,
    and the PaymentMethod it makes goes to /api/payments/create."""

    client_secret: str


class ConfirmPayment(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    payment_id: uuid.UUID


class Subscription(msgspec.Struct, kw_only=True):
    plan: str
    status: SubscriptionStatus
    current_period_end: datetime | None
    cancel_at_period_end: bool


class Payment(msgspec.Struct, kw_only=True):
    payment_id: uuid.UUID
    user_id: uuid.UUID
    plan: str
    amount: Dollars
    currency: str
    status: PaymentStatus
    failure_reason: str | None
    receipt_number: str | None
    card_brand: str | None
    card_last4: str | None
    created_at: datetime
    succeeded_at: datetime | None
    refunded_at: datetime | None


class Confirmed(msgspec.Struct, kw_only=True):
    payment: Payment
    subscription: Subscription | None


class PaymentsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: PaymentStatus | None = None
    user_id: uuid.UUID | None = None
    plan: PlanCode | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


class WebhookReceipt(msgspec.Struct, kw_only=True):
    received: bool
    duplicate: bool
