"""Backups against the bare PostgreSQL tools, in one run.

    python -m bench.backup [--mb 200]

Builds a database of about `--mb` MB (rate history, calculations, leads-like
rows) in an embedded PostgreSQL of its own, then measures:

  baseline   pg_dump -Fc to a file, then pg_restore into a fresh database
  folder     Rateline's backup into a folder: dump streamed through SHA-256
             with the table figures taken in the same snapshot, then verified
             (read back, restored into a scratch cluster, compared)
  s3         the same into moto's S3 server (a subprocess on a local port)

and, while each Rateline backup runs, this process's peak RSS growth (this
process plays the server: the backup code runs on its event loop).
Targets: backup with verification <= 2.0 x baseline; RSS growth <= 64 MB.
Results are printed as a table and written to bench/results/backup.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psutil

from actors.backup import service
from actors.backup.config import BackupConfig
from protocols.backup_store import Destination
from protocols.backup_store.folder import FolderDestination
from protocols.backup_store.s3 import S3Destination
from storage import backups as store
from storage.database import Database
from storage.embedded import EmbeddedPostgres
from storage.pg_tools import find_tools, libpq_target

TIME_TARGET = 2.0
RSS_TARGET_MB = 64
RESULTS = Path(__file__).parent / "results" / "backup.json"

LEADS_TABLE = """
CREATE TABLE IF NOT EXISTS bench_leads (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    phone text NOT NULL,
    loan_amount numeric(12, 2) NOT NULL,
    notes text NOT NULL,
    created_at timestamptz NOT NULL
)
"""

# One batch of each kind of row, about 6 MB on disk together.
BATCH = [
    """
    INSERT INTO rate_observations (product, as_of, source, rate, points, apr)
    SELECT 'p' || (g % 40), timestamptz '2000-01-01' + make_interval(mins => $1 + g / 40),
           (ARRAY['simulated', 'fred', 'pmms'])[1 + g % 3],
           round((5 + random() * 3)::numeric, 3), round(random()::numeric, 3),
           round((5 + random() * 3)::numeric, 3)
    FROM generate_series(0, 19999) AS g
    """,
    """
    INSERT INTO calculations (id, inputs, rates, rates_as_of, document, created_at)
    SELECT gen_random_uuid(),
           jsonb_build_object('price', 300000 + g, 'down', 60000, 'zip', md5(g::text)),
           jsonb_build_object('30y', round((6 + random())::numeric, 3), 'source', 'simulated'),
           now(),
           json_build_object('quotes', (SELECT json_agg(json_build_object(
               'product', p, 'rate', round((6 + random())::numeric, 3),
               'payment', round((1800 + random() * 400)::numeric, 2), 'id', md5(random()::text)))
               FROM generate_series(1, 6) AS p)),
           now() - make_interval(secs => g)
    FROM generate_series(1, 2000) AS g
    """,
    """
    INSERT INTO bench_leads (name, email, phone, loan_amount, notes, created_at)
    SELECT 'Lead ' || md5(g::text), md5(random()::text) || '@example.com',
           '+1-555-' || lpad((g % 10000)::text, 4, '0'),
           round((100000 + random() * 900000)::numeric, 2),
           repeat(md5(random()::text), 4), now() - make_interval(mins => g)
    FROM generate_series(1, 5000) AS g
    """,
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def generate(db: Database, mb: int) -> int:
    await db.pool.execute(LEADS_TABLE)
    batch = 0
    while True:
        size = int(await db.pool.fetchval("SELECT pg_database_size(current_database())"))
        if size >= mb << 20:
            break
        for sql in BATCH:
            if "$1" in sql:
                await db.pool.execute(sql, batch * 1000)
            else:
                await db.pool.execute(sql)
        batch += 1
    await db.pool.execute("VACUUM ANALYZE")
    return int(await db.pool.fetchval("SELECT pg_database_size(current_database())"))


async def run(*command: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *command, env={**os.environ, **env}, stderr=asyncio.subprocess.PIPE
    )
    _, errors = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {errors.decode()[-500:]}")
    return time.perf_counter() - started


async def baseline(db: Database, folder: Path) -> dict[str, float]:
    async with db.pool.acquire() as conn:
        tools = await find_tools(conn.get_server_version().major)
    target, env = libpq_target(db.dsn)
    dump_file = folder / "baseline.dump"
    dumped = await run(
        tools.program("pg_dump"), "-Fc", "-f", str(dump_file), f"--dbname={target}", env=env
    )
    await db.pool.execute("DROP DATABASE IF EXISTS bench_restore")
    started = time.perf_counter()
    await db.pool.execute("CREATE DATABASE bench_restore")
    created = time.perf_counter() - started
    restored = await run(
        tools.program("pg_restore"),
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
        f"--dbname={with_database(target, 'bench_restore')}",
        str(dump_file),
        env=env,
    )
    size = dump_file.stat().st_size
    dump_file.unlink()
    await db.pool.execute("DROP DATABASE bench_restore")
    return {
        "dump_s": round(dumped, 2),
        "restore_s": round(created + restored, 2),
        "total_s": round(dumped + created + restored, 2),
        "dump_bytes": size,
    }


class RssPeak:
    """Samples this process's RSS every 20 ms from a thread of its own."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / (1 << 20)


