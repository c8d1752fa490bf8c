"""Two nodes on one PostgreSQL: what following costs a client, and how long
the rates stop when the leader dies.

    python -m bench.cluster [--clients 200] [--seconds 20] [--tick 0.2]
                            [--stop-with kill|freeze]

Two `rateline serve` processes share one database (an embedded PostgreSQL
started here, or DATABASE_URL when set), the simulated market ticking every
--tick seconds. The first node leads and fetches; the second follows through
LISTEN/NOTIFY. --clients WebSocket clients on each node subscribe to
`rates`; an update's delivery latency is its receive time minus the
record's `as_of` (the moment the market ticked), so it includes storing the
tick and, on the follower, the NOTIFY and the read of what was stored.

Baseline, in the same run: the leader's own clients. Reported: p50/p99 on
each node, the follower's extra latency and ratio, whether both saw the same
offsets, and then, after the leader is stopped, how long the follower's
clients waited for the first update of a tick after the stop (the lead is
bid for every RATELINE_LEADER_CHECK_SECONDS, default 2; the first tick comes
at once). The leader is stopped with SIGKILL (`kill`: its connections close
at once), or with SIGSTOP (`freeze`: a hung host, whose connections stay
open and look alive to the database); a frozen leader is then let go on
(SIGCONT) to see that it takes up following.

Results are printed and written to bench/results/cluster.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from storage.embedded import EmbeddedPostgres

RESULTS = Path(__file__).parent / "results" / "cluster.json"
# A frozen leader's session ends only once the database has heard nothing
# for twice the check interval plus the check's timeout: 9 s by default.
FAILOVER_WAIT = {"kill": 8.0, "freeze": 20.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_node(url: str, port: int, folder: Path, tick: float) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=url, RATELINE_SIM_INTERVAL=str(tick))
    command = ["serve", "--port", str(port), "--data-dir", str(folder / str(port))]
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def ready(session: aiohttp.ClientSession, port: int, within: float = 60.0) -> list[Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with suppress(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                if response.status == 200:
                    return list((await response.json())["parts"])
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the node on port {port} did not become ready")


class Client:
    """One subscriber: every update's offset, latency and receive time."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float, float]] = []

    async def run(self, session: aiohttp.ClientSession, port: int, started: asyncio.Event) -> None:
        with suppress(aiohttp.ClientError, ConnectionError):
            async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
                await ws.send_str('{"op":"subscribe","channel":"rates"}')
                started.set()
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    now = time.time()
                    frame = orjson.loads(message.data)
                    if frame["op"] == "update":
                        as_of = datetime.fromisoformat(frame["data"]["rates"][0]["as_of"])
                        self.seen.append((frame["offset"], now - as_of.timestamp(), now))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def latencies(clients: list[Client], since: float, until: float) -> list[float]:
    return [lat * 1000 for c in clients for _, lat, at in c.seen if since <= at < until]


