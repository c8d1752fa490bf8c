"""WebSocket fan-out: Rateline's hub against a naive and a floor broadcaster.

    python -m bench.fanout [--clients 2000] [--client-procs 2] [--rate 1]
                           [--seconds 30] [--burst 400] [--rounds 3] [--pin]
                           [--contenders naive,floor,...]

Each contender runs in its own server process on 127.0.0.1, with the clients
spread over separate client processes:

  naive          aiohttp, `await ws.send_str(msg)` to each client in turn, on
                 asyncio's own loop as `web.run_app` runs it
  naive+uvloop   the same on uvloop, the loop Rateline runs on
  floor          aiohttp on uvloop, one pre-built frame written to every
                 connection's transport
  rateline       the real hub, fed synthetic rate commits (bench.fanout_server),
                 as configured by default: the event loop writes every broadcast
  rateline+slow  rateline with one extra client on a poor link: subscribed to
                 every rate channel, it reads a few KiB once a second, which
                 keeps up at the fixed rate but not in the burst
  rateline+busy  rateline with one actor thread in the server process kept as
                 busy as the calculation actor under load (amortizing loans
                 back to back); its CPU is left out of the server's figures

Per contender: server CPU per delivered update (the CPU time of the server
process over the updates the clients counted), delivered updates per second
in a burst, delivery latency p50/p99 at a fixed
rate (client receive time minus the publish time stamped in the frame), server
memory per idle subscribed connection (RSS growth over the connections; "after
traffic" also counts grown buffers), and what happened to the
slow reader. Also recorded: the server CPU and wall time of one broadcast
(median), each update's p99 beside its broadcast's length (`updates`, first
round), the clients' own CPU per update, and the server's garbage-collection
time and longest pause; each round's p99 is printed with a mark where a full
collection fell in the window. At the fixed rate the p99 is also given as a
multiple of the least time the machine allows one update to reach every
client (the CPU the server and the clients spend on it, over the CPUs they
share), beside the time the server's writes take. On loopback the kernel does
the receiving side's work in the sender's system call, so the server figures
include it for every contender alike. The fixed-rate phase lasts 5 s longer
than a heartbeat interval by default, so it holds each client's first ping and
pong (due within one interval after it connected) in every round: Rateline's
figure there includes the heartbeat it pays in steady state. The burst may
hold some second pings. The baselines send no pings.

Results are printed and written to bench/results/fanout.json; quote the
ratios, since absolute figures drift with the machine. Contenders take turns
for --rounds rounds and the medians are reported. Each ratio is given twice:
from the medians, and as the median of the rounds' own ratios (with their
range), which compares contenders only with those that ran in the same round.

Targets: CPU per delivered update <= 1.15 x floor and <= 0.7 x naive; p99
<= 45 ms at 1 update/s to 5,000 clients; <= 20 KiB per idle connection;
one slow reader changes none of these.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench import fanout_client, fanout_server
from bench.fanout_report import (
    delivery_bounds,
    median_of,
    p99_by_round,
    paired_ratios,
    ratios,
    table,
)
from server.realtime.connection import HubConfig

RESULTS = Path(__file__).parent / "results" / "fanout.json"
CONTENDERS = (
    "naive",
    "naive+uvloop",
    "floor",
    "rateline",
    "rateline+slow",
    "rateline+busy",
)
# Per-connection bounds small enough for the slow reader to be noticed
# within the run (production: 64 KiB, 32 KiB socket buffer, 10 s).
BENCH_HUB = {
    "send_buffer": 16 * 1024,
    "socket_send_buffer": 8 * 1024,
    "slow_consumer_seconds": 2.0,
    "close_timeout": 60.0,
}


PIN = {"on": False}


def placement() -> tuple[set[int] | None, set[int] | None]:
    """With --pin: server on one CPU, clients on the others."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or not PIN["on"]:
        return None, None
    return {cpus[0]}, set(cpus[1:])


