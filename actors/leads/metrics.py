"""The lead flow's Prometheus metrics (alert rules watch the unassigned gauge
and the expired offers)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_SPEED = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600)

RECEIVED = Counter("rateline_leads_received_total", "New leads stored.")
DUPLICATES = Counter(
    "rateline_leads_duplicates_joined_total",
    "Submissions joined to the same borrower's lead of the last 30 days.",
)
OFFERS = Counter("rateline_lead_offers_total", "Offers of a lead made to a broker.")
EXPIRED = Counter(
    "rateline_lead_offers_expired_total", "Offers a broker let lapse without an answer."
)
UNASSIGNED = Gauge(
    "rateline_leads_unassigned", "Leads waiting in the unassigned queue for a broker."
)
OPT_OUTS = Counter("rateline_lead_opt_outs_total", "Borrowers who asked not to be contacted.")
TO_FIRST_OFFER = Histogram(
    "rateline_lead_first_offer_seconds", "From receipt to the first offer.", buckets=_SPEED
)
TO_ACCEPTANCE = Histogram(
    "rateline_lead_acceptance_seconds", "From receipt to a broker's acceptance.", buckets=_SPEED
)
