"""Leads from POST to the broker's screen, against a bare insert.

    python -m bench.leads [--brokers 500] [--rate 50] [--seconds 10] [--burst 200]

A real server process (`rateline serve` on an embedded PostgreSQL in a
temporary folder, or DATABASE_URL) with N brokers over the 50 states, each
licensed in one state and connected on its own `broker:<id>` WebSocket.
Leads are posted at a fixed rate (open loop), then a burst all at once.

Measured per lead: POST sent -> the `lead_offered` frame on the broker's
socket (p50/p99); leads/s through the burst (from its first POST to its
last frame); server CPU per lead at the fixed rate (psutil: the server
process and its children; the embedded PostgreSQL counted apart), also net
of what the idle server spends (rate simulator, timers) in 3 s before.

Baseline, same run, same database: a bare aiohttp process whose one handler
decodes the same body into the same msgspec struct and INSERTs it in one
statement, posted at the same fixed rate; its CPU per request is the unit
the lead flow's cost is quoted in.

Targets: p99 POST -> offer on screen <= 50 ms at 50 leads/s; server CPU per
lead <= 3x the bare insert. Results: a table, and bench/results/leads.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from statistics import quantiles
from typing import Any, get_args

import aiohttp
import asyncpg
import orjson
import psutil

from protocols.api.leads import UsState

STATES: tuple[str, ...] = tuple(s for s in get_args(UsState) if s != "DC")
RESULTS = Path(__file__).parent / "results" / "leads.json"
ROOT = Path(__file__).resolve().parent.parent
P99_TARGET_MS = 50.0
CPU_RATIO_TARGET = 3.0


def lead(n: int) -> dict[str, Any]:
    return {
        "name": f"Borrower {n}",
        "email": f"borrower{n}@example.com",
        "phone": f"+1 212 {200 + n // 10000 % 800:03d} {n % 10000:04d}",
        "state": STATES[n % len(STATES)],
        "purpose": "purchase",
        "price": "450000",
        "down_payment": "90000",
        "credit_score": 720,
        "timeline": "3_months",
        "message": "Please call in the evening.",
        "consent": {"agreed": True, "text": "You may call and email me.", "version": "1"},
    }


# -- processes --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[int]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _cpu(pid: int) -> float:
    total = 0.0
    root = psutil.Process(pid)
    for member in [root, *root.children(recursive=True)]:
        with suppress(psutil.Error):
            t = member.cpu_times()
            total += t.user + t.system
    return total


def _database_cpu(pgdata: Path | None) -> float:
    if pgdata is None:
        return float("nan")
    for process in psutil.process_iter(["cmdline"]):
        with suppress(psutil.Error):
            if str(pgdata) in " ".join(process.info["cmdline"] or ()):
                return _cpu(process.pid)
    return float("nan")


async def _wait_up(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            await asyncio.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {seconds:g} s")


# -- seeding ----------------------------------------------------------------------------


async def seed_brokers(dsn: str, count: int) -> list[tuple[uuid.UUID, str]]:
    """Brokers spread over the states, licensed where they sit, open all week."""
    from actors.accounts.tokens import new_token

    conn = await asyncpg.connect(dsn)
    try:
        brokers = []
        for i in range(count):
            user_id = uuid.uuid4()
            token, digest = new_token()
            await conn.execute(
                "INSERT INTO users (id, email, name, role, email_verified_at) "
                "VALUES ($1, $2, $3, 'broker', now())",
                user_id,
                f"broker{i}@example.com",
                f"Broker {i}",
            )
            await conn.execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
                digest,
                user_id,
                timedelta(hours=2) + await conn.fetchval("SELECT now()"),
            )
            await conn.execute(
                "INSERT INTO broker_profiles (user_id, nmls_id, licenses, capacity, timezone,"
                " hours) VALUES ($1, $2, $3::text::jsonb, 100, 'UTC', $4::text::jsonb)",
                user_id,
                str(100000 + i),
                json.dumps([{"state": STATES[i % len(STATES)], "expires": "2099-12-31"}]),
                json.dumps({"start": "00:00", "end": "23:59", "days": list(range(1, 8))}),
            )
            brokers.append((user_id, token))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_leads (id bigint GENERATED ALWAYS AS IDENTITY"
            " PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        return brokers
    finally:
        await conn.close()


# -- the client -------------------------------------------------------------------------


class Screens:
    """The brokers' sockets; when each lead's offer frame arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def connect(self, session: aiohttp.ClientSession, base: str, brokers: Any) -> None:
        async def one(user_id: uuid.UUID, token: str) -> None:
            ws = await session.ws_connect(base + "/ws", max_msg_size=0)
            await ws.send_json({"op": "auth", "token": token})
            await ws.send_json({"op": "subscribe", "channel": f"broker:{user_id}"})
            self.tasks.append(asyncio.create_task(self._read(ws)))

        for start in range(0, len(brokers), 50):
            await asyncio.gather(*(one(u, t) for u, t in brokers[start : start + 50]))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = orjson.loads(message.data)
            data = frame.get("data")
            if (
                frame.get("op") == "update"
                and isinstance(data, dict)
                and data.get("kind") == "lead_offered"
            ):
                self.arrived.setdefault(data["lead"]["id"], time.perf_counter())


