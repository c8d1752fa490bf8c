"""The audit log: chained appends against plain inserts, and the verifier.

    python -m bench.audit [--events 4000] [--writers 16] [--verify 1000000]

Against a real PostgreSQL (embedded in a temporary folder, or DATABASE_URL
when set; the audit_log table is emptied first, so never point it at a
database you keep):

  appends   `--writers` tasks each recording its share of `--events` through
            the Auditor's writer (hash-chained, serialised by an advisory
            lock, many events to a commit), against the baseline in the same
            run: the same tasks INSERTing rows of the same shape into an
            unchained table, one autocommit statement each
  verify    `rateline audit verify`'s walk over `--verify` chained events

Targets: chained appends >= 0.5x the plain inserts' events/s; verify >=
200,000 events/s. Results go to bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from actors.audit.scan import verify_chain
from storage import audit as store
from storage.audit import AuditEvent, AuditWriter
from storage.database import Database

RESULTS = Path(__file__).parent / "results" / "audit.json"
APPEND_TARGET = 0.5
VERIFY_TARGET = 200_000


def event(n: int) -> AuditEvent:
    return AuditEvent(
        "sign_in",
        "failure",
        actor="anonymous",
        target=f"user{n}@example.com",
        ip="192.0.2.10",
        request_id=f"req-{n}",
        details={"attempt": n},
    )


async def plain_inserts(db: Database, events: int, writers: int) -> list[float]:
    async with db.pool.acquire() as conn:
        await conn.execute("DROP TABLE IF EXISTS plain_log")
        await conn.execute("CREATE TABLE plain_log (LIKE audit_log INCLUDING INDEXES)")

    async def writer(first: int) -> list[float]:
        latencies = []
        for n in range(first, events, writers):
            e = event(n)
            started = time.perf_counter()
            await db.pool.execute(
                "INSERT INTO plain_log (seq, at, actor, action, target, outcome, ip, request_id,"
                " details, hash) VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8, $9)",
                n + 1,
                e.actor,
                e.action,
                e.target,
                e.outcome,
                e.ip,
                e.request_id,
                orjson.dumps(dict(e.details)).decode(),
                bytes(32),
            )
            latencies.append(time.perf_counter() - started)
        return latencies

    return [t for part in await asyncio.gather(*(writer(w) for w in range(writers))) for t in part]


async def chained_appends(db: Database, events: int, writers: int) -> list[float]:
    audit_writer = AuditWriter(db.pool)

    async def writer(first: int) -> list[float]:
        latencies = []
        for n in range(first, events, writers):
            started = time.perf_counter()
            await audit_writer.record(event(n))
            latencies.append(time.perf_counter() - started)
        return latencies

    return [t for part in await asyncio.gather(*(writer(w) for w in range(writers))) for t in part]


async def fill_chain(db: Database, total: int, batch: int = 20_000) -> None:
    done = (await store.head(db.pool))[0]
    while done < total:
        size = min(batch, total - done)
        async with db.pool.acquire() as conn, conn.transaction():
            await store.append(conn, [event(done + n) for n in range(size)])
        done += size


def p99(latencies: list[float]) -> float:
    return sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rateline-bench-audit-") as folder:
        os.chmod(folder, 0o755)
        db = await Database.open(
            url=os.environ.get("DATABASE_URL"), data_dir=Path(folder), max_size=args.writers + 2
        )
        try:
            await db.pool.execute("TRUNCATE audit_log")
            rows: dict[str, Any] = {}
            for name, contender in (("plain", plain_inserts), ("chained", chained_appends)):
                rates, tails = [], []
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    latencies = await contender(db, args.events, args.writers)
                    rates.append(args.events / (time.perf_counter() - started))
                    tails.append(p99(latencies))
                rows[name] = {
                    "events_per_s": round(statistics.median(rates)),
                    "p99_ms": round(statistics.median(tails), 2),
                }
            await db.pool.execute("DROP TABLE IF EXISTS plain_log")
            await fill_chain(db, args.verify)
            started = time.perf_counter()
            verdict = await verify_chain(db.pool, [])
            verify_seconds = time.perf_counter() - started
            assert verdict.intact, verdict.describe()
        finally:
            await db.close()
    ratio = rows["chained"]["events_per_s"] / rows["plain"]["events_per_s"]
    verify_rate = verdict.count / verify_seconds
    return {
        "appends": rows,
        "append_ratio": round(ratio, 2),
        "append_met": ratio >= APPEND_TARGET,
        "verify_events": verdict.count,
        "verify_seconds": round(verify_seconds, 2),
        "verify_events_per_s": round(verify_rate),
        "verify_met": verify_rate >= VERIFY_TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--verify", type=int, default=1_000_000)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(f"{'appends':<10} {'events/s':>10} {'p99 ms':>8}")
    for name, row in result["appends"].items():
        print(f"{name:<10} {row['events_per_s']:>10} {row['p99_ms']:>8}")
    print(
        f"chained / plain: {result['append_ratio']}x;"
        f" target >= {APPEND_TARGET}x: {'met' if result['append_met'] else 'not met'}"
    )
    print(
        f"verify: {result['verify_events']} events in {result['verify_seconds']} s ="
        f" {result['verify_events_per_s']} events/s; target >= {VERIFY_TARGET}:"
        f" {'met' if result['verify_met'] else 'not met'}"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(orjson.dumps({**result, **vars(args)}, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
