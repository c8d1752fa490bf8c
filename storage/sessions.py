"""Sessions and the security-event trail.

Who is signed in (one row per session, found by the digest of its token)
and what the account flows saw happen (sign-ins, registrations, resets, role
changes), which the throttles count. Like the tokens in storage/accounts.py,
every expiry and window is judged against the `now` the caller passes (the
account flows' one clock), never the database's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.accounts import USER_COLUMNS, UserRow
from storage.database import Executor


@dataclass(frozen=True)
class SessionRow:
    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class EventCount:
    count: int
    last_at: datetime | None


SESSION_COLUMNS = "id, user_id, created_at, last_seen_at, expires_at, ip, user_agent"
# A session and its user in one row; the session's columns carry an s_ prefix.
_SESSION_AND_USER = ", ".join(
    [f"s.{c} AS s_{c}" for c in SESSION_COLUMNS.split(", ")]
    + [f"u.{c.strip()}" for c in USER_COLUMNS.split(",")]
)


def _session(row: Any) -> SessionRow:
    return SessionRow(**dict(row))


# Sessions


async def create_session(
    db: Executor,
    *,
    user_id: uuid.UUID,
    token_hash: bytes,
    lifetime: timedelta,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> SessionRow:
    row = await db.fetchrow(
        f"""
        INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip,
                              user_agent)
        VALUES ($1, $2, $6::timestamptz, $6, $6::timestamptz + $3::interval, $4, $5)
        RETURNING {SESSION_COLUMNS}
        """,
        token_hash,
        user_id,
        lifetime,
        ip,
        user_agent,
        now,
    )
    return _session(row)


async def live_session(
    db: Executor, *, token_hash: bytes, idle: timedelta, now: datetime
) -> tuple[SessionRow, UserRow] | None:
    """The session and its user, if the token names a session still alive."""
    row = await db.fetchrow(
        f"""
        SELECT {_SESSION_AND_USER}
        FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = $1 AND s.expires_at > $3
          AND s.last_seen_at > $3::timestamptz - $2::interval
        """,
        token_hash,
        idle,
        now,
    )
    if row is None:
        return None
    data = dict(row)
    session = SessionRow(**{k[2:]: data.pop(k) for k in list(data) if k.startswith("s_")})
    return session, UserRow(**data)


async def touch_session(db: Executor, session_id: uuid.UUID, *, now: datetime) -> None:
    await db.execute("UPDATE sessions SET last_seen_at = $2 WHERE id = $1", session_id, now)


async def keep_sessions_alive(
    db: Executor, session_ids: list[uuid.UUID], *, idle: timedelta, now: datetime
) -> dict[uuid.UUID, str]:
    """Of these sessions, the ones still alive, now marked as just used,
    each with its user's role as it is now."""
    rows = await db.fetch(
        """
        UPDATE sessions s SET last_seen_at = $3
        FROM users u
        WHERE s.id = ANY($1::uuid[]) AND s.expires_at > $3
          AND s.last_seen_at > $3::timestamptz - $2::interval AND u.id = s.user_id
        RETURNING s.id, u.role
        """,
        session_ids,
        idle,
        now,
    )
    return {r["id"]: r["role"] for r in rows}


async def sessions_of(
    db: Executor, *, user_id: uuid.UUID, idle: timedelta, now: datetime
) -> list[SessionRow]:
    rows = await db.fetch(
        f"""
        SELECT {SESSION_COLUMNS}
        FROM sessions
        WHERE user_id = $1 AND expires_at > $3 AND last_seen_at > $3::timestamptz - $2::interval
        ORDER BY last_seen_at DESC
        """,
        user_id,
        idle,
        now,
    )
    return [_session(r) for r in rows]


async def end_session(db: Executor, session_id: uuid.UUID, *, user_id: uuid.UUID) -> bool:
    """End one of this user's sessions; False when it is not theirs or gone."""
    result: str = await db.execute(
        "DELETE FROM sessions WHERE id = $1 AND user_id = $2", session_id, user_id
    )
    return result.split()[-1] != "0"


async def end_all_sessions(db: Executor, user_id: uuid.UUID) -> int:
    result: str = await db.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
    return int(result.split()[-1])


async def purge_expired(
    db: Executor, *, idle: timedelta, keep_tokens: timedelta, now: datetime
) -> int:
    """Delete dead sessions, and spent or expired tokens older than `keep_tokens`."""
    sessions: str = await db.execute(
        "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2", now, now - idle
    )
    tokens: str = await db.execute(
        "DELETE FROM account_tokens WHERE expires_at <= $1", now - keep_tokens
    )
    return int(sessions.split()[-1]) + int(tokens.split()[-1])


# Security events


async def record_event(
    db: Executor,
    *,
    kind: str,
    outcome: str,
    user_id: uuid.UUID | None = None,
    email: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    detail: str | None = None,
    at: datetime,
) -> None:
    await db.execute(
        """
        INSERT INTO security_events (kind, outcome, user_id, email, ip, user_agent, detail, at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        kind,
        outcome,
        user_id,
        email,
        ip,
        (user_agent or "")[:512] or None,
        detail,
        at,
    )


async def recent_events(
    db: Executor,
    *,
    kind: str,
    email: str | None = None,
    ip: str | None = None,
    window: timedelta,
    now: datetime,
) -> EventCount:
    """How many `kind` events for an address (or from an IP) in `window`, and
    the last one; refused requests (outcome "throttled") do not count."""
    column = "email" if email is not None else "ip"
    row = await db.fetchrow(
        f"""
        SELECT count(*) AS n, max(at) AS last_at FROM security_events
        WHERE {column} = $1 AND kind = $2 AND outcome <> 'throttled'
          AND at > $4::timestamptz - $3::interval
        """,
        email if email is not None else ip,
        kind,
        window,
        now,
    )
    return EventCount(int(row["n"]), row["last_at"])
