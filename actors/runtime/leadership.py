"""Single-leader actors on many nodes: which node runs them right now.

Several nodes may share one PostgreSQL; work that must happen once (polling
a rate source, taking a backup) is done by whichever node holds a lease, an
advisory lock (storage.leases). The others keep trying, so when the leader
stops or loses the database, another takes over within `check_every`
seconds. With one node, that node leads from the start.

`leader` is a plain attribute, read by actor threads without locking; the
keeper task on the event loop is its only writer. Two nodes can both
believe they lead for at most `check_every` seconds, after the database
ends the old leader's session and before its next check notices; the
storage those actors write is built to take that (idempotent observations,
offsets taken under a row lock). A leader that falls silent steps down
before the database frees its lock (storage.leases).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import asyncpg
from prometheus_client import Gauge

log = logging.getLogger("rateline.leadership")

LEADER = Gauge(
    "rateline_leader",
    "1 while this node runs the single-leader actors of a role, else 0.",
    ["role"],
)


class Lease(Protocol):
    async def try_acquire(self) -> bool: ...

    async def held(self) -> bool: ...

    async def release(self) -> None: ...


class Leadership:
    def __init__(
        self,
        role: str,
        lease: Lease,
        *,
        check_every: float = 2.0,
        on_gain: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.role = role
        self.lease = lease
        self.check_every = check_every
        self.on_gain = on_gain
        self.leader = False
        self._task: asyncio.Task[None] | None = None
        LEADER.labels(role).set(0)

    async def start(self) -> None:
        """Try once now (a lone node leads before its actors start), then keep checking."""
        await self.check()
        self._task = asyncio.get_running_loop().create_task(self._keep())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._set(False)
        await self.lease.release()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.check_every)
            try:
                await self.check()
            except Exception:
                log.exception("leadership check of %s failed", self.role)

    async def check(self) -> None:
        """Take the lease if it is free; notice if ours was lost."""
        if self.leader:
            if not await self.lease.held():
                log.error("this node lost the lead of %s", self.role)
                self._set(False)
            return
        try:
            taken = await self.lease.try_acquire()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning("could not ask for the lead of %s: %r", self.role, exc)
            return
        if taken:
            if self.on_gain is not None:
                await self.on_gain()
            log.info("this node leads %s", self.role)
            self._set(True)

    def _set(self, leader: bool) -> None:
        self.leader = leader
        LEADER.labels(self.role).set(1 if leader else 0)
