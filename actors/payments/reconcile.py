"""Healing what webhooks missed.

Stripe keeps its recent events; any handled one we never stored is stored
and applied now, stored events a crash left unapplied are applied, and a
payment still open after a day is checked with Stripe and closed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from actors.payments.ledger import HANDLED, PaymentLedger
from actors.payments.metrics import RECONCILE_REPAIRS
from protocols.stripe_adapter import StripeRefused
from storage import payments as store

log = logging.getLogger(__name__)

STALE_SECONDS = 86_400.0


@dataclass(frozen=True)
class Reconciled:
    missed_events: int
    applied_late: int
    closed_payments: int


async def apply_stored(ledger: PaymentLedger, event_id: str) -> bool:
    """Apply a stored event once it is in; False when it must wait for a retry."""
    event = await store.unapplied_event(ledger.pool, event_id)
    if event is None:
        return True
    try:
        await ledger.apply_event(event)
    except StripeRefused as exc:  # the object is gone or was never ours: nothing to apply
        log.warning(
            "event names nothing Stripe knows", extra={"event_id": event_id, "error": str(exc)}
        )
    except Exception as exc:  # Stripe down, or a bug: the next reconciliation retries
        log.warning(
            "event left for the next reconciliation",
            extra={"event_id": event_id, "error": repr(exc)},
        )
        return False
    await store.mark_applied(ledger.pool, event_id)
    return True


async def reconcile(ledger: PaymentLedger, *, stale_seconds: float = STALE_SECONDS) -> Reconciled:
    events = [e for e in await ledger.stripe.recent_events() if e.get("type") in HANDLED]
    known = await store.known_event_ids(ledger.pool, [e["id"] for e in events])
    missed = 0
    for event in sorted(events, key=lambda e: e.get("created", 0)):
        if event["id"] in known:
            continue
        if await store.record_event(
            ledger.pool, event_id=event["id"], type=event["type"], payload=event, source="reconcile"
        ):
            missed += 1
            await apply_stored(ledger, event["id"])
    late = 0
    for event_id in await store.unapplied_event_ids(ledger.pool):
        late += await apply_stored(ledger, event_id)
    closed = 0
    for row in await store.stale_open_payments(ledger.pool, older_than_seconds=stale_seconds):
        if row.payment_intent_id is not None:
            try:
                intent = await ledger.stripe.payment_intent(row.payment_intent_id)
            except StripeRefused:
                intent = None
            if intent is not None:
                await ledger.apply_intent(row, intent, strict=False)
                if intent.get("status") not in ("requires_payment_method", "requires_confirmation"):
                    continue
        moved = await store.move_payment(
            ledger.pool,
            row.id,
            to="canceled",
            allowed_from={"pending", "requires_action"},
            failure_reason="not paid within a day",
        )
        closed += moved is not None
    RECONCILE_REPAIRS.inc(missed + closed)
    if missed or late or closed:
        log.warning(
            "payments reconciled",
            extra={"missed_events": missed, "applied_late": late, "closed_payments": closed},
        )
    return Reconciled(missed, late, closed)