async def measure(url: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    ports = [free_port(), free_port()]
    leader = start_node(url, ports[0], folder, args.tick)
    follower: subprocess.Popen[bytes] | None = None
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            await ready(session, ports[0])
            follower = start_node(url, ports[1], folder, args.tick)
            parts = await ready(session, ports[1])
            if not any(p["detail"] == "another node fetches the rates" for p in parts):
                raise RuntimeError("the second node did not follow")
            groups: list[list[Client]] = [[], []]
            tasks = []
            for group, port in zip(groups, ports, strict=True):
                for _ in range(args.clients):
                    client, started = Client(), asyncio.Event()
                    group.append(client)
                    tasks.append(asyncio.create_task(client.run(session, port, started)))
                    await started.wait()
            begin = time.time()
            await asyncio.sleep(args.seconds)
            end = time.time()

            leader.send_signal(signal.SIGSTOP if args.stop_with == "freeze" else signal.SIGKILL)
            killed = time.time()
            if args.stop_with == "kill":
                leader.wait()
            await asyncio.sleep(args.failover_wait or FAILOVER_WAIT[args.stop_with])
            after = [  # the first update of a tick after the kill: the new leader's
                min((at for _, lat, at in c.seen if at - lat > killed), default=float("nan"))
                for c in groups[1]
            ]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            ex_leader_follows = None
            if args.stop_with == "freeze":
                leader.send_signal(signal.SIGCONT)
                ex_leader_follows = await follows(session, ports[0])
        finally:
            for process in (leader, follower):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGCONT)
                    process.send_signal(signal.SIGTERM)
                    process.wait(30)

    lead, follow = (latencies(g, begin, end) for g in groups)
    offsets = [{o for c in g for o, _, at in c.seen if begin <= at < end} for g in groups]
    first_after = [a - killed for a in after if a == a]
    return {
        "leader": {
            "updates": len(lead),
            "p50_ms": percentile(lead, 0.5),
            "p99_ms": percentile(lead, 0.99),
        },
        "follower": {
            "updates": len(follow),
            "p50_ms": percentile(follow, 0.5),
            "p99_ms": percentile(follow, 0.99),
        },
        "same_offsets": offsets[0] == offsets[1],
        "offsets_seen": [len(o) for o in offsets],
        "stop_with": args.stop_with,
        "failover_seconds": {
            "median": statistics.median(first_after) if first_after else None,
            "max": max(first_after) if first_after else None,
            "clients_resumed": len(first_after),
        },
        "ex_leader_follows": ex_leader_follows,
    }


async def follows(session: aiohttp.ClientSession, port: int, within: float = 15.0) -> bool:
    """Whether the node on `port` comes to say that another node fetches the rates."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        parts = await ready(session, port)
        if any(p["detail"] == "another node fetches the rates" for p in parts):
            return True
        await asyncio.sleep(0.2)
    return False


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="rateline-cluster-") as name:
        folder = Path(name)
        os.chmod(folder, 0o755)  # the embedded server may run as its own user
        database = None if url else EmbeddedPostgres(folder / "postgres")
        if database is not None:
            url = database.start()
        try:
            assert url is not None
            return await measure(url, folder, args)
        finally:
            if database is not None:
                database.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="subscribers on each node")
    parser.add_argument("--seconds", type=float, default=20.0, help="steady phase")
    parser.add_argument("--tick", type=float, default=0.2, help="simulated market interval")
    parser.add_argument(
        "--stop-with", choices=sorted(FAILOVER_WAIT), default="kill", help="how the leader stops"
    )
    parser.add_argument(
        "--failover-wait",
        type=float,
        default=None,
        help="seconds to watch after the stop (default: 8 after kill, 20 after freeze)",
    )
    args = parser.parse_args()
    result = asyncio.run(amain(args))
    lead, follow = result["leader"], result["follower"]
    print(f"{args.clients} clients per node, market tick {args.tick} s, {args.seconds:.0f} s")
    print("      node  updates  p50 ms  p99 ms")
    for name, row in (("leader", lead), ("follower", follow)):
        print(f"{name:>10} {row['updates']:>8} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f}")
    print(f"follower extra p50: {follow['p50_ms'] - lead['p50_ms']:.1f} ms")
    print(f"follower_p50_vs_leader: {follow['p50_ms'] / lead['p50_ms']:.2f}")
    print(f"follower_p99_vs_leader: {follow['p99_ms'] / lead['p99_ms']:.2f}")
    print(f"same offsets on both nodes: {result['same_offsets']} {result['offsets_seen']}")
    failover = result["failover_seconds"]
    how = "SIGKILL" if args.stop_with == "kill" else "SIGSTOP (frozen, connections open)"
    if failover["median"] is None:
        print(f"after {how} of the leader: no update reached the follower's clients")
    else:
        print(
            f"after {how} of the leader: next update on the follower after"
            f" {failover['median']:.2f} s (median; max {failover['max']:.2f} s;"
            f" {failover['clients_resumed']} clients)"
        )
    if result["ex_leader_follows"] is not None:
        print(f"the ex-leader, let go on, follows: {result['ex_leader_follows']}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(orjson.dumps({"args": vars(args), **result}, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
