"""Soak: thousands of WebSocket clients held for minutes, memory and handles watched.

    python -m bench.soak [--clients 5000] [--minutes 10] [--rate 1]
                         [--reconnects 1] [--client-procs 2] [--contenders rateline,floor]

Each contender (bench.fanout_server: `rateline` is the real hub and client
conversations, `floor` the least a broadcaster can be) serves `--clients`
clients subscribed to "rates" for `--minutes` at `--rate` updates a second,
while `--reconnects` percent of the clients a minute leave and new ones come
(spread over the minute). Every 10 s the server process's RSS, open file
descriptors, asyncio tasks and connections are sampled; the curve is printed.

A leak shows as growth after warm-up (the first fifth of the run, at least
a minute) that the floor does not show: RSS growth from the end of warm-up
to the end (target <= 5% for Rateline), and descriptors and tasks beyond
the connections (they should stay flat). Results go to bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench import fanout_server
from bench.fanout import Clients, Server

RESULTS = Path(__file__).parent / "results" / "soak.json"
SAMPLE_EVERY = 10.0


async def sample(session: aiohttp.ClientSession, server: Server, started: float) -> dict[str, Any]:
    async with session.get(server.base + "/bench/stats") as response:
        stats = await response.json()
    return {
        "t": round(time.monotonic() - started, 1),
        "rss_mib": stats["rss"] / 2**20,
        "fds": stats["fds"],
        "tasks": stats["tasks"],
        "connections": stats["connections"],
    }


async def soak(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    server = Server(kind, {})
    clients = Clients(args.client_procs)
    plain = not kind.startswith("rateline")
    seconds = args.minutes * 60
    try:
        timeout = aiohttp.ClientTimeout(total=None)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            clients.connect(server.port, args.clients, plain=plain)
            started = time.monotonic()
            curve = [await sample(session, server, started)]
            run = asyncio.create_task(
                session.post(
                    server.base + "/bench/run",
                    json={"updates": int(seconds * args.rate), "rate": args.rate},
                )
            )
            owed, churned, next_sample = 0.0, 0, SAMPLE_EVERY
            per_second = args.clients * args.reconnects / 100 / 60
            while (now := time.monotonic() - started) < seconds:
                await asyncio.sleep(1.0)
                owed += per_second
                leaving = int(owed)
                if leaving:
                    owed -= leaving
                    churned += leaving
                    share, extra = divmod(leaving, len(clients.pipes))
                    for i, pipe in enumerate(clients.pipes):
                        count = share + (i < extra)
                        pipe.send(("churn", "127.0.0.1", server.port, count, plain))
                    for pipe in clients.pipes:
                        pipe.recv()
                if now >= next_sample:
                    curve.append(await sample(session, server, started))
                    next_sample += SAMPLE_EVERY
                    print(f"{kind}: {curve[-1]}", file=sys.stderr, flush=True)
            await (await run).release()
            curve.append(await sample(session, server, started))
            reports = clients.all("report")
    finally:
        clients.stop()
        server.stop()
    warm_until = max(60.0, seconds / 5)
    warm = next(p for p in curve if p["t"] >= min(warm_until, curve[-1]["t"]))
    end = curve[-1]
    return {
        "contender": kind,
        "clients": args.clients,
        "reconnected": churned,
        "updates_received": sum(r["updates"] for r in reports),
        "close_codes": _merged(r["closes"] for r in reports),
        "warm": warm,
        "end": end,
        "rss_growth_pct": 100 * (end["rss_mib"] - warm["rss_mib"]) / warm["rss_mib"],
        "fds_beyond_connections": [p["fds"] - p["connections"] for p in (warm, end)],
        "tasks_beyond_connections": [p["tasks"] - p["connections"] for p in (warm, end)],
        "curve": curve,
    }


def _merged(counts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for one in counts:
        for code, n in one.items():
            out[str(code)] = out.get(str(code), 0) + n
    return out


def report(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        lines.append(f"\n{r['contender']}: {r['clients']} clients, {r['reconnected']} reconnects")
        lines.append("     t s   RSS MiB    fds  tasks  connections")
        for p in r["curve"]:
            lines.append(
                f"{p['t']:>8.0f}  {p['rss_mib']:>8.1f}  {p['fds']:>5}  {p['tasks']:>5}"
                f"  {p['connections']:>11}"
            )
        lines.append(
            f"RSS growth after warm-up (t={r['warm']['t']:.0f} s): {r['rss_growth_pct']:+.2f}%;"
            f" fds beyond connections {r['fds_beyond_connections'][0]} -> "
            f"{r['fds_beyond_connections'][1]}; tasks beyond connections "
            f"{r['tasks_beyond_connections'][0]} -> {r['tasks_beyond_connections'][1]};"
            f" close codes seen by clients {r['close_codes']}"
        )
    by = {r["contender"]: r for r in results}
    if "rateline" in by and "floor" in by:
        mine, base = by["rateline"]["end"], by["floor"]["end"]
        lines.append(
            f"\nrateline vs floor at the end: RSS {mine['rss_mib'] / base['rss_mib']:.2f}x,"
            f" RSS growth {by['rateline']['rss_growth_pct']:+.2f}% vs"
            f" {by['floor']['rss_growth_pct']:+.2f}% (target for rateline: <= 5%)"
        )
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> None:
    fanout_server.raise_fd_limit()
    results = []
    for kind in args.contenders.split(","):
        print(f"soaking {kind}: {args.clients} clients, {args.minutes} min", file=sys.stderr)
        results.append(await soak(kind, args))
    print(report(results))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(
        orjson.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "settings": vars(args),
                "results": results,
            },
            option=orjson.OPT_INDENT_2,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1.0, help="updates per second")
    parser.add_argument(
        "--reconnects", type=float, default=1.0, help="percent of the clients a minute"
    )
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--contenders", default="rateline,floor")
    asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    main()