async def _post(session: aiohttp.ClientSession, url: str, n: int, sent: dict[str, float]) -> None:
    started = time.perf_counter()
    async with session.post(url, data=orjson.dumps(lead(n)), headers=_JSON) as response:
        body = await response.read()
        if response.status != 202:
            raise RuntimeError(f"POST answered {response.status}: {body[:200]!r}")
    sent[orjson.loads(body)["id"]] = started


_JSON = {"Content-Type": "application/json"}


async def fixed_rate(
    session: aiohttp.ClientSession, url: str, first: int, rate: float, seconds: float
) -> tuple[dict[str, float], float]:
    """Open loop: POST every 1/rate s whatever the answers do; (sent, wall s)."""
    sent: dict[str, float] = {}
    count = int(rate * seconds)
    began = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_post(session, url, first + i, sent)))
    await asyncio.gather(*tasks)
    return sent, time.perf_counter() - began


async def arrived_all(screens: Screens, ids: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(i not in screens.arrived for i in ids):  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def _ms(values: list[float]) -> tuple[float, float]:
    cuts = quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


async def run(args: argparse.Namespace, base: str, server_pid: int, pgdata: Path | None,
              baseline_url: str, baseline_pid: int, brokers: Any) -> dict[str, Any]:  # fmt: skip
    screens = Screens()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await screens.connect(session, base, brokers)
        await asyncio.sleep(1.0)
        # Warm-up, not counted.
        warm, _ = await fixed_rate(session, base + "/api/leads", 10**6, args.rate, 1.0)
        await arrived_all(screens, warm)

        idle0, idle_t0 = _cpu(server_pid), time.perf_counter()
        await asyncio.sleep(3.0)
        idle_per_s = (_cpu(server_pid) - idle0) / (time.perf_counter() - idle_t0)

        cpu0, db0 = _cpu(server_pid), _database_cpu(pgdata)
        sent, wall = await fixed_rate(session, base + "/api/leads", 0, args.rate, args.seconds)
        await arrived_all(screens, sent)
        cpu1, db1 = _cpu(server_pid), _database_cpu(pgdata)
        latencies = [screens.arrived[i] - t for i, t in sent.items() if i in screens.arrived]

        burst: dict[str, float] = {}
        began = time.perf_counter()
        await asyncio.gather(
            *(_post(session, base + "/api/leads", 500_000 + i, burst) for i in range(args.burst))
        )
        await arrived_all(screens, burst)
        burst_done = max((screens.arrived.get(i, 0.0) for i in burst), default=began)
        burst_latencies = [screens.arrived[i] - t for i, t in burst.items() if i in screens.arrived]

        bcpu0, bdb0 = _cpu(baseline_pid), _database_cpu(pgdata)
        base_sent, base_wall = await fixed_rate(
            session, baseline_url + "/api/leads", 0, args.rate, args.seconds
        )
        bcpu1, bdb1 = _cpu(baseline_pid), _database_cpu(pgdata)
        for task in screens.tasks:
            task.cancel()

    count, base_count = len(sent), len(base_sent)
    p50, p99 = _ms(latencies)
    bp50, bp99 = _ms(burst_latencies)
    cpu_lead = (cpu1 - cpu0) / count * 1000
    cpu_lead_net = (cpu1 - cpu0 - idle_per_s * wall) / count * 1000
    cpu_base = (bcpu1 - bcpu0) / base_count * 1000
    return {
        "brokers": len(brokers),
        "rate": args.rate,
        "leads_at_rate": count,
        "offers_seen": len(latencies),
        "post_to_offer_p50_ms": round(p50, 2),
        "post_to_offer_p99_ms": round(p99, 2),
        "burst": args.burst,
        "burst_offers_seen": len(burst_latencies),
        "burst_p50_ms": round(bp50, 2),
        "burst_p99_ms": round(bp99, 2),
        "burst_leads_per_s": round(len(burst) / max(1e-9, burst_done - began), 1),
        "achieved_rate_per_s": round(count / wall, 1),
        "server_cpu_ms_per_lead": round(cpu_lead, 3),
        "baseline_cpu_ms_per_insert": round(cpu_base, 3),
        "cpu_ratio": round(cpu_lead / cpu_base, 2),
        "server_idle_cpu_ms_per_s": round(idle_per_s * 1000, 2),
        "server_cpu_ms_per_lead_net_of_idle": round(cpu_lead_net, 3),
        "cpu_ratio_net_of_idle": round(cpu_lead_net / cpu_base, 2),
        "db_cpu_ms_per_lead": round((db1 - db0) / count * 1000, 3),
        "db_cpu_ms_per_baseline_insert": round((bdb1 - bdb0) / base_count * 1000, 3),
        "baseline_rate_per_s": round(base_count / base_wall, 1),
    }


def report(result: dict[str, Any]) -> None:
    rows = [
        ("POST -> offer on screen p50 (ms)", result["post_to_offer_p50_ms"], ""),
        (
            "POST -> offer on screen p99 (ms)",
            result["post_to_offer_p99_ms"],
            f"target <= {P99_TARGET_MS:g}",
        ),
        ("burst p50 / p99 (ms)", f"{result['burst_p50_ms']} / {result['burst_p99_ms']}", ""),
        ("burst leads/s (sustained)", result["burst_leads_per_s"], ""),
        ("server CPU per lead (ms)", result["server_cpu_ms_per_lead"], ""),
        ("baseline CPU per bare insert (ms)", result["baseline_cpu_ms_per_insert"], ""),
        ("CPU ratio lead / bare insert", result["cpu_ratio"], f"target <= {CPU_RATIO_TARGET:g}"),
        ("server idle CPU (ms per s)", result["server_idle_cpu_ms_per_s"], ""),
        ("server CPU per lead, net of idle (ms)", result["server_cpu_ms_per_lead_net_of_idle"], ""),
        ("CPU ratio net of idle", result["cpu_ratio_net_of_idle"], ""),
        ("PostgreSQL CPU per lead (ms)", result["db_cpu_ms_per_lead"], ""),
        ("PostgreSQL CPU per bare insert (ms)", result["db_cpu_ms_per_baseline_insert"], ""),
    ]
    print(f"\nleads: {result['brokers']} brokers, {result['leads_at_rate']} leads at "
          f"{result['rate']}/s, burst of {result['burst']}")  # fmt: skip
    for name, value, note in rows:
        print(f"  {name:<38} {value!s:>14}  {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.leads")
    parser.add_argument("--brokers", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--logs", type=Path, help="copy the server's log into this folder")
    args = parser.parse_args(argv)

    from storage.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="rateline-bench-leads-") as folder:
        work = Path(folder)
        os.chmod(work, 0o755)
        embedded = None
        dsn = os.environ.get("DATABASE_URL")
        pgdata = None
        if dsn is None:
            embedded = EmbeddedPostgres(work / "pg")
            dsn = embedded.start()
            pgdata = work / "pg"
        try:
            port, base_port = _free_port(), _free_port()
            env = {
                **os.environ,
                "DATABASE_URL": dsn,
                "RATELINE_HOST": "127.0.0.1",
                "RATELINE_PORT": str(port),
                "RATELINE_DATA_DIR": str(work / "data"),
                "RATELINE_LOG_LEVEL": "warning",
            }
            serve = [sys.executable, "-m", "server.cli", "serve"]
            baseline = [sys.executable, "-m", "bench.leads_baseline", str(base_port), dsn]
            with _process(serve, env, work / "server.log") as server_pid:
                base = f"http://127.0.0.1:{port}"
                asyncio.run(_wait_up(base + "/healthz"))
                brokers = asyncio.run(seed_brokers(dsn, args.brokers))
                with _process(baseline, env, work / "baseline.log") as baseline_pid:
                    baseline_url = f"http://127.0.0.1:{base_port}"
                    asyncio.run(_wait_up(baseline_url + "/api/leads"))
                    result = asyncio.run(
                        run(args, base, server_pid, pgdata, baseline_url, baseline_pid, brokers)
                    )
        finally:
            if args.logs is not None:
                args.logs.mkdir(parents=True, exist_ok=True)
                for name in ("server.log", "baseline.log"):
                    with suppress(OSError):
                        shutil.copy(work / name, args.logs / name)
            if embedded is not None:
                embedded.stop()
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    report(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
