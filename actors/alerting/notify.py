"""What a notification says, for each receiver: the API/WebSocket view of an
alert, Alertmanager's webhook body and v2 alerts, and the email's lines.
Pure functions of alerts; the actor stores and sends what they build."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from actors.alerting.rules import format_value
from actors.alerting.state import FIRING, RESOLVED, Alert, Notice
from protocols.alertmanager import (
    ZERO_TIME,
    AmAlert,
    PostableAlert,
    WebhookMessage,
    common,
    timestamp,
)

RECEIVER = "rateline"


def view(alert: Alert) -> dict[str, Any]:
    """An alert as the API and the `alerts` WebSocket channel show it."""
    started = alert.started_at or alert.active_at
    return {
        "fingerprint": alert.fingerprint,
        "name": alert.name,
        "state": alert.state,
        "severity": alert.severity,
        "labels": dict(alert.labels),
        "summary": alert.summary,
        "description": alert.description,
        "value": alert.value,
        "started_at": started.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
    }


def _annotations(alert: Alert) -> dict[str, str]:
    notes = {"summary": alert.summary}
    if alert.description:
        notes["description"] = alert.description
    if alert.acknowledged_by:
        notes["acknowledged_by"] = alert.acknowledged_by
    return notes


def _generator(public_url: str, alert: Alert) -> str:
    return f"{public_url}/api/admin/alerts?fingerprint={alert.fingerprint}"


def group_status(notices: list[Notice]) -> str:
    return FIRING if any(n.alert.state == FIRING for n in notices) else RESOLVED


def webhook_message(severity: str, notices: list[Notice], public_url: str) -> WebhookMessage:
    """Alertmanager's webhook body (version 4) for one severity's group."""
    alerts = [
        AmAlert(
            status=n.alert.state,
            labels=dict(n.alert.labels),
            annotations=_annotations(n.alert),
            startsAt=timestamp(n.alert.started_at or n.alert.active_at),
            endsAt=timestamp(n.alert.resolved_at) if n.alert.resolved_at else ZERO_TIME,
            generatorURL=_generator(public_url, n.alert),
            fingerprint=n.alert.fingerprint,
        )
        for n in notices
    ]
    return WebhookMessage(
        groupKey=f'{{}}:{{severity="{severity}"}}',
        status=group_status(notices),
        receiver=RECEIVER,
        groupLabels={"severity": severity},
        commonLabels=common([a.labels for a in alerts]),
        commonAnnotations=common([a.annotations for a in alerts]),
        externalURL=public_url,
        alerts=alerts,
    )


def postable(alert: Alert, public_url: str, ends_at: datetime | None) -> PostableAlert:
    """An alert for Alertmanager's v2 API; `ends_at` for a firing one is its
    lease: Alertmanager resolves it then unless it is posted again."""
    ends = alert.resolved_at if alert.state == RESOLVED else ends_at
    return PostableAlert(
        labels=dict(alert.labels),
        annotations=_annotations(alert),
        startsAt=timestamp(alert.started_at or alert.active_at),
        endsAt=timestamp(ends) if ends is not None else None,
        generatorURL=_generator(public_url, alert),
    )


def email_context(severity: str, notices: list[Notice], public_url: str) -> dict[str, str]:
    status = group_status(notices).upper()
    names = sorted({n.alert.name for n in notices})
    lines = []
    for n in notices:
        value = format_value(n.alert.value)
        line = f"{n.kind.upper():9} {n.alert.name}: {n.alert.summary} (value {value})"
        labels = ", ".join(f"{k}={v}" for k, v in sorted(n.alert.labels.items()))
        lines.append(f"{line}\n          {labels}; fingerprint {n.alert.fingerprint}")
    return {
        "status": status,
        "title": f"{len(notices)} {severity} alert(s): {', '.join(names)}",
        "lines": "\n".join(lines),
        "public_url": public_url,
    }
