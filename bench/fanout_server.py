"""The servers `bench.fanout` compares, each in its own process.

  rateline  the real hub (server.realtime.hub + server.realtime.conversation) on /ws; a bench-only
            trigger feeds it synthetic rate commits exactly as the rate book
            would, with an in-memory channel history instead of PostgreSQL
  rateline+busy  the same beside a thread as busy as an actor under load
  naive     a minimal aiohttp server: `await ws.send_str(msg)` to each client,
            on asyncio's own event loop, as `web.run_app` runs it
  naive+uvloop  the same on uvloop, the loop Rateline runs on
  floor     a minimal aiohttp server writing one pre-built frame to every
            connection's transport: the least a broadcast can cost

All three answer the same control API on the same port:
  GET  /bench/stats  -> cpu seconds, rss bytes, connections, hub counters
  POST /bench/run    {"updates": n, "rate": r} -> publish n updates at r per
                      second (r = 0: as fast as the server can), then reply
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import resource
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import msgspec
import orjson
import psutil
from aiohttp import web
from prometheus_client import REGISTRY

from actors.calculation.amortization import amortize
from protocols.channels import ChannelHead, ChannelUpdate, RateCommit, RateSnapshot
from protocols.frames import rates_data, update_frame
from protocols.rate_sources.records import PRODUCTS, RateRecord, channel_of
from server.realtime import wire
from server.realtime.connection import HubConfig
from server.realtime.conversation import serve
from server.realtime.hub import Hub

EPOCH = "bench"


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def record(product: str, n: int) -> RateRecord:
    """A quote stamped with the publish time: clients measure latency from it."""
    return RateRecord(
        product=product,  # type: ignore[arg-type]
        rate=Decimal("6.000") + Decimal(n % 500) / 1000,
        points=Decimal("0.700"),
        apr=Decimal("6.100") + Decimal(n % 500) / 1000,
        as_of=datetime.now(UTC),
        source="simulated",
    )


class MemoryLog:
    """Channel history kept in the process: the bench measures fan-out, not SQL."""

    def __init__(self) -> None:
        self.updates: dict[str, list[tuple[int, bytes]]] = {}

    async def head(self, channel: str) -> ChannelHead:
        kept = self.updates.get(channel)
        return ChannelHead(EPOCH, kept[-1][0] if kept else 0)

    async def append(self, channel: str, data: bytes) -> ChannelHead:
        offset = self.keep(channel, data)
        return ChannelHead(EPOCH, offset)

    def keep(self, channel: str, data: bytes, offset: int | None = None) -> int:
        """Store one update, keeping the newest 1000 per channel as PostgreSQL
        would. A copy: orjson's output holds on to its whole first buffer
        (4 KiB), which the soak would count as the server's growth."""
        kept = self.updates.setdefault(channel, [])
        if offset is None:
            offset = kept[-1][0] + 1 if kept else 1
        kept.append((offset, bytes(memoryview(data))))
        del kept[:-1000]
        return offset

    async def read(self, channel: str, after: int, upto: int) -> list[tuple[int, bytes]]:
        return [(o, d) for o, d in self.updates.get(channel, []) if after < o <= upto]


class Publisher:
    """Base: what differs between the contenders is `broadcast`."""

    def __init__(self) -> None:
        self.count = 0

    def connections(self) -> int:
        raise NotImplementedError

    async def broadcast(self, n: int) -> None:
        raise NotImplementedError

    def counters(self) -> dict[str, Any]:
        return {}


class RatelinePublisher(Publisher):
    def __init__(self, config: HubConfig) -> None:
        super().__init__()
        heads = {
            channel: ChannelHead(EPOCH, 0) for channel in ("rates", *map(channel_of, PRODUCTS))
        }
        rates = {p: record(p, 0) for p in PRODUCTS}
        self.snapshot = RateSnapshot(MappingProxyType(rates), MappingProxyType(heads))
        self.log = MemoryLog()
        self.hub = Hub(self.log, config)
        self.hub.on_commit(RateCommit(self.snapshot, (), time.perf_counter()))

    def connections(self) -> int:
        return len(self.hub.connections)

    async def broadcast(self, n: int) -> None:
        """What the rate book hands the hub after a fetcher stored a change."""
        seen = time.perf_counter()
        product = PRODUCTS[n % len(PRODUCTS)]
        quote = record(product, n)
        heads = dict(self.snapshot.heads)
        updates = []
        for channel in ("rates", channel_of(product)):
            data = rates_data([quote])
            offset = heads[channel].offset + 1
            heads[channel] = ChannelHead(EPOCH, offset)
            self.log.keep(channel, data, offset)
            updates.append(ChannelUpdate(channel, offset, (quote,), data))
        rates = dict(self.snapshot.rates)
        rates[product] = quote
        self.snapshot = RateSnapshot(MappingProxyType(rates), MappingProxyType(heads))
        self.hub.on_commit(RateCommit(self.snapshot, tuple(updates), seen))

    def counters(self) -> dict[str, Any]:
        return {
            "conflated": REGISTRY.get_sample_value("rateline_ws_conflated_updates_total"),
            "slow_disconnects": REGISTRY.get_sample_value(
                "rateline_ws_slow_consumer_disconnects_total"
            ),
        }


