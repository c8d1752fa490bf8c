"""Stored notifications: what a user was told live, kept so that a broker who
was offline reads what they missed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.database import Executor


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: int
    kind: str
    channel: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


async def add(
    conn: Executor, user_id: uuid.UUID, channel: str, kind: str, data: dict[str, Any]
) -> int:
    row_id: int = await conn.fetchval(
        """
        INSERT INTO notifications (user_id, channel, kind, data)
        VALUES ($1, $2, $3, $4) RETURNING id
        """,
        user_id,
        channel,
        kind,
        data,
    )
    return row_id


async def for_user(
    db: Executor, user_id: uuid.UUID, *, unread: bool, limit: int
) -> list[NotificationRow]:
    rows = await db.fetch(
        """
        SELECT id, kind, channel, data, created_at, read_at FROM notifications
        WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL)
        ORDER BY id DESC LIMIT $3
        """,
        user_id,
        unread,
        limit,
    )
    return [NotificationRow(**dict(r)) for r in rows]


async def mark_read(db: Executor, user_id: uuid.UUID, notification_id: int) -> bool:
    """False when the user has no such notification."""
    found = await db.fetchval(
        """
        UPDATE notifications SET read_at = coalesce(read_at, now())
        WHERE id = $1 AND user_id = $2 RETURNING id
        """,
        notification_id,
        user_id,
    )
    return found is not None