async def rateline(db: Database, config: BackupConfig, destination: Destination) -> dict[str, Any]:
    backup_id = service.new_id()
    await store.create(
        db.pool, id=backup_id, trigger="command", node="bench", destination=destination.description
    )
    gc.collect()
    started = time.perf_counter()
    with RssPeak() as rss:
        outcome = await service.run(db.pool, db.dsn, config, destination, backup_id)
    total = time.perf_counter() - started
    await destination.close()
    if outcome.status != "verified":
        raise RuntimeError(f"the backup failed at {outcome.stage}: {outcome.detail}")
    return {
        "dump_upload_s": round(outcome.dump_seconds or 0, 2),
        "verify_s": round(outcome.verify_seconds or 0, 2),
        "total_s": round(total, 2),
        "dump_bytes": outcome.size,
        "rss_growth_mb": round(rss.growth_mb, 1),
    }


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)


async def measure(mb: int, folder: Path) -> dict[str, Any]:
    server = EmbeddedPostgres(folder / "data")
    url = await asyncio.to_thread(server.start)
    moto, endpoint = start_moto()
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, value)
    try:
        db = await Database.open(url=url, data_dir=folder, min_size=1, max_size=4)
        try:
            print(f"generating about {mb} MB ...", flush=True)
            size = await generate(db, mb)
            print(f"database: {size / (1 << 20):.0f} MB; measuring ...", flush=True)
            base = await baseline(db, folder)
            config = BackupConfig(folder=folder / "backups")
            in_folder = await rateline(db, config, FolderDestination(folder / "backups"))
            s3 = S3Destination("s3://bench/backups", endpoint_url=endpoint)
            await s3.call("create bucket", "create_bucket")
            in_s3 = await rateline(db, config, s3)
        finally:
            await db.close()
    finally:
        moto.terminate()
        moto.wait(10)
        await asyncio.to_thread(server.stop)
    return {"database_bytes": size, "baseline": base, "folder": in_folder, "s3": in_s3}


def report(results: dict[str, Any]) -> dict[str, Any]:
    base = results["baseline"]
    print(
        f"\n{'run':<10} {'dump (+upload) s':>17} {'restore/verify s':>17} {'total s':>9}"
        f" {'x baseline':>11} {'dump MB':>8} {'RSS growth MB':>14}"
    )
    print("-" * 92)
    print(
        f"{'baseline':<10} {base['dump_s']:>17.2f} {base['restore_s']:>17.2f}"
        f" {base['total_s']:>9.2f} {1:>11.2f} {base['dump_bytes'] / (1 << 20):>8.1f} {'':>14}"
    )
    verdicts: dict[str, Any] = {}
    for name in ("folder", "s3"):
        row = results[name]
        ratio = row["total_s"] / base["total_s"]
        row["ratio"] = round(ratio, 2)
        print(
            f"{name:<10} {row['dump_upload_s']:>17.2f} {row['verify_s']:>17.2f}"
            f" {row['total_s']:>9.2f} {ratio:>11.2f} {row['dump_bytes'] / (1 << 20):>8.1f}"
            f" {row['rss_growth_mb']:>14.1f}"
        )
        verdicts[name] = {
            "ratio": round(ratio, 2),
            "time_met": ratio <= TIME_TARGET,
            "rss_growth_mb": row["rss_growth_mb"],
            "rss_met": row["rss_growth_mb"] <= RSS_TARGET_MB,
        }
    print()
    for name, verdict in verdicts.items():
        print(
            f"target {name:<7} backup+verify = {verdict['ratio']:.2f} x baseline"
            f" (limit {TIME_TARGET}): {'met' if verdict['time_met'] else 'MISSED'};"
            f" RSS growth {verdict['rss_growth_mb']:.1f} MB (limit {RSS_TARGET_MB}):"
            f" {'met' if verdict['rss_met'] else 'MISSED'}"
        )
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="database size to generate, MB")
    options = parser.parse_args()
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="rateline-bench-backup-"))
    try:
        results = asyncio.run(measure(options.mb, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    verdicts = report(results)
    document = {
        "benchmark": "backup",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "requested_mb": options.mb,
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
        "target": verdicts,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"\nwrote {RESULTS} in {document['seconds']} s")


if __name__ == "__main__":
    main()