class BusyActor:
    """A thread that holds the GIL whenever it can, as the calculation actor
    does under load: it amortizes loans back to back. The loop then gets the
    GIL back only at each switch interval after it gave it up."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="busy-actor", daemon=True)

    def run(self) -> None:
        while not self.stopped.is_set():
            amortize(Decimal("400000"), Decimal("6.500"), 360)
            self.cpu = time.thread_time()


def payload(n: int) -> bytes:
    """The same bytes Rateline sends for one update, so frame sizes match."""
    quote = record(PRODUCTS[n % len(PRODUCTS)], n)
    return update_frame("rates", n + 1, orjson.dumps({"rates": [msgspec.to_builtins(quote)]}))


class PlainServer(Publisher):
    def __init__(self) -> None:
        super().__init__()
        self.sockets: list[web.WebSocketResponse] = []

    def connections(self) -> int:
        return len(self.sockets)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        self.sockets.append(ws)
        try:
            async for _ in ws:
                pass
        finally:
            self.sockets.remove(ws)
        return ws


class NaivePublisher(PlainServer):
    async def broadcast(self, n: int) -> None:
        message = payload(n).decode()
        for ws in list(self.sockets):
            with contextlib.suppress(ConnectionError):
                await ws.send_str(message)


class FloorPublisher(PlainServer):
    async def broadcast(self, n: int) -> None:
        framed = wire.text(payload(n))
        for ws in self.sockets:
            transport = ws._writer.transport  # type: ignore[union-attr]
            if not transport.is_closing():
                transport.write(framed)


def build(kind: str, config: HubConfig) -> tuple[web.Application, Publisher]:
    app = web.Application()
    publisher: Publisher
    busy = BusyActor() if kind == "rateline+busy" else None
    if kind.startswith("rateline"):
        rateline = RatelinePublisher(config)
        publisher = rateline

        async def ws_handler(request: web.Request) -> web.StreamResponse:
            return await serve(rateline.hub, request)

        async def hub_lifecycle(app: web.Application) -> Any:
            rateline.hub.start()
            if busy:
                busy.thread.start()
            yield
            if busy:
                busy.stopped.set()
            await rateline.hub.close()

        app.router.add_get("/ws", ws_handler)
        app.cleanup_ctx.append(hub_lifecycle)
    else:
        plain = NaivePublisher() if kind.startswith("naive") else FloorPublisher()
        publisher = plain
        app.router.add_get("/ws", plain.handle)

    process = psutil.Process()

    def cpu_seconds() -> float:
        return time.process_time() - (busy.cpu if busy else 0.0)

    # "longest": the longest single collection since the last stats call. A
    # full collection over thousands of connections' objects stops the loop
    # for a fifth of a second, which alone sets a window's p99.
    collecting = {"since": 0.0, "cpu": 0.0, "runs": 0, "full_runs": 0, "longest": 0.0}

    def timed_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collecting["since"] = time.thread_time()
            return
        spent = time.thread_time() - collecting["since"]
        collecting["cpu"] += spent
        collecting["runs"] += 1
        collecting["full_runs"] += info["generation"] == 2
        collecting["longest"] = max(collecting["longest"], spent)

    gc.callbacks.append(timed_gc)

    async def stats(request: web.Request) -> web.Response:
        if "collect" in request.query:  # before a memory reading, outside any phase
            gc.collect()
        longest, collecting["longest"] = collecting["longest"], 0.0
        switches = process.num_ctx_switches()
        return web.json_response(
            {
                "cpu": cpu_seconds(),
                "gc_cpu": collecting["cpu"],
                "gc_runs": collecting["runs"],
                "gc_full_runs": collecting["full_runs"],
                "gc_longest_ms": 1000 * longest,
                "rss": process.memory_info().rss,
                # [voluntary, involuntary]: a process made to give up its CPU mid-broadcast
                "switches": [switches.voluntary, switches.involuntary],
                "connections": publisher.connections(),
                "fds": process.num_fds(),
                "tasks": len(asyncio.all_tasks()),
                **publisher.counters(),
            }
        )

    async def run(request: web.Request) -> web.Response:
        spec = await request.json()
        updates, rate = int(spec["updates"]), float(spec["rate"])
        started = time.time()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        walls: list[float] = []
        cpus: list[float] = []
        for i in range(updates):
            if rate > 0:
                delay = t0 + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            began, cpu = time.perf_counter(), cpu_seconds()
            await publisher.broadcast(publisher.count)
            walls.append(time.perf_counter() - began)
            cpus.append(cpu_seconds() - cpu)
            publisher.count += 1
            if rate <= 0:
                await asyncio.sleep(0)
        return web.json_response(
            {"started": started, "finished": time.time(), "walls": walls, "cpus": cpus}
        )

    app.router.add_get("/bench/stats", stats)
    app.router.add_post("/bench/run", run)
    return app, publisher


def pin(cpus: set[int] | None) -> None:
    """Keep the server and the clients off each other's CPU when there are two or more."""
    if cpus:
        os.sched_setaffinity(0, cpus)


def main(kind: str, hub_config: dict[str, Any], pipe: Any, cpus: set[int] | None = None) -> None:
    """Process entry: serve on a free loopback port, report it through `pipe`."""
    raise_fd_limit()
    pin(cpus)
    if kind != "naive":  # the naive server runs as `web.run_app` would: on asyncio's loop
        import uvloop

        uvloop.install()

    async def serve_forever() -> None:
        app, _ = build(kind, HubConfig(**hub_config))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=8192)
        await site.start()
        port = runner.addresses[0][1]
        pipe.send(port)
        await asyncio.to_thread(pipe.recv)  # any message means stop
        await runner.cleanup()

    asyncio.run(serve_forever())
