"""Leads: capture, scoring, routing to a licensed broker, offers with deadlines.

Handlers reach the lead actor with `await system.ask(NAME, Accept(...))` and
friends (actors/leads/actor.py); capture tells it `Route(lead_id)` once the
lead is stored.
"""

from __future__ import annotations

from typing import Any

from actors.runtime import ChildSpec


def child_specs(settings: Any, *, sweep_seconds: float = 60.0) -> list[ChildSpec]:
    from actors.leads.actor import NAME, LeadActor
    from actors.leads.flow import FlowConfig

    config = FlowConfig(
        offer_seconds=settings.lead_offer_seconds,
        max_offers=settings.lead_max_offers,
        public_url=settings.public_url,
    )
    return [
        ChildSpec(
            name=NAME,
            factory=LeadActor,
            kwargs={"config": config, "sweep_seconds": sweep_seconds},
            start_timeout=60.0,
        )
    ]
