"""The payment state machine and receipt numbering: pure, no I/O.

Stripe may tell us things twice, late or out of order, so a local payment
only ever moves forward: a payment that succeeded cannot become pending or
failed again, and only a succeeded payment can be refunded. A subscription
follows what Stripe says now, except that a canceled subscription stays
canceled and its paid-up period never shrinks.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from decimal import Decimal
from typing import Any

# Payments: the in-between states may replace each other (a declined card can
# be retried, a 3-D Secure challenge can fail); the final ones are final.
_RANK = {
    "pending": 0,
    "processing": 1,
    "requires_action": 1,
    "failed": 1,
    "succeeded": 2,
    "canceled": 2,
    "refunded": 3,
}
OPEN = frozenset({"pending", "processing", "requires_action"})
SUBSCRIPTION_STATUSES = frozenset({"incomplete", "active", "past_due", "canceled", "unpaid"})


def payment_may_move(old: str, new: str) -> bool:
    """Whether a payment in state `old` may be set to `new`."""
    if old == new:
        return False
    if new == "refunded":
        return old == "succeeded"
    return _RANK[new] > _RANK[old] or (_RANK[new] == _RANK[old] == 1)


def payment_status(intent: dict[str, Any]) -> str:
    """Our status for a Stripe PaymentIntent."""
    status = intent.get("status")
    if status == "succeeded":
        return "succeeded"
    if status in ("processing", "requires_action", "canceled"):
        return str(status)
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return "failed"
    return "pending"


def subscription_status(stripe_status: str) -> str:
    """Stripe has more subscription states than we show; fold the rest in."""
    if stripe_status in SUBSCRIPTION_STATUSES:
        return stripe_status
    if stripe_status == "incomplete_expired":
        return "canceled"
    if stripe_status == "trialing":
        return "active"
    return "unpaid"  # paused and anything newer: not paid up


def subscription_may_move(old: str | None, new: str) -> bool:
    return old != "canceled" or new == "canceled"


def add_interval(start: datetime, interval: str) -> datetime:
    """One billing period after `start` (month-end days clamp, as Stripe does)."""
    months = 1 if interval == "month" else 12
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def receipt_number(year: int, sequence: int) -> str:
    """`RL-2026-000042`: sequential within the year, sortable as text."""
    return f"RL-{year}-{sequence:06d}"


def dollars(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


_DECLINES = {
    "insufficient_funds": "Your card has insufficient funds. Try another card.",
    "expired_card": "Your card has expired. Use a card that is still valid.",
    "incorrect_cvc": "The security code (CVC) is wrong. Check it and try again.",
    "incorrect_number": "The card number is wrong. Check it and try again.",
    "processing_error": "The card could not be processed. Try again in a moment.",
    "payment_intent_authentication_failure": (
        "Your bank's verification (3-D Secure) did not succeed. Try again or use another card."
    ),
}


def decline_message(error: dict[str, Any] | None) -> str:
    """Why a payment failed, in the words a card holder understands."""
    error = error or {}
    for code in (error.get("decline_code"), error.get("code")):
        if code in _DECLINES:
            return _DECLINES[code]
    return "Your card was declined. Contact your bank or use another card."


def may_come_from(new: str) -> frozenset[str]:
    """The states a payment may be in for it to move to `new`."""
    return frozenset(old for old in _RANK if payment_may_move(old, new))
