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
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

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


def alert_labels(rule: Rule, series: Mapping[str, str]) -> dict[str, str]:
    return {**series, **rule.labels, "alertname": rule.name, "severity": rule.severity}


def advance(
    rule: Rule, alerts: MutableMapping[str, Alert], holding: list[Result], now: datetime
) -> list[Alert]:
    """Move the rule's instances on by one evaluation; returns those that changed state
    (or value, for pending and firing ones). `alerts` is updated in place."""
    changed: list[Alert] = []
    seen: set[str] = set()
    for result in holding:
        labels = alert_labels(rule, result.labels)
        fp = fingerprint(labels)
        seen.add(fp)
        summary = render_template(rule.summary, result.value, labels)
        description = render_template(rule.description, result.value, labels)
        alert = alerts.get(fp)
        if alert is None or alert.state == RESOLVED:
            alert = Alert(
                fp,
                rule.name,
                rule.severity,
                labels,
                PENDING,
                result.value,
                summary,
                description,
                active_at=now,
                last_true_at=now,
            )
        else:
            alert = replace(
                alert,
                value=result.value,
                summary=summary,
                description=description,
                last_true_at=now,
            )
        if alert.state == PENDING and now - alert.active_at >= timedelta(seconds=rule.for_):
            alert = replace(alert, state=FIRING, started_at=now)
        alerts[fp] = alert
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
