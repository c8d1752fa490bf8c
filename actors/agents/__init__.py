"""AI agents: the agent manager actor, its agents (mortgage_advisor,
lead_qualifier), their built-in rule providers and the OpenAI provider, and
the two-level answer cache.

Other parts of the server need only this module:

    answer = await ask_agent(system, "mortgage_advisor", AdvisorInput(...))

or, from another actor's thread, `self.run_io(ask_agent(...), timeout)`.
"""

from __future__ import annotations

from actors.agents.manager import (
    MANAGER,
    AgentManager,
    AskAgent,
    ask_agent,
    build_service,
)
from actors.agents.options import AgentOptions
from actors.agents.registry import AGENTS
from actors.agents.service import AgentService, Answer, UnknownAgent
from actors.runtime import ChildSpec
from ops.config import Settings


def child_specs(settings: Settings, options: AgentOptions | None = None) -> list[ChildSpec]:
    """The agent manager, for the supervision tree (after storage is up)."""
    return [
        ChildSpec(
            name=MANAGER,
            factory=AgentManager,
            kwargs={"options": options or AgentOptions.from_settings(settings)},
        )
    ]


__all__ = [
    "AGENTS",
    "MANAGER",
    "AgentManager",
    "AgentOptions",
    "AgentService",
    "Answer",
    "AskAgent",
    "UnknownAgent",
    "ask_agent",
    "build_service",
    "child_specs",
]
