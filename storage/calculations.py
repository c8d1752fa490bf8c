"""Stored mortgage calculations: one row per answer of POST /api/mortgage/calculate.

Documents arrive and leave as JSON text already encoded by the caller, so
nothing is decoded and re-encoded on the way in or out, and a stored
document reads back exactly as it was served.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.database import Executor


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A calculation's served document (JSON text) and whose it is."""

    id: uuid.UUID
    user_id: uuid.UUID | None
    document: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserCalculation:
    """One row of a user's list: the served document and the inputs it answered."""

    id: uuid.UUID
    document: str
    inputs: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PastRates:
    """The rates a user's latest calculation was priced from."""

    rates: Any
    rates_as_of: datetime


async def insert_calculation(
    db: Executor,
    *,
    id: uuid.UUID,
    user_id: uuid.UUID | None,
    inputs: str,
    rates: str,
    rates_as_of: datetime,
    document: str,
    created_at: datetime,
) -> None:
    """Store one served calculation; `inputs`, `rates` and `document` are
    JSON text."""
    await db.execute(
        """
        INSERT INTO calculations (id, user_id, inputs, rates, rates_as_of, document, created_at)
        VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb, $5, $6::text::json, $7)
        """,
        id,
        user_id,
        inputs,
        rates,
        rates_as_of,
        document,
        created_at,
    )


async def find_calculation(db: Executor, id: uuid.UUID) -> StoredDocument | None:
    row = await db.fetchrow(
        "SELECT id, user_id, document::text AS document, created_at FROM calculations"
        " WHERE id = $1",
        id,
    )
    return None if row is None else StoredDocument(**dict(row))


async def user_calculations(
    db: Executor, user_id: uuid.UUID, *, limit: int, offset: int = 0
) -> list[UserCalculation]:
    """A user's calculations, newest first."""
    rows = await db.fetch(
        """
        SELECT id, document::text AS document, inputs::text AS inputs, created_at
        FROM calculations
        WHERE user_id = $1
        ORDER BY created_at DESC, id DESC
        LIMIT $2 OFFSET $3
        """,
        user_id,
        limit,
        offset,
    )
    return [UserCalculation(**dict(row)) for row in rows]


async def latest_rates_of_user(db: Executor, user_id: uuid.UUID) -> PastRates | None:
    """The rates of the user's most recent calculation, to compare the market with."""
    row = await db.fetchrow(
        """
        SELECT rates, rates_as_of FROM calculations
        WHERE user_id = $1
        ORDER BY created_at DESC, id DESC
        LIMIT 1
        """,
        user_id,
    )
    return None if row is None else PastRates(row["rates"], row["rates_as_of"])


async def count_calculations(db: Executor, *, user_id: uuid.UUID | None = None) -> int:
    """How many calculations are stored (all, or one user's)."""
    if user_id is None:
        count = await db.fetchval("SELECT count(*) FROM calculations")
    else:
        count = await db.fetchval("SELECT count(*) FROM calculations WHERE user_id = $1", user_id)
    return int(count)
