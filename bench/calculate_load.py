"""POST /api/mortgage/calculate under load: a real server process, a load
generator in another process, the server's CPU measured from outside.

    python -m bench.calculate            (runs this after the engine section)
    python -m bench.calculate_load serve     the server process (internal)
    python -m bench.calculate_client SPEC        one load phase (internal)

The server is `rateline serve` on a free port, with a temporary data folder
(embedded PostgreSQL) or DATABASE_URL when set, and a market that ticks once
at start and then holds still. Phases, each measured in the same run:

  baseline    GET /healthz at the fixed rate: the HTTP stack's own cost
  repeat      twenty buyers asking again and again (the advisor's answers
              come from its cache), at the fixed rate (open loop, latency
              from the intended send time, so a stall is not hidden) and
              then closed loop at full speed
  distinct    every request a different buyer (no cache can help), fixed
              rate and closed loop

Server CPU per request is the server process's CPU time (all threads) over
the phase divided by the requests it answered; the database's processes are
counted apart when they are ours to see (embedded PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.calculate_client import CALCULATE, CONCURRENCY, buyer, runner

RATE = 100.0
FIXED_SECONDS = 10.0
CLOSED_SECONDS = 10.0
BASELINE_SECONDS = 5.0
REPEATING_BUYERS = 20
CPU_TARGET_MS = 5.0
P99_TARGET_MS = 100.0


# -- the server process ---------------------------------------------------------------


def _serve_main() -> int:
    """`rateline serve`, the production composition, in this interpreter."""
    from ops import logging as structured_logging
    from ops.config import Settings
    from server.cli import serve

    settings = Settings.from_env()
    structured_logging.configure(settings.log_level)
    return int(runner()(serve(settings)))


# -- the orchestra (the bench's own process) ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_process(data_dir: Path, log_path: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "RATELINE_HOST": "127.0.0.1",
        "RATELINE_PORT": str(port),
        "RATELINE_DATA_DIR": str(data_dir),
        "RATELINE_SIM_INTERVAL": "86400",
        "RATELINE_RATE_SOURCES": "simulated",
        "RATELINE_ANON_REQUESTS_PER_MINUTE": "0",
        "RATELINE_ANON_REQUESTS_PER_DAY": "0",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.calculate_load", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _wait_ready(base: str, seconds: float) -> None:
    """Up, and pricing from a filled rate book."""
    deadline = time.monotonic() + seconds
    body = orjson.dumps(buyer(0))
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with suppress(aiohttp.ClientError, OSError):
                async with session.post(
                    base + CALCULATE, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    if response.status == 200:
                        doc = orjson.loads(await response.read())
                        if all(o["rate"] is not None for o in doc["options"][:2]):
                            return
            await asyncio.sleep(0.25)
    raise RuntimeError(f"the server at {base} did not start pricing within {seconds:g} s")


def _cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _database_cpu_seconds(pgdata: Path | None) -> float | None:
    """CPU of the embedded PostgreSQL (its postmaster and every backend), or
    None with an outside database."""
    if pgdata is None:
        return None
    import psutil

    for process in psutil.process_iter(["cmdline"]):
        with suppress(psutil.Error):
            if str(pgdata) in " ".join(process.info["cmdline"] or ()):
                total = 0.0
                for member in [process, *process.children(recursive=True)]:
                    with suppress(psutil.Error):
                        t = member.cpu_times()
                        total += t.user + t.system
                return total
    return None


def _phase(
    base: str,
    pid: int,
    pgdata: Path | None,
    name: str,
    spec: dict[str, Any],
) -> dict[str, Any]:
    spec = {**spec, "base": base}
    cpu_before = _cpu_seconds(pid)
    db_before = _database_cpu_seconds(pgdata)
    done = subprocess.run(
        [sys.executable, "-m", "bench.calculate_client", orjson.dumps(spec).decode()],
        capture_output=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    cpu = _cpu_seconds(pid) - cpu_before
    db_after = _database_cpu_seconds(pgdata)
    result: dict[str, Any] = {"phase": name, "path": spec["path"], "mode": spec["mode"]}
    result.update(orjson.loads(done.stdout.splitlines()[-1]))
    answered = max(1, result["ok"])
    result["server_cpu_ms_per_request"] = cpu * 1000 / answered
    result["server_cpu_share"] = cpu / result["elapsed_s"] if result["elapsed_s"] else 0.0
    if db_before is not None and db_after is not None:
        result["database_cpu_ms_per_request"] = (db_after - db_before) * 1000 / answered
    return result


def attribution(count: int = 40, warm_up: int = 10) -> dict[str, float]:
    """In this process, what the engine and the built-in advisor cost per
    calculation for the same buyers: the share of the server's CPU that is
    theirs, not the flow's. Run while no server competes for the CPUs, after
    `warm_up` other buyers (first use fills per-rate caches, as the load
    phases' warm-up does for the server). CPU time of this thread, so other
    processes on a shared machine do not count."""
    from decimal import Decimal

    from actors.agents.advisor import MortgageAdvisor
    from actors.calculation import flow
    from actors.calculation.service import calculate_quotes, quote_option
    from actors.rates.simulator import BASELINE
    from protocols.api.mortgage import CalculateRequest, decode

    rates: dict[str, Decimal] = {product: quote.rate for product, quote in BASELINE.items()}
    advisor = MortgageAdvisor()
    for i in range(warm_up):
        request = decode(orjson.dumps(buyer(90_000 + i)), CalculateRequest)
        quotes = calculate_quotes(request, rates)
        question = flow.advisor_input(request, [quote_option(q) for q in quotes], rates)
        if not isinstance(question, str):
            advisor.solve(question, {q.product: q for q in quotes})
    requests = [decode(orjson.dumps(buyer(10_000 + i)), CalculateRequest) for i in range(count)]
    engine_s, advice_s, asked = 0.0, 0.0, 0
    for request in requests:
        started = time.thread_time()
        quotes = calculate_quotes(request, rates)
        options = [quote_option(q) for q in quotes]
        engine_s += time.thread_time() - started
        question = flow.advisor_input(request, options, rates)
        if not isinstance(question, str):
            started = time.thread_time()
            advisor.solve(question, {q.product: q for q in quotes})
            advice_s += time.thread_time() - started
            asked += 1
    return {
        "engine_ms_per_calculation": engine_s * 1000 / count,
        "builtin_advisor_ms_per_answer": advice_s * 1000 / max(1, asked),
    }


def _plan(rate: float, seconds: float) -> list[tuple[str, dict[str, Any]]]:
    """The phases in order: warm-up (the server's pools and the repeating
    buyers' advice, so the repeat phases measure the steady state), baseline,
    repeating buyers, then distinct ones (last: at 100/s they overload the
    server, and their fresh answers would push the repeating buyers' out of
    the advisor's cache)."""
    count, closed_count = int(rate * seconds), int(rate * CLOSED_SECONDS * 20)
    fixed = {"mode": "fixed", "rate": rate, "count": count}
    closed = {
        "mode": "closed",
        "seconds": CLOSED_SECONDS,
        "concurrency": CONCURRENCY,
        "count": closed_count,
    }
    distinct = {"path": CALCULATE, "cycle": None}
    repeat = {"path": CALCULATE, "cycle": REPEATING_BUYERS, "first": 500_000}
    health = {"path": "/healthz", "cycle": None, "first": 0}
    return [
        ("warm-up", {**repeat, **closed, "seconds": 3.0}),
        ("baseline", {**health, **fixed, "count": int(rate * BASELINE_SECONDS)}),
        ("repeat", {**repeat, **fixed}),
        ("repeat", {**repeat, **closed}),
        ("distinct", {**distinct, **fixed, "first": 100_000}),
        ("distinct", {**distinct, **closed, "first": 200_000}),
    ]


def run(*, rate: float = RATE, seconds: float = FIXED_SECONDS) -> dict[str, Any]:
    """Every phase against one server; figures and whether the targets are met."""
    in_process = attribution()
    with tempfile.TemporaryDirectory(prefix="rateline-bench-") as folder:
        data_dir = Path(folder) / "data"
        outside = bool(os.environ.get("DATABASE_URL"))
        pgdata = None if outside else (data_dir / "postgres").resolve()
        with server_process(data_dir, Path(folder) / "server.log") as (base, pid):
            try:
                asyncio.run(_wait_ready(base, 180.0))
            except RuntimeError:
                sys.stderr.write((Path(folder) / "server.log").read_text()[-4000:])
                raise
            measured = [_phase(base, pid, pgdata, *step) for step in _plan(rate, seconds)]
    phases = measured[1:]  # the warm-up is not reported
    fixed_calc = [p for p in phases if p["path"] == CALCULATE and p["mode"] == "fixed"]
    baseline = phases[0]
    for p in phases[1:]:
        p["cpu_ratio_vs_baseline"] = p["server_cpu_ms_per_request"] / max(
            1e-9, baseline["server_cpu_ms_per_request"]
        )
    targets = {
        p["phase"]: {
            "cpu_ms_target": CPU_TARGET_MS,
            "p99_ms_target": P99_TARGET_MS,
            "cpu_met": p["server_cpu_ms_per_request"] <= CPU_TARGET_MS,
            "p99_met": p["p99_ms"] < P99_TARGET_MS and p["errors"] == 0,
        }
        for p in fixed_calc
    }
    return {
        "rate_rps": rate,
        "fixed_seconds": seconds,
        "closed_seconds": CLOSED_SECONDS,
        "concurrency": CONCURRENCY,
        "database": "DATABASE_URL" if outside else "embedded",
        "phases": phases,
        "targets": targets,
        "attribution": in_process,
        "cpus": os.cpu_count(),
    }


def table(load: dict[str, Any]) -> str:
    """Rows for the bench's table."""
    lines = [
        f"{'load phase (server process)':<34}{'req/s':>8}{'p50':>9}{'p99':>10}"
        f"{'CPU/req':>10}{'DB/req':>9}{'x base':>8}  notes",
    ]
    for p in load["phases"]:
        label = f"{p['phase']} {p['mode']}" + (
            f" {load['rate_rps']:g}/s" if p["mode"] == "fixed" else f" x{load['concurrency']}"
        )
        db = p.get("database_cpu_ms_per_request")
        lines.append(
            f"{label:<34}{p['rps']:>8.1f}{p['p50_ms']:>7.1f}ms{p['p99_ms']:>8.1f}ms"
            f"{p['server_cpu_ms_per_request']:>8.2f}ms"
            + (f"{db:>7.2f}ms" if db is not None else f"{'-':>9}")
            + (
                f"{p['cpu_ratio_vs_baseline']:>8.1f}"
                if "cpu_ratio_vs_baseline" in p
                else f"{'':>8}"
            )
            + f"  {p['errors']} errors, {p['with_note']} without advice"
        )
    for phase, t in load["targets"].items():
        lines.append(
            f"{'target, ' + phase + ' at fixed rate':<34}CPU <= {t['cpu_ms_target']:g} ms: "
            f"{'met' if t['cpu_met'] else 'MISSED'};  p99 < {t['p99_ms_target']:g} ms: "
            f"{'met' if t['p99_met'] else 'MISSED'}"
        )
    a = load["attribution"]
    lines.append(
        f"{'of which, in-process':<34}engine {a['engine_ms_per_calculation']:.2f} ms a "
        f"calculation; built-in advisor {a['builtin_advisor_ms_per_answer']:.2f} ms an answer"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return _serve_main()
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
