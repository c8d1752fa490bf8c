"""The email outbox rows.

`insert` runs on the caller's connection, inside the caller's transaction: the
email exists exactly when the change that caused it was committed. Mailers
claim due rows with `FOR UPDATE SKIP LOCKED` and a lease; a row whose mailer
died mid-send becomes due again when its lease runs out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.database import Executor

REDACTED = "[removed after delivery: this email carried a single-use link]"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    message_key: uuid.UUID
    template: str
    to_address: str
    subject: str
    text_body: str
    html_body: str
    sensitive: bool
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


_COLUMNS = (
    "id, message_key, template, to_address, subject, text_body, html_body, sensitive, "
    "status, attempts, next_attempt_at, last_error, created_at, sent_at"
)


def _row(record: Any) -> OutboxRow:
    return OutboxRow(**dict(record))


async def insert(
    conn: Executor,
    *,
    template: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    sensitive: bool = False,
) -> int:
    row_id: int = await conn.fetchval(
        """
        INSERT INTO outbox (template, to_address, subject, text_body, html_body, sensitive)
        VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING id
        """,
        template,
        to,
        subject,
        text,
        html,
        sensitive,
    )
    return row_id


async def claim(db: Executor, *, worker: str, limit: int, lease: timedelta) -> list[OutboxRow]:
    """Take up to `limit` due rows for `worker` until the lease ends.

    Due means pending and past its retry time, or claimed by a mailer whose
    lease ran out (it crashed or hung). The claim counts as an attempt.
    """
    rows = await db.fetch(
        f"""
        UPDATE outbox SET status = 'sending', attempts = attempts + 1,
               claimed_by = $1, lease_until = now() + $3::interval
        WHERE id IN (
            SELECT id FROM outbox
            WHERE (status = 'pending' AND next_attempt_at <= now())
               OR (status = 'sending' AND lease_until <= now())
            ORDER BY next_attempt_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        RETURNING {_COLUMNS}
        """,
        worker,
        limit,
        lease,
    )
    return sorted((_row(r) for r in rows), key=lambda r: r.id)


async def mark_sent(db: Executor, row_id: int) -> None:
    """Delivered; bodies of sensitive emails are blanked, their link is spent
    or will expire and has no business sitting in the database."""
    await db.execute(
        """
        UPDATE outbox SET status = 'sent', sent_at = now(), lease_until = NULL,
               last_error = NULL,
               text_body = CASE WHEN sensitive THEN $2 ELSE text_body END,
               html_body = CASE WHEN sensitive THEN $2 ELSE html_body END
        WHERE id = $1
        """,
        row_id,
        REDACTED,
    )


async def mark_retry(db: Executor, row_id: int, *, error: str, delay: timedelta) -> None:
    await db.execute(
        """
        UPDATE outbox SET status = 'pending', next_attempt_at = now() + $3::interval,
               lease_until = NULL, claimed_by = NULL, last_error = $2
        WHERE id = $1 AND status = 'sending'
        """,
        row_id,
        error[:1000],
        delay,
    )


async def mark_failed(db: Executor, row_id: int, *, error: str) -> None:
    await db.execute(
        """
        UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = $2,
               text_body = CASE WHEN sensitive THEN $3 ELSE text_body END,
               html_body = CASE WHEN sensitive THEN $3 ELSE html_body END
        WHERE id = $1 AND status = 'sending'
        """,
        row_id,
        error[:1000],
        REDACTED,
    )


async def hold_pending(db: Executor) -> int:
    """No SMTP is configured: park what is pending for the dev mailbox."""
    result: str = await db.execute(
        """
        UPDATE outbox SET status = 'held', lease_until = NULL, claimed_by = NULL
        WHERE status = 'pending' OR (status = 'sending' AND lease_until <= now())
        """
    )
    return int(result.split()[-1])


async def recent(db: Executor, *, limit: int = 100, to: str | None = None) -> list[OutboxRow]:
    """Newest first, for the dev mailbox; `to` keeps one recipient's."""
    rows = await db.fetch(
        f"""
        SELECT {_COLUMNS} FROM outbox
        WHERE $2::text IS NULL OR lower(to_address) = lower($2)
        ORDER BY created_at DESC, id DESC LIMIT $1
        """,
        limit,
        to,
    )
    return [_row(r) for r in rows]


async def get(db: Executor, row_id: int) -> OutboxRow | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM outbox WHERE id = $1", row_id)
    return _row(row) if row else None


async def oldest_pending_age(db: Executor) -> timedelta:
    """How long the oldest undelivered email has waited (zero when none)."""
    age: timedelta | None = await db.fetchval(
        "SELECT now() - min(created_at) FROM outbox WHERE status IN ('pending', 'sending')"
    )
    return age or timedelta(0)


async def notify(conn: Executor, channel: str) -> None:
    """Tell listening mailers, on every node, once the transaction commits."""
    await conn.execute("SELECT pg_notify($1, '')", channel)
