"""Rate history: accepted observations, the latest per product, a product's past.

Rows travel as plain tuples and asyncpg Records (storage imports no other
room); rates are `numeric`, read back as `Decimal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg

from storage.database import Executor

# (product, as_of, source, rate, points, apr)
ObservationRow = tuple[str, datetime, str, Decimal, Decimal | None, Decimal | None]

_COLUMNS = "product, as_of, source, rate, points, apr"


async def insert_observations(conn: Executor, rows: Sequence[ObservationRow]) -> int:
    """Store observations not stored before; returns how many were new."""
    if not rows:
        return 0
    columns = list(zip(*rows, strict=True))
    inserted = await conn.fetchval(
        f"""
        WITH new AS (
            INSERT INTO rate_observations ({_COLUMNS})
            SELECT * FROM unnest(
                $1::text[], $2::timestamptz[], $3::text[],
                $4::numeric[], $5::numeric[], $6::numeric[]
            )
            ON CONFLICT (product, as_of, source) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM new
        """,
        *columns,
    )
    return int(inserted)


async def latest_observations(conn: Executor, sources: Sequence[str]) -> list[asyncpg.Record]:
    """Per product, the newest observation of the highest-ranked source that has one
    (`sources` lists them best first)."""
    return list(
        await conn.fetch(
            f"""
            SELECT DISTINCT ON (product) {_COLUMNS}
            FROM rate_observations
            WHERE source = ANY($1::text[])
            ORDER BY product, array_position($1::text[], source), as_of DESC
            """,
            list(sources),
        )
    )


async def observation_history(
    conn: Executor,
    product: str,
    start: datetime,
    end: datetime,
    *,
    limit: int,
) -> list[asyncpg.Record]:
    """A product's observations with start <= as_of < end, oldest first."""
    return list(
        await conn.fetch(
            f"""
            SELECT {_COLUMNS}
            FROM rate_observations
            WHERE product = $1 AND as_of >= $2 AND as_of < $3
            ORDER BY as_of, source
            LIMIT $4
            """,
            product,
            start,
            end,
            limit,
        )
    )
