"""The mailer's settings, derived from the server's Settings."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta

from actors.mailer.retry import RetryPolicy
from ops.config import Settings
from protocols.smtp import SmtpConfig


@dataclass(frozen=True)
class MailerConfig:
    mail_from: str
    smtp: SmtpConfig | None
    poll_interval: float = 15.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 20
    lease: timedelta = timedelta(minutes=15)
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def from_settings(cls, settings: Settings) -> MailerConfig:
        smtp = None
        if settings.smtp_url:
            smtp = SmtpConfig.from_url(
                settings.smtp_url,
                timeout=settings.smtp_timeout,
                ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            )
        return cls(
            mail_from=settings.mail_from,
            smtp=smtp,
            poll_interval=settings.mailer_poll_seconds,
            retry=RetryPolicy(
                base=timedelta(seconds=settings.mailer_retry_base_seconds),
                cap=timedelta(seconds=settings.mailer_retry_max_seconds),
                max_attempts=settings.mailer_max_attempts,
            ),
        )
