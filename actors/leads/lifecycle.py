"""A lead's lifecycle, forward only: pure rules, no I/O.

received -> offered -> accepted -> contacted -> won | lost
offered -> offered (the next broker) | unassigned -> offered
any open state -> opted_out
"""

from __future__ import annotations

from typing import Literal

Status = Literal[
    "received", "offered", "accepted", "contacted", "won", "lost", "unassigned", "opted_out"
]

STATUSES: tuple[Status, ...] = (
    "received",
    "offered",
    "accepted",
    "contacted",
    "won",
    "lost",
    "unassigned",
    "opted_out",
)

_NEXT: dict[str, frozenset[str]] = {
    "received": frozenset({"offered", "unassigned"}),
    "offered": frozenset({"offered", "accepted", "unassigned"}),
    "unassigned": frozenset({"offered"}),
    "accepted": frozenset({"contacted"}),
    "contacted": frozenset({"won", "lost"}),
    "won": frozenset(),
    "lost": frozenset(),
    "opted_out": frozenset(),
}

ROUTING = frozenset({"received", "offered", "unassigned"})
"""Routing is not finished: the lead actor resumes these on start."""

OPEN_FOR_BROKER = frozenset({"accepted", "contacted"})
"""Leads that count against a broker's capacity (with the offers pending)."""

BROKER_STEPS = frozenset({"contacted", "won", "lost"})
"""What a broker sets through POST /api/leads/{id}/status."""


def may_move(current: str, new: str) -> bool:
    if new == "opted_out":
        return current != "opted_out"
    return new in _NEXT.get(current, frozenset())


def why_not(current: str, new: str) -> str:
    """The fix-it message of a refused step."""
    allowed = sorted(_NEXT.get(current, frozenset()) & BROKER_STEPS)
    if allowed:
        return f"a {current} lead can move only to {' or '.join(allowed)}, not {new}"
    return f"a {current} lead cannot move to {new}; leads only move forward"
