"""Queueing an email: one call inside the caller's own transaction.

    async with conn.transaction():
        ...the change that causes the email...
        await outbox.enqueue(conn, to=user.email, template="receipt", context={...})

The email is rendered now (so a template error fails the change, not the
delivery later) and written as an outbox row; a NOTIFY, delivered only if
the transaction commits, wakes the mailers on every node.
"""

from __future__ import annotations

from collections.abc import Mapping

from actors.mailer.metrics import QUEUED
from protocols.email_templates import render
from storage import outbox as rows
from storage.outbox import Executor

WAKE_CHANNEL = "rateline_outbox"


async def enqueue(conn: Executor, *, to: str, template: str, context: Mapping[str, object]) -> int:
    """Queue `template` rendered with `context` for `to`; returns the row id."""
    email = render(template, context)
    row_id = await rows.insert(
        conn,
        template=template,
        to=to,
        subject=email.subject,
        text=email.text,
        html=email.html,
        sensitive=email.sensitive,
    )
    await rows.notify(conn, WAKE_CHANNEL)
    QUEUED.labels(template).inc()
    return row_id
