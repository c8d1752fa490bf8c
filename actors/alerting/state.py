"""Alert instances and their states: inactive -> pending -> firing -> resolved.

Prometheus' meaning: an instance is pending from the first evaluation its
condition holds; it fires once it has held for `for` (at once when `for` is
0); a pending instance whose condition stops holding is dropped, never
fired; a firing one stays firing while the condition has failed for less
than `keep_firing_for`, then resolves. One instance per distinct label set,
identified by a fingerprint of its labels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

import orjson

from actors.alerting.evaluate import Result
from actors.alerting.rules import Matcher, Rule, matches_all, render_template

PENDING, FIRING, RESOLVED = "pending", "firing", "resolved"
# How long a resolved instance stays in memory (the database keeps it longer).
RESOLVED_RETENTION = timedelta(minutes=15)


def fingerprint(labels: Mapping[str, str]) -> str:
    return hashlib.sha256(orjson.dumps(dict(sorted(labels.items())))).hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    name: str
    severity: str
    labels: Mapping[str, str]
    state: str
    value: float
    summary: str
    description: str
    active_at: datetime
    last_true_at: datetime
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    notified_state: str | None = None
    last_notified_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    ends_at: datetime
    comment: str = ""
    created_by: str = ""

    def covers(self, alert: Alert, now: datetime) -> bool:
        return now < self.ends_at and matches_all(self.matchers, alert.labels)


@lru_cache(maxsize=65536)
def _identity(
    name: str,
    severity: str,
    extra: tuple[tuple[str, str], ...],
    series: tuple[tuple[str, str], ...],
) -> tuple[Mapping[str, str], str]:
    """An instance's labels (the series', the rule's, alertname, severity) and
    fingerprint; remembered, as the same instances come back every evaluation."""
    labels = MappingProxyType(
        {**dict(series), **dict(extra), "alertname": name, "severity": severity}
    )
    return labels, fingerprint(labels)


def advance(
    rule: Rule, alerts: MutableMapping[str, Alert], holding: list[Result], now: datetime
) -> list[Alert]:
    """Move the rule's instances on by one evaluation; returns those whose state
    or value changed. `alerts` is updated in place."""
    changed: list[Alert] = []
    seen: set[str] = set()
    extra = tuple(rule.labels.items())
    for result in holding:
        labels, fp = _identity(rule.name, rule.severity, extra, tuple(result.labels.items()))
        seen.add(fp)
        alert = alerts.get(fp)
        if alert is None or alert.state == RESOLVED:
            alert = Alert(
                fp,
                rule.name,
                rule.severity,
                labels,
                PENDING,
                result.value,
                render_template(rule.summary, result.value, labels),
                render_template(rule.description, result.value, labels),
                active_at=now,
                last_true_at=now,
            )
        elif alert.value == result.value:
            alert = replace(alert, last_true_at=now)
        else:
            alert = replace(
                alert,
                value=result.value,
                summary=render_template(rule.summary, result.value, labels),
                description=render_template(rule.description, result.value, labels),
                last_true_at=now,
            )
        if alert.state == PENDING and now - alert.active_at >= timedelta(seconds=rule.for_):
            alert = replace(alert, state=FIRING, started_at=now)
        before = alerts.get(fp)
        alerts[fp] = alert
        if before is None or before.state != alert.state or before.value != alert.value:
            changed.append(alert)
    keep = timedelta(seconds=rule.keep_firing_for)
    for fp, alert in list(alerts.items()):
        if fp in seen or alert.name != rule.name:
            continue
        if alert.state == PENDING:
            del alerts[fp]
            changed.append(replace(alert, state="inactive"))
        elif alert.state == FIRING and now - alert.last_true_at >= keep:
            alerts[fp] = replace(alert, state=RESOLVED, resolved_at=now)
            changed.append(alerts[fp])
        elif (
            alert.state == RESOLVED
            and alert.resolved_at is not None
            and now - alert.resolved_at > RESOLVED_RETENTION
        ):
            del alerts[fp]
    return changed


def advance_all(
    rules: Iterable[Rule],
    alerts: dict[str, Alert],
    holding: Mapping[str, list[Result]],
    now: datetime,
) -> list[Alert]:
    """`advance` for every rule, each over its own alerts only; `alerts` is
    updated in place (alerts of a rule no longer loaded are kept as they are)."""
    by_rule: dict[str, dict[str, Alert]] = {}
    for fp, alert in alerts.items():
        by_rule.setdefault(alert.name, {})[fp] = alert
    changed: list[Alert] = []
    for rule in rules:
        mine = by_rule.setdefault(rule.name, {})
        changed.extend(advance(rule, mine, holding.get(rule.name, []), now))
    alerts.clear()
    for mine in by_rule.values():
        alerts.update(mine)
    return changed


@dataclass(frozen=True)
class Notice:
    kind: str  # firing, repeat or resolved
    alert: Alert


@dataclass
class Plan:
    notices: list[Notice] = field(default_factory=list)

    def by_severity(self) -> dict[str, list[Notice]]:
        groups: dict[str, list[Notice]] = {}
        for notice in self.notices:
            groups.setdefault(notice.alert.severity, []).append(notice)
        return groups


def plan_notifications(
    alerts: Mapping[str, Alert], silences: list[Silence], now: datetime, repeat: timedelta
) -> Plan:
    """Which alerts to tell the team about now.

    A firing alert is announced once (once its silence ends, if silenced),
    then repeated every `repeat` until acknowledged; an alert the team was
    told is firing is announced again when it resolves.
    """
    plan = Plan()
    for alert in alerts.values():
        if alert.state == FIRING:
            if any(s.covers(alert, now) for s in silences):
                continue
            if alert.notified_state != FIRING:
                plan.notices.append(Notice("firing", alert))
            elif (
                alert.acknowledged_at is None
                and alert.last_notified_at is not None
                and now - alert.last_notified_at >= repeat
            ):
                plan.notices.append(Notice("repeat", alert))
        elif alert.state == RESOLVED and alert.notified_state == FIRING:
            plan.notices.append(Notice("resolved", alert))
    return plan


def mark_notified(alert: Alert, now: datetime) -> Alert:
    state = RESOLVED if alert.state == RESOLVED else FIRING
    return replace(alert, notified_state=state, last_notified_at=now)
