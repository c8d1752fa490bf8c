"""The supervision tree: which actors run, in which order, under which rules."""

from __future__ import annotations

from actors import agents, alerting, audit, calculation, mailer, payments, rates
from actors import leads as lead_actors
from actors.runtime import ChildSpec, SupervisorSpec
from ops.config import Settings


def build_tree(settings: Settings) -> SupervisorSpec:
    """Children start in this order and stop in reverse."""
    children: list[ChildSpec | SupervisorSpec] = [
        *rates.child_specs(settings),
        *mailer.child_specs(settings),
        *agents.child_specs(settings),
        *calculation.child_specs(settings),
        *audit.child_specs(settings),
        *payments.child_specs(settings),
        *alerting.child_specs(settings),
        *lead_actors.child_specs(settings),
    ]
    return SupervisorSpec(
        name="rateline",
        children=children,
        strategy="one_for_one",
        max_restarts=5,
        period=10.0,
    )
