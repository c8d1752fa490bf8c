"""A lead as each reader may see it: contact details only once accepted."""

from __future__ import annotations

from datetime import datetime

from protocols.api.leads import LeadView
from storage.leads import LeadRow


def lead_view(lead: LeadRow, *, full: bool, deadline: datetime | None = None) -> LeadView:
    """`full` reveals the name, email, phone and message (the assigned broker,
    the submitter, an admin); otherwise only what a broker needs to decide."""
    view = LeadView(
        id=lead.id,
        status=lead.status,  # type: ignore[arg-type]
        first_name=lead.first_name,
        state=lead.state,
        purpose=lead.purpose,  # type: ignore[arg-type]
        loan_amount=lead.loan_amount,
        score=lead.score,
        tier=lead.tier,  # type: ignore[arg-type]
        reasons=lead.reasons or [],
        received_at=lead.received_at,
        timeline=lead.timeline,  # type: ignore[arg-type]
        credit_score=lead.credit_score,
        offer_deadline=deadline,
    )
    if full:
        view.name = lead.name
        view.email = lead.email
        view.phone = lead.phone
        view.message = lead.message
        view.price = lead.price
        view.broker_id = lead.broker_id
        view.accepted_at = lead.accepted_at
    return view
