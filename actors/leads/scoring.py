"""What lead_qualifier is told about a lead.

The borrower's message is untrusted text: it travels only as a JSON string
inside the INPUT document (data, never part of the instructions), with its
digits masked, so a figure in the model's reasons can only come from the
lead's structured fields and the engine's facts.
"""

from __future__ import annotations

import re
from typing import Any

from storage.leads import LeadRow

TIMELINE_MONTHS = {"now": 0, "3_months": 3, "6_months": 6, "later": 12}
_DIGIT = re.compile(r"\d")


def masked(message: str) -> str:
    return _DIGIT.sub("#", message)


def qualifier_input(lead: LeadRow) -> dict[str, Any]:
    return {
        "loan_amount": str(lead.loan_amount),
        "home_price": str(lead.price),
        "credit_score": lead.credit_score,
        "timeline_months": TIMELINE_MONTHS[lead.timeline],
        "message": masked(lead.message),
    }
