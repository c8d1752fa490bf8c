"""Agent interactions: the record of every answer and the shared answer cache."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from storage.database import Executor

_COLUMNS = """
    id, agent, input_hash, input, output, provider, model, tokens_in, tokens_out,
    cost_usd, latency_ms, cache_level, source_id, error, user_id, created_at
"""


@dataclass(frozen=True)
class Interaction:
    id: int
    agent: str
    input_hash: str
    input: Any
    output: Any
    provider: str
    model: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal
    latency_ms: Decimal
    cache_level: str
    source_id: int | None
    error: str | None
    user_id: str | None
    created_at: datetime


def _interaction(row: asyncpg.Record) -> Interaction:
    return Interaction(**dict(row))


async def record_interaction(
    db: Executor,
    *,
    agent: str,
    input_hash: str,
    input: Any,
    output: Any,
    provider: str,
    cache_level: str,
    model: str | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: Decimal = Decimal(0),
    latency_ms: Decimal = Decimal(0),
    source_id: int | None = None,
    error: str | None = None,
    user_id: str | None = None,
) -> tuple[int, datetime]:
    """Store one request and how it was answered; returns (id, created_at)."""
    row = await db.fetchrow(
        """
        INSERT INTO agent_interactions (
            agent, input_hash, input, output, provider, model, tokens_in, tokens_out,
            cost_usd, latency_ms, cache_level, source_id, error, user_id
        ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        RETURNING id, created_at
        """,
        agent,
        input_hash,
        input,
        output,
        provider,
        model,
        tokens_in,
        tokens_out,
        cost_usd,
        latency_ms,
        cache_level,
        source_id,
        error,
        user_id,
    )
    assert row is not None
    return row["id"], row["created_at"]


async def find_answer(
    db: Executor, agent: str, input_hash: str, max_age_seconds: float
) -> Interaction | None:
    """The newest answer to this question younger than `max_age_seconds`
    that its intended provider gave (stand-ins for a failed model are not
    reused across nodes or restarts)."""
    row = await db.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM agent_interactions
        WHERE agent = $1 AND input_hash = $2 AND cache_level = 'none' AND error IS NULL
          AND created_at > now() - make_interval(secs => $3)
        ORDER BY created_at DESC
        LIMIT 1
        """,
        agent,
        input_hash,
        float(max_age_seconds),
    )
    return None if row is None else _interaction(row)


async def tokens_used_since(db: Executor, since: datetime, user_id: str | None = None) -> int:
    """Model tokens spent since `since`, by everyone or by one user."""
    if user_id is None:
        value = await db.fetchval(
            """
            SELECT coalesce(sum(tokens_in + tokens_out), 0) FROM agent_interactions
            WHERE created_at >= $1 AND tokens_in + tokens_out > 0
            """,
            since,
        )
    else:
        value = await db.fetchval(
            """
            SELECT coalesce(sum(tokens_in + tokens_out), 0) FROM agent_interactions
            WHERE user_id = $2 AND created_at >= $1 AND tokens_in + tokens_out > 0
            """,
            since,
            user_id,
        )
    return int(value)


async def list_interactions(
    db: Executor,
    *,
    limit: int,
    offset: int = 0,
    agent: str | None = None,
    user_id: str | None = None,
) -> tuple[list[Interaction], int]:
    """A page of interactions, newest first, and how many match in all."""
    rows = await db.fetch(
        f"""
        SELECT {_COLUMNS}, count(*) OVER () AS total FROM agent_interactions
        WHERE ($1::text IS NULL OR agent = $1) AND ($2::text IS NULL OR user_id = $2)
        ORDER BY created_at DESC, id DESC
        LIMIT $3 OFFSET $4
        """,
        agent,
        user_id,
        limit,
        offset,
    )
    if rows:
        total = int(rows[0]["total"])
    else:
        total = int(
            await db.fetchval(
                """
                SELECT count(*) FROM agent_interactions
                WHERE ($1::text IS NULL OR agent = $1) AND ($2::text IS NULL OR user_id = $2)
                """,
                agent,
                user_id,
            )
        )
    items = [_interaction_without_total(row) for row in rows]
    return items, total


def _interaction_without_total(row: asyncpg.Record) -> Interaction:
    data = dict(row)
    data.pop("total", None)
    return Interaction(**data)
