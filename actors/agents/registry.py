"""The agents the manager knows. Adding one: write its class, list it here."""

from __future__ import annotations

from typing import Any

from actors.agents.advisor import MortgageAdvisor
from actors.agents.base import Agent
from actors.agents.lead_qualifier import LeadQualifier
from actors.calculation.pricing import LlpaGrid


def agents_pricing_with(llpa_grid: LlpaGrid | None) -> dict[str, Agent[Any, Any]]:
    """The agents, the advisor pricing with `llpa_grid` (None: the shipped grid)."""
    return {agent.name: agent for agent in (MortgageAdvisor(llpa_grid), LeadQualifier())}


AGENTS = agents_pricing_with(None)
