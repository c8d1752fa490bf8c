"""The mailer's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

QUEUED = Counter(
    "rateline_mail_queued_total",
    "Emails written to the outbox, by template (a rolled-back write still counts).",
    ["template"],
)
SENT = Counter(
    "rateline_mail_sent_total", "Emails accepted by the SMTP relay, by template.", ["template"]
)
RETRIED = Counter(
    "rateline_mail_retried_total",
    "Delivery attempts that failed temporarily and were rescheduled, by template.",
    ["template"],
)
FAILED = Counter(
    "rateline_mail_failed_total",
    "Emails given up on (permanent refusal or too many attempts), by template.",
    ["template"],
)
HELD = Counter(
    "rateline_mail_held_total", "Emails kept in the outbox because no SMTP is configured."
)
OLDEST_PENDING = Gauge(
    "rateline_mail_oldest_pending_age_seconds",
    "Age of the oldest email waiting for delivery (0 when none).",
)
