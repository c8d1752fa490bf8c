"""Telling people about leads: a stored notification, the live update on
their WebSocket channel, and an email through the outbox.

The notification row and the email are written in the caller's transaction;
the live updates are collected in `Live` and published once it committed, so
nobody sees a frame about a change that was rolled back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from actors.mailer.outbox import enqueue
from storage import inbox
from storage.database import Executor

log = logging.getLogger(__name__)


@dataclass
class Live:
    """Updates to publish after the transaction commits."""

    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def publish(self, hub: Any) -> None:
        """All at once, so the hub stores them in one commit."""
        if hub is None:
            return
        updates, self.updates = self.updates, []
        done = await asyncio.gather(
            *(hub.publish(channel, data) for channel, data in updates), return_exceptions=True
        )
        for (channel, _), result in zip(updates, done, strict=True):
            if isinstance(result, Exception):  # stored already: the reader finds it in the inbox
                log.error(
                    "publishing a lead notification failed",
                    exc_info=result,
                    extra={"channel": channel},
                )


async def notify(
    conn: Executor,
    live: Live,
    *,
    user_id: uuid.UUID,
    channel: str,
    kind: str,
    data: dict[str, Any],
    email: str | None = None,
    context: dict[str, object] | None = None,
) -> None:
    """Store, queue for live delivery, and (with `email`) mail the template
    named after `kind`."""
    payload = {"kind": kind, **data}
    await inbox.add(conn, user_id, channel, kind, payload)
    live.updates.append((channel, payload))
    if email is not None:
        await enqueue(conn, to=email, template=kind, context=context or {})


async def mail_borrower(
    conn: Executor, *, to: str, template: str, context: dict[str, object]
) -> None:
    """An email to the borrower, who may have no account to be notified on."""
    await enqueue(conn, to=to, template=template, context=context)
