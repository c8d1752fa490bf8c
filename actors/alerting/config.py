"""The alerting actor's settings, derived from the server's Settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from actors.alerting.rules import Rule


@dataclass(frozen=True)
class AlertingConfig:
    rules: tuple[Rule, ...]
    eval_seconds: float = 15.0
    repeat: timedelta = timedelta(minutes=240)
    emails: tuple[str, ...] = ()
    webhook_url: str | None = None
    alertmanager_url: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    delivery_timeout: float = 10.0
    retry_base: float = 5.0

    @classmethod
    def from_settings(cls, settings: Any, rules: list[Rule]) -> AlertingConfig:
        emails = tuple(e.strip() for e in settings.alert_emails.split(",") if e.strip())
        return cls(
            rules=tuple(rules),
            eval_seconds=settings.alert_eval_seconds,
            repeat=timedelta(minutes=settings.alert_repeat_minutes),
            emails=emails,
            webhook_url=settings.alert_webhook_url,
            alertmanager_url=settings.alertmanager_url,
            public_url=settings.public_url.rstrip("/"),
        )
