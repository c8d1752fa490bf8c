"""The agents the manager knows. Adding one: write its class, list it here."""

from __future__ import annotations

from typing import Any

from actors.agents.advisor import MortgageAdvisor
from actors.agents.base import Agent
from actors.agents.lead_qualifier import LeadQualifier

AGENTS: dict[str, Agent[Any, Any]] = {
    agent.name: agent for agent in (MortgageAdvisor(), LeadQualifier())
}
