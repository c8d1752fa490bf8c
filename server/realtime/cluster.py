"""Many nodes on one PostgreSQL: the bus between them and the rates leader.

Every node runs the same way; with one node it is simply always the leader.

- The lead of "rates" is an advisory lock (actors.runtime.leadership): only
  the leader's fetchers poll and store.
- Whatever a node appends to a channel's history it announces on the bus
  (PostgreSQL NOTIFY, sent as its transaction commits). Every node LISTENs:
  rate announcements make its book read what was stored (RateFollower) and
  broadcast it; private-channel announcements go to its hub (`on_remote`).
  Offsets come from the shared history, so a client may reconnect to any
  node and resume with `since`.
- A lost LISTEN connection is reopened, and the node then reads whatever it
  may have missed, as announcements are not kept.

`cluster_service` is a start-up service after the rate book and the hub,
before the actors, so the fetchers find `deps["leadership"]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import Gauge

from actors.rates import RatesConfig
from actors.rates.follower import RateFollower
from actors.runtime.leadership import Leadership
from protocols import bus
from protocols.rate_sources.records import RATE_CHANNELS
from server import keys
from server.keys import HUB, RATE_BOOK
from storage.channels import BUS
from storage.leases import LEASE_TIMEOUT, RATES_LEASE, AdvisoryLease
from storage.notifications import listen

log = logging.getLogger("rateline.cluster")

LISTENING = Gauge(
    "rateline_bus_listening", "1 while this node hears the other nodes' announcements, else 0."
)


class BusListener:
    """Hears the other nodes' announcements and hands each to what follows it."""

    def __init__(
        self,
        dsn: str,
        node: str,
        *,
        on_rates: Callable[[], None],
        on_channel: Callable[[str, int], Awaitable[None]],
        on_reconnect: Callable[[], Awaitable[None]],
        retry_every: float,
    ) -> None:
        self.dsn = dsn
        self.node = node
        self.on_rates = on_rates
        self.on_channel = on_channel
        self.on_reconnect = on_reconnect
        self.retry_every = retry_every
        self._conn: asyncpg.Connection | None = None
        self._closing = False
        self._keeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        try:
            await self._listen()
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            log.warning("could not LISTEN to the other nodes yet: %r", exc)
            self._lost()

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _listen(self) -> None:
        self._conn = await listen(self.dsn, BUS, self._heard, self._lost)
        LISTENING.set(1)

    def _heard(self, payload: str) -> None:
        news = bus.decode(payload)
        if news is None or news.node == self.node:
            return
        if any(channel in RATE_CHANNELS for channel in news.heads):
            self.on_rates()
        for channel, offset in news.heads.items():
            if channel not in RATE_CHANNELS:
                self._spawn(self.on_channel(channel, offset))

    def _lost(self) -> None:
        LISTENING.set(0)
        if self._closing or (self._keeper is not None and not self._keeper.done()):
            return
        log.warning("lost the LISTEN connection to the other nodes; reopening it")
        self._keeper = asyncio.get_running_loop().create_task(self._reopen())

    async def _reopen(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.retry_every)
            try:
                await self._listen()
            except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
                log.warning("could not reopen the LISTEN connection: %r", exc)
                continue
            log.info("listening to the other nodes again")
            self.on_rates()
            try:
                await self.on_reconnect()
            except (asyncpg.PostgresError, OSError, TimeoutError):
                log.exception("could not catch up the private channels")
            if self.listening:
                return  # else it was lost again meanwhile, unheard by `_lost`

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a bus announcement failed", exc_info=task.exception())

    async def close(self) -> None:
        self._closing = True
        for task in [self._keeper, *self._tasks]:
            if task is not None:
                task.cancel()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)


LEADERSHIP: web.AppKey[Leadership] = web.AppKey("leadership", Leadership)
BUS_LISTENER: web.AppKey[BusListener] = web.AppKey("bus_listener", BusListener)


async def cluster_service(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.CONFIG]
    db = app[keys.DB]
    deps: dict[str, Any] = app[keys.DEPS]
    hub = app[HUB]
    follower = RateFollower(db.pool, RatesConfig.from_settings(settings), app[RATE_BOOK])
    every = settings.leader_check_seconds
    listener = BusListener(
        db.dsn,
        deps["node"],
        on_rates=follower.poke,
        on_channel=hub.private.on_remote,
        on_reconnect=hub.private.refresh,
        retry_every=every,
    )
    # A leader cut off from the database steps down within `every` plus the
    # lease's timeout; only after that does the database free its lock.
    lease = AdvisoryLease(db.dsn, RATES_LEASE, silence=2 * every + LEASE_TIMEOUT)
    leadership = Leadership("rates", lease, check_every=every, on_gain=follower.catch_up)
    await listener.start()
    await follower.catch_up()  # what was stored between loading the book and listening
    await leadership.start()
    deps["leadership"] = leadership
    app[LEADERSHIP], app[BUS_LISTENER] = leadership, listener

    async def readiness() -> list[keys.Readiness]:
        if listener.listening:
            return []
        detail = "not hearing the other nodes; reconnecting"
        return [keys.Readiness("bus", False, detail, critical=False)]

    app[keys.READINESS_CHECKS].append(readiness)
    try:
        yield
    finally:
        await leadership.stop()
        await listener.close()
        await follower.close()
