"""Payment metrics; the alert rules on webhook results are kept by alerting."""

from __future__ import annotations

from prometheus_client import Counter

PAYMENTS = Counter(
    "rateline_payments_total",
    "Payments reaching an outcome (succeeded, failed, refunded, canceled, ...).",
    ["outcome"],
)
WEBHOOK_EVENTS = Counter(
    "rateline_payment_webhook_events_total",
    "Stripe webhook deliveries by event type and result (verified, duplicate, rejected).",
    ["type", "result"],
)
RECONCILE_REPAIRS = Counter(
    "rateline_payment_reconciliation_repairs_total",
    "Stripe events the reconciliation found missing and applied, and stale payments it closed.",
)
COLLECTED = Counter(
    "rateline_payment_collected_cents_total",
    "Money collected by successful payments, in US cents, by plan.",
    ["plan"],
)
