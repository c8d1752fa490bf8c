"""The mailer: a transactional outbox delivered over SMTP.

Other flows queue email with `actors.mailer.outbox.enqueue(conn, to=...,
template=..., context=...)` inside their own transaction; the mailer actor
delivers it.
"""

from __future__ import annotations

from typing import Any

from actors.runtime import ChildSpec


def child_specs(settings: Any) -> list[ChildSpec]:
    from actors.mailer.actor import NAME, MailerActor
    from actors.mailer.config import MailerConfig

    return [
        ChildSpec(
            name=NAME,
            factory=MailerActor,
            kwargs={"config": MailerConfig.from_settings(settings)},
            shutdown_timeout=10.0,
        )
    ]
