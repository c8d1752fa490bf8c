"""The audit log's rows: chained appends, reads for the admin view, and the
walk the verifier makes.

Appends are serialised by a transaction-scoped advisory lock, on every node,
so the chain never forks: the appender reads the head, links its rows to it
and commits before the next one may read. `AuditWriter` gathers the events
that arrive while a commit is under way into the next transaction, so
sixteen concurrent sign-ins cost a few commits, not sixteen in a row.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from storage.audit_chain import GENESIS, canonical, details_json, link
from storage.database import Executor

AUDIT_LOCK = 0x52_4C_41_55_44_49_54  # "RLAUDIT"
_COLUMNS = "seq, at, actor, action, target, outcome, ip, request_id, details, hash"
# `details` travels as text both ways, so no connection's JSON codec touches
# the very text that was hashed.
_READ_COLUMNS = _COLUMNS.replace("details", "details::text AS details")


@dataclass(frozen=True)
class AuditEvent:
    """What happened, by whom, to what; `details` is any JSON object."""

    action: str
    outcome: str
    actor: str = "system"
    target: str | None = None
    ip: str | None = None
    request_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    ip: str | None
    request_id: str | None
    details: str
    hash: bytes


async def append(
    conn: asyncpg.Connection, events: Sequence[AuditEvent], *, at: datetime | None = None
) -> list[AuditRow]:
    """Chain `events` onto the log inside the caller's transaction; they
    commit (and the lock frees) with it."""
    if not conn.is_in_transaction():
        raise RuntimeError("audit appends run inside the caller's transaction")
    await conn.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_LOCK)
    head = await conn.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq, previous = (head["seq"], bytes(head["hash"])) if head else (0, GENESIS)
    stamp = at or datetime.now(UTC)
    rows: list[AuditRow] = []
    for event in events:
        seq += 1
        details = details_json(event.details)
        body = canonical(
            seq,
            stamp,
            event.actor,
            event.action,
            event.target,
            event.outcome,
            event.ip,
            event.request_id,
            details,
        )
        previous = link(previous, body)
        rows.append(
            AuditRow(
                seq,
                stamp,
                event.actor,
                event.action,
                event.target,
                event.outcome,
                event.ip,
                event.request_id,
                details,
                previous,
            )
        )
    await conn.execute(
        f"""
        INSERT INTO audit_log ({_COLUMNS})
        SELECT seq, at, actor, action, target, outcome, ip, request_id, details::json, hash
        FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::bytea[])
             AS u(seq, at, actor, action, target, outcome, ip, request_id, details, hash)
        """,
        *([getattr(row, name) for row in rows] for name in _COLUMNS.split(", ")),
    )
    return rows


class AuditWriter:
    """Appends events in their own transactions, many to a commit."""

    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = 1000) -> None:
        self.pool = pool
        self.max_batch = max_batch
        self._waiting: list[tuple[AuditEvent, asyncio.Future[AuditRow]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def record(self, event: AuditEvent) -> AuditRow:
        """Returns once the event is committed."""
        future: asyncio.Future[AuditRow] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._write())
        return await future

    async def close(self) -> None:
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = (
                self._waiting[: self.max_batch],
                self._waiting[self.max_batch :],
            )
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    rows = await append(conn, [event for event, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), row in zip(batch, rows, strict=True):
                if not future.done():
                    future.set_result(row)


async def head(db: Executor) -> tuple[int, bytes]:
    """The newest row's position and hash (0 and GENESIS for an empty log)."""
    row = await db.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    return (row["seq"], bytes(row["hash"])) if row else (0, GENESIS)


async def walk(db: Executor, *, batch: int = 20_000) -> AsyncGenerator[list[asyncpg.Record], None]:
    """Every row in order, a batch at a time (fields in canonical order).

    The next batch is asked for before this one is handed out, so the
    database reads it while the caller hashes. Close it (contextlib.aclosing)
    when stopping early: the connection is free once it is closed."""
    query = f"SELECT {_READ_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    rows = await db.fetch(query, 0, batch)
    while rows:
        following = asyncio.ensure_future(db.fetch(query, rows[-1]["seq"], batch))
        try:
            yield rows
        except BaseException:  # closed early: the connection must be free again
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            raise
        rows = await following


async def search(
    db: Executor,
    *,
    since: datetime | None,
    action: str | None,
    actor: str | None,
    before_seq: int | None,
    limit: int,
) -> list[AuditRow]:
    """Newest first; page with `before_seq` (the last seq of the previous page)."""
    rows = await db.fetch(
        f"""
        SELECT {_READ_COLUMNS} FROM audit_log
        WHERE ($1::timestamptz IS NULL OR at >= $1)
          AND ($2::text IS NULL OR action = $2)
          AND ($3::text IS NULL OR actor = $3)
          AND ($4::bigint IS NULL OR seq < $4)
        ORDER BY seq DESC
        LIMIT $5
        """,
        since,
        action,
        actor,
        before_seq,
        limit,
    )
    return [AuditRow(**{**dict(r), "hash": bytes(r["hash"])}) for r in rows]


async def failures_since(db: Executor, action: str, since: datetime) -> list[asyncpg.Record]:
    """Failed `action` events since a time: who (target), from where (ip)."""
    return await db.fetch(
        "SELECT target, ip FROM audit_log WHERE action = $1 AND outcome = 'failure' AND at >= $2",
        action,
        since,
    )
