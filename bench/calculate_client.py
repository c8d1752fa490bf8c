"""The load generator of bench/calculate_load.py, run in its own process:
one phase against the server, its figures printed as one JSON line.

    python -m bench.calculate_client '{"base": ..., "path": ..., "mode": ...}'

Open loop (a fixed rate) measures latency from each request's intended send
time, so a server that stalls cannot hide the queue behind it; closed loop
(a few clients back to back) finds the most it can answer.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import aiohttp
import orjson

CALCULATE = "/api/mortgage/calculate"
CONCURRENCY = 8
STATES = ("CA", "TX", "FL", "NY", "WA", "CO", "IL", "GA", "NC", "AZ")


# -- what the buyers ask -----------------------------------------------------------


def buyer(index: int) -> dict[str, Any]:
    """Buyer number `index`: the same every run, different from its neighbours."""
    rng = random.Random(index * 7919 + 17)
    price = rng.randrange(250, 900) * 1000 + rng.randrange(0, 1000, 10)
    down = price * rng.choice((5, 8, 10, 12, 15, 20, 25)) // 100
    income = price * rng.randrange(22, 40) // 100
    return {
        "price": str(price),
        "down_payment": str(down),
        "credit_score": rng.randrange(640, 820),
        "state": rng.choice(STATES),
        "annual_income": str(income),
        "monthly_debts": str(rng.randrange(0, 1200, 25)),
        "first_time_buyer": rng.random() < 0.3,
    }


def bodies(first: int, count: int, cycle: int | None) -> list[bytes]:
    return [orjson.dumps(buyer(first + (i % cycle if cycle else i))) for i in range(count)]


# -- the load generator (its own process) -------------------------------------------


async def _send(session: aiohttp.ClientSession, url: str, body: bytes | None) -> tuple[int, bool]:
    if body is None:
        async with session.get(url) as response:
            await response.read()
            return response.status, False
    async with session.post(
        url, data=body, headers={"Content-Type": "application/json"}
    ) as response:
        data = await response.read()
        return response.status, response.status == 200 and b'"note":null' not in data


async def _fixed(
    session: aiohttp.ClientSession, url: str, payloads: list[bytes | None], rate: float
) -> list[tuple[int, bool, float]]:
    clock = time.perf_counter  # uvloop's loop.time() only has millisecond resolution

    async def one(body: bytes | None, due: float) -> tuple[int, bool, float]:
        try:
            status, noted = await _send(session, url, body)
        except (aiohttp.ClientError, TimeoutError):
            status, noted = 0, False
        return status, noted, clock() - due

    start = clock() + 0.05
    tasks = []
    for i, body in enumerate(payloads):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(body, due)))
    return list(await asyncio.gather(*tasks))


async def _closed(
    session: aiohttp.ClientSession,
    url: str,
    payloads: list[bytes | None],
    seconds: float,
    concurrency: int,
) -> list[tuple[int, bool, float]]:
    clock = time.perf_counter
    results: list[tuple[int, bool, float]] = []
    cursor = iter(range(len(payloads)))
    stop = clock() + seconds

    async def worker() -> None:
        for i in cursor:
            if clock() >= stop:
                return
            sent = clock()
            try:
                status, noted = await _send(session, url, payloads[i])
            except (aiohttp.ClientError, TimeoutError):
                status, noted = 0, False
            results.append((status, noted, clock() - sent))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def run_client(spec: dict[str, Any]) -> dict[str, Any]:
    url = spec["base"] + spec["path"]
    if spec["path"] == CALCULATE:
        payloads: list[bytes | None] = list(bodies(spec["first"], spec["count"], spec["cycle"]))
    else:
        payloads = [None] * spec["count"]
    connector = aiohttp.TCPConnector(limit=spec.get("connections", 256))
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        if spec["mode"] == "fixed":
            results = await _fixed(session, url, payloads, spec["rate"])
        else:
            results = await _closed(
                session, url, payloads, spec["seconds"], spec.get("concurrency", CONCURRENCY)
            )
        elapsed = time.perf_counter() - started
    latencies = sorted(r[2] for r in results if r[0] == 200)
    ok = len(latencies)
    return {
        "requests": len(results),
        "ok": ok,
        "errors": len(results) - ok,
        "with_note": sum(1 for r in results if r[0] == 200 and r[1]),
        "elapsed_s": elapsed,
        "rps": ok / elapsed if elapsed else 0.0,
        "p50_ms": _quantile(latencies, 0.50) * 1000,
        "p99_ms": _quantile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else 0.0) * 1000,
    }


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


def run_client_main(spec_text: str) -> int:
    spec = orjson.loads(spec_text)
    result = runner()(run_client(spec))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


def runner() -> Any:
    try:
        import uvloop

        return uvloop.run
    except ImportError:
        return asyncio.run


if __name__ == "__main__":
    raise SystemExit(run_client_main(sys.argv[1]))
