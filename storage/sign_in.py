"""Sign-in attempt counters: counted before the password is checked.

`lock_counters` takes a row lock on each key (in key order, so two sign-ins
never wait on each other crosswise) inside the caller's transaction; the
caller judges the counts and, if the attempt may go ahead, records it with
`count_attempt` before committing. A second attempt on the same key waits
for the first's commit and then sees its count. A successful sign-in clears
its own counters; a password reset clears the address's from everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.database import Executor


@dataclass(frozen=True)
class Counter:
    key: str
    failures: int
    last_at: datetime | None


async def lock_counters(db: Executor, keys: list[str]) -> dict[str, Counter]:
    """Each key's counter, locked until the transaction ends."""
    await db.execute(
        "INSERT INTO sign_in_counters (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        keys,
    )
    rows = await db.fetch(
        """
        SELECT key, failures, last_at FROM sign_in_counters
        WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE
        """,
        keys,
    )
    return {r["key"]: Counter(r["key"], r["failures"], r["last_at"]) for r in rows}


async def count_attempt(db: Executor, failures: dict[str, int], *, now: datetime) -> None:
    """Store each key's new count, stamped `now`."""
    await db.execute(
        """
        UPDATE sign_in_counters c SET failures = v.n, last_at = $3
        FROM unnest($1::text[], $2::int[]) AS v(key, n) WHERE c.key = v.key
        """,
        list(failures),
        list(failures.values()),
        now,
    )


async def clear_address(db: Executor, address_key: str, pair_prefix: str) -> None:
    """Forget the failures of one address, from every client address."""
    await db.execute(
        "DELETE FROM sign_in_counters WHERE key = $1 OR starts_with(key, $2)",
        address_key,
        pair_prefix,
    )


async def purge_counters(db: Executor, older_than: timedelta, *, now: datetime) -> int:
    result: str = await db.execute(
        "DELETE FROM sign_in_counters WHERE last_at IS NULL OR last_at < $1", now - older_than
    )
    return int(result.split()[-1])


async def clear(db: Executor, keys: list[str]) -> None:
    await db.execute("DELETE FROM sign_in_counters WHERE key = ANY($1::text[])", keys)


async def forgive_attempt(db: Executor, key: str) -> None:
    """Take back one counted attempt that turned out to be the right password."""
    await db.execute(
        "UPDATE sign_in_counters SET failures = greatest(failures - 1, 0) WHERE key = $1", key
    )
