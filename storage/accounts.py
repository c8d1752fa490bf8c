"""Users and their single-use email tokens.

Secrets arrive here already digested (SHA-256 bytes); nothing in these
tables lets a reader sign in. Expiry is judged against the `now` the caller
passes, the account flows' one clock. Sessions and the
security-event trail are in storage/sessions.py.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.database import Executor

# Also read by storage/sessions.py, which returns a session with its user.
USER_COLUMNS = (
    "id, email, name, password_hash, role, email_verified_at, password_changed_at, created_at"
)


@dataclass(frozen=True)
class UserRow:
    id: uuid.UUID
    email: str
    name: str
    password_hash: str | None
    role: str
    email_verified_at: datetime | None
    password_changed_at: datetime | None
    created_at: datetime

    @property
    def verified(self) -> bool:
        return self.email_verified_at is not None


class TokenState(enum.Enum):
    OK = "ok"
    EXPIRED = "expired"
    USED = "used"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TokenUse:
    state: TokenState
    user_id: uuid.UUID | None = None


def _user(row: Any) -> UserRow:
    return UserRow(**dict(row))


# Users


async def create_user(
    db: Executor,
    *,
    email: str,
    name: str,
    password_hash: str | None,
    role: str = "consumer",
    verified: bool = False,
) -> UserRow | None:
    """The new user, or None when the address already has an account."""
    row = await db.fetchrow(
        f"""
        INSERT INTO users (email, name, password_hash, role, email_verified_at, password_changed_at)
        VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END, now())
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING {USER_COLUMNS}
        """,
        email,
        name,
        password_hash,
        role,
        verified,
    )
    return _user(row) if row else None


async def user_by_email(db: Executor, email: str) -> UserRow | None:
    row = await db.fetchrow(
        f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
    )
    return _user(row) if row else None


async def user_by_id(db: Executor, user_id: uuid.UUID) -> UserRow | None:
    row = await db.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id)
    return _user(row) if row else None


async def mark_verified(db: Executor, user_id: uuid.UUID) -> None:
    await db.execute(
        """
        UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
        WHERE id = $1
        """,
        user_id,
    )


async def set_password(
    db: Executor, user_id: uuid.UUID, password_hash: str, *, changed: bool = True
) -> None:
    """Store a new hash; `changed=False` for a re-hash of the same password."""
    await db.execute(
        """
        UPDATE users SET password_hash = $2, updated_at = now(),
               password_changed_at = CASE WHEN $3 THEN now() ELSE password_changed_at END
        WHERE id = $1
        """,
        user_id,
        password_hash,
        changed,
    )


async def set_role(db: Executor, user_id: uuid.UUID, role: str) -> None:
    await db.execute("UPDATE users SET role = $2, updated_at = now() WHERE id = $1", user_id, role)


# Single-use email tokens


async def add_token(
    db: Executor,
    *,
    user_id: uuid.UUID,
    purpose: str,
    token_hash: bytes,
    ttl: timedelta,
    now: datetime,
) -> datetime:
    """Store a token digest; returns when it expires."""
    expires_at: datetime = await db.fetchval(
        """
        INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at)
        VALUES ($1, $2, $3, $5::timestamptz + $4::interval)
        RETURNING expires_at
        """,
        token_hash,
        user_id,
        purpose,
        ttl,
        now,
    )
    return expires_at


async def use_token(db: Executor, *, token_hash: bytes, purpose: str, now: datetime) -> TokenUse:
    """Spend a token atomically: of two concurrent uses, exactly one is OK."""
    user_id = await db.fetchval(
        """
        UPDATE account_tokens SET used_at = $3
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
        RETURNING user_id
        """,
        token_hash,
        purpose,
        now,
    )
    if user_id is not None:
        return TokenUse(TokenState.OK, user_id)
    row = await db.fetchrow(
        "SELECT user_id, used_at FROM account_tokens WHERE token_hash = $1 AND purpose = $2",
        token_hash,
        purpose,
    )
    if row is None:
        return TokenUse(TokenState.UNKNOWN)
    state = TokenState.USED if row["used_at"] is not None else TokenState.EXPIRED
    return TokenUse(state, row["user_id"])


async def peek_token(db: Executor, *, token_hash: bytes, purpose: str, now: datetime) -> TokenUse:
    """What `use_token` would say now, without spending the token."""
    row = await db.fetchrow(
        """
        SELECT user_id, used_at, expires_at > $3 AS fresh
        FROM account_tokens WHERE token_hash = $1 AND purpose = $2
        """,
        token_hash,
        purpose,
        now,
    )
    if row is None:
        return TokenUse(TokenState.UNKNOWN)
    if row["used_at"] is not None:
        return TokenUse(TokenState.USED, row["user_id"])
    if not row["fresh"]:
        return TokenUse(TokenState.EXPIRED, row["user_id"])
    return TokenUse(TokenState.OK, row["user_id"])


async def retire_tokens(db: Executor, *, user_id: uuid.UUID, purpose: str, now: datetime) -> int:
    """Void every unused token of this purpose (a newer link replaces them)."""
    result: str = await db.execute(
        """
        UPDATE account_tokens SET expires_at = least(expires_at, $3)
        WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
        """,
        user_id,
        purpose,
        now,
    )
    return int(result.split()[-1])