class Clients:
    def __init__(self, procs: int) -> None:
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for _ in range(procs):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=fanout_client.main, args=(theirs, placement()[1]), daemon=True
            )
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)

    def all(self, *command: Any) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def connect(self, port: int, total: int, plain: bool) -> None:
        share, extra = divmod(total, len(self.pipes))
        for i, pipe in enumerate(self.pipes):
            pipe.send(("connect", "127.0.0.1", port, share + (i < extra), plain, False))
        for pipe in self.pipes:
            pipe.recv()

    def connect_slow(self, port: int) -> None:
        self.pipes[0].send(("connect", "127.0.0.1", port, 1, False, True))
        self.pipes[0].recv()

    def stop(self) -> None:
        self.all("stop")
        for proc in self.procs:
            proc.join(5)


class Server:
    def __init__(self, kind: str, hub: dict[str, Any]) -> None:
        ctx = mp.get_context("spawn")
        self.pipe, theirs = ctx.Pipe()
        self.proc = ctx.Process(
            target=fanout_server.main,
            args=(kind, hub, theirs, placement()[0]),
            daemon=True,
        )
        self.proc.start()
        self.port: int = self.pipe.recv()
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.pipe.send("stop")
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


async def stats(
    session: aiohttp.ClientSession, server: Server, collect: bool = False
) -> dict[str, Any]:
    url = server.base + "/bench/stats" + ("?collect" if collect else "")
    async with session.get(url) as response:
        return await response.json()


async def phase(
    session: aiohttp.ClientSession,
    server: Server,
    clients: Clients,
    *,
    updates: int,
    rate: float,
    expected: int,
    latency: bool,
) -> dict[str, Any]:
    """Publish `updates`, wait for the clients to count them, and measure."""
    client_cpu = sum(clients.all("reset", latency))
    before = await stats(session, server)
    async with session.post(
        server.base + "/bench/run", json={"updates": updates, "rate": rate}
    ) as response:
        run = await response.json()
    deadline = time.monotonic() + 10
    while True:
        reports = clients.all("report")
        delivered = sum(r["updates"] for r in reports)
        if delivered >= expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    after = await stats(session, server)
    per_update: dict[float, list[float]] = {}
    for r in reports:
        for sent, seen in r["latencies"].items():
            per_update.setdefault(sent, []).extend(seen)
    latencies = sorted(x for seen in per_update.values() for x in seen)
    update_p99s = sorted(_quantile(sorted(seen), 0.99) for seen in per_update.values())
    last = max(r["last"] for r in reports)
    # in publish order: an update's p99 is about the length of its broadcast
    in_order = [
        {
            "wall_ms": 1000 * wall,
            "cpu_ms": 1000 * cpu,
            "p99_ms": 1000 * _quantile(sorted(seen), 0.99),
        }
        for (_, seen), wall, cpu in zip(
            sorted(per_update.items()), run["walls"], run["cpus"], strict=False
        )
    ]
    return {
        "delivered": delivered,
        "expected": expected,
        "conflated_frames": sum(r["conflated"] for r in reports),
        "cpu_seconds": after["cpu"] - before["cpu"],
        "cpu_us_per_delivered": 1e6 * (after["cpu"] - before["cpu"]) / max(delivered, 1),
        "client_cpu_us_per_delivered": 1e6
        * (sum(r["cpu"] for r in reports) - client_cpu)
        / max(delivered, 1),
        "seconds": last - run["started"],
        "delivered_per_second": delivered / max(last - run["started"], 1e-9),
        "gc_cpu_seconds": after["gc_cpu"] - before["gc_cpu"],
        "gc_runs": after["gc_runs"] - before["gc_runs"],
        "gc_full_runs": after["gc_full_runs"] - before["gc_full_runs"],
        "gc_longest_ms": after["gc_longest_ms"],
        "voluntary_switches_per_update": (after["switches"][0] - before["switches"][0]) / updates,
        "involuntary_switches_per_update": (after["switches"][1] - before["switches"][1]) / updates,
        "broadcast_wall_ms_p50": 1000 * statistics.median(run["walls"]),
        "broadcast_cpu_ms_p50": 1000 * statistics.median(run["cpus"]),
        "p50_ms": 1000 * _quantile(latencies, 0.50) if latencies else None,
        "p99_ms": 1000 * _quantile(latencies, 0.99) if latencies else None,
        # the p99 of the median update, and of the worst: one slow update sets the overall p99
        "update_p99_ms_median": 1000 * statistics.median(update_p99s) if update_p99s else None,
        "update_p99_ms_worst": 1000 * update_p99s[-1] if update_p99s else None,
        "server": after,
        "updates": in_order,
    }


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


