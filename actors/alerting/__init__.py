"""Alerting: threshold rules over our own metrics, their states, notifications.

Pure logic: rules (what a rule says, reading a rules file), evaluate (the
functions over a registry snapshot), state (pending -> firing -> resolved,
what to notify), promql (the same rules for Prometheus). The actor
(actors.alerting.actor) runs them every RATELINE_ALERT_EVAL_SECONDS.
"""

from __future__ import annotations

from typing import Any

from actors.alerting.builtin import BUILTIN_RULES
from actors.alerting.rules import Rule, RulesError, load_rules_file, rules_from_data
from actors.runtime import ChildSpec


def load_rules(settings: Any) -> list[Rule]:
    """The built-in rules plus those of RATELINE_ALERT_RULES; RulesError if any is bad."""
    rules = rules_from_data({"rules": BUILTIN_RULES}, "built-in rules")
    path = getattr(settings, "alert_rules", None)
    if path:
        extra = load_rules_file(path)
        taken = {rule.name for rule in rules}
        for rule in extra:
            if rule.name in taken:
                raise RulesError(f"{path}: rule {rule.name!r}: name: a built-in rule has it")
        rules.extend(extra)
    return rules


def child_specs(settings: Any) -> list[ChildSpec]:
    from actors.alerting.actor import NAME, AlertingActor
    from actors.alerting.config import AlertingConfig

    config = AlertingConfig.from_settings(settings, load_rules(settings))
    return [ChildSpec(name=NAME, factory=AlertingActor, kwargs={"config": config})]


__all__ = ["Rule", "RulesError", "child_specs", "load_rules"]