async def contend(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    server = Server("rateline" if kind == "rateline+slow" else kind, BENCH_HUB)
    clients = Clients(args.client_procs)
    try:
        async with aiohttp.ClientSession() as session:
            empty = await stats(session, server, collect=True)
            clients.connect(server.port, args.clients, plain=not kind.startswith("rateline"))
            slow = kind == "rateline+slow"
            if slow:
                clients.connect_slow(server.port)
            await asyncio.sleep(1.0)
            idle = await stats(session, server, collect=True)
            n = args.clients
            fixed_updates = max(1, int(args.rate * args.seconds))
            fixed = await phase(
                session,
                server,
                clients,
                updates=fixed_updates,
                rate=args.rate,
                expected=fixed_updates * n,
                latency=True,
            )
            burst = await phase(
                session,
                server,
                clients,
                updates=args.burst,
                rate=0,
                expected=args.burst * n,
                latency=False,
            )
            settled = await stats(session, server, collect=True)
            result: dict[str, Any] = {
                "contender": kind,
                "clients": n,
                "connected": idle["connections"],
                "memory_kib_per_connection": (idle["rss"] - empty["rss"]) / 1024 / n,
                # after traffic: buffers that grew
                "memory_kib_per_connection_after": (settled["rss"] - empty["rss"]) / 1024 / n,
                "fixed": fixed,
                "burst": burst,
            }
            if slow:
                await asyncio.sleep(BENCH_HUB["slow_consumer_seconds"] + 0.5)
                clients.pipes[0].send(("drain", 1.0))
                closes = clients.pipes[0].recv()
                end = await stats(session, server)
                result["slow_reader"] = {
                    "close_codes": {str(code): n for code, n in closes.items()},
                    "conflated_updates": end.get("conflated"),
                    "slow_disconnects": end.get("slow_disconnects"),
                }
            return result
    finally:
        clients.stop()
        server.stop()


async def amain(args: argparse.Namespace) -> None:
    fanout_server.raise_fd_limit()
    kinds = args.contenders.split(",")
    rounds: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for i in range(args.rounds):
        # Contenders take turns, each round starting one further along, so a
        # slow phase of the machine hits them all alike.
        for kind in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:
            print(
                f"round {i + 1}/{args.rounds}: {kind} with {args.clients} clients ...",
                file=sys.stderr,
                flush=True,
            )
            rounds[kind].append(await contend(kind, args))
    results = [median_of(rounds[kind]) for kind in kinds]
    print(f"medians of {args.rounds} round(s); frames of {len(fanout_server.payload(0))} bytes")
    print(table(results))
    found = ratios(results)
    paired = paired_ratios(rounds)
    print("ratio: of the medians | median of each round's own (least-greatest)")
    for name, value in found.items():
        mid, low, high = paired[name]
        print(f"{name}: {value:.2f} | {mid:.2f} ({low:.2f}-{high:.2f})")
    print("\n".join(p99_by_round(rounds)))
    print("\n".join(delivery_bounds(results, len(os.sched_getaffinity(0)), args.pin)))
    for r in results:
        if "slow_reader" in r:
            print(f"slow reader: {r['slow_reader']}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(
        orjson.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "settings": vars(args) | {"hub": BENCH_HUB},
                "results": results,
                "rounds": rounds,
                "ratios": found,
                "paired_ratios": paired,
                "frame_bytes": len(fanout_server.payload(0)),
            },
            option=orjson.OPT_INDENT_2,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1.0, help="updates per second")
    parser.add_argument(
        "--seconds",
        type=float,
        default=HubConfig.heartbeat + 5.0,
        help="fixed-rate phase (default: holds one heartbeat round)",
    )
    parser.add_argument("--burst", type=int, default=400, help="updates in the burst")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--rounds", type=int, default=3, help="report the median of these")
    parser.add_argument(
        "--pin", action="store_true", help="server on the first CPU, clients on the rest"
    )
    args = parser.parse_args()
    PIN["on"] = args.pin
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
