"""The first-level answer cache and the single-flight gate in front of it.

Both live on the server's event loop, so neither needs a lock: the loop runs
one callback at a time. Each agent has its own `TTLCache` because lifetimes
differ per agent (a lead's score may stand longer than advice on a rate that
moves every minute); all of them read the same timer so tests can move time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from cachetools import TTLCache

T = TypeVar("T")

Timer = Callable[[], float]


class AnswerCache:
    """Answers by (agent, input hash), forgotten after the agent's TTL.

    A stand-in answer (the built-in advisor covering for a model that failed)
    is kept only `stand_in_ttl` seconds: long enough to spare a struggling API
    a burst of retries, short enough that the model gets its turn again soon.
    """

    def __init__(
        self,
        ttls: Mapping[str, float],
        *,
        maxsize: int = 10_000,
        timer: Timer = time.monotonic,
        stand_in_ttl: float = 60.0,
    ) -> None:
        self._caches: dict[str, TTLCache[str, Any]] = {
            agent: TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
            for agent, ttl in ttls.items()
            if ttl > 0
        }
        self._stand_ins: dict[str, TTLCache[str, Any]] = {
            agent: TTLCache(maxsize=maxsize, ttl=min(ttl, stand_in_ttl), timer=timer)
            for agent, ttl in ttls.items()
            if ttl > 0
        }

    def ttl(self, agent: str) -> float:
        cache = self._caches.get(agent)
        return cache.ttl if cache is not None else 0.0

    def get(self, agent: str, key: str) -> Any | None:
        for caches in (self._caches, self._stand_ins):
            cache = caches.get(agent)
            if cache is not None and (found := cache.get(key)) is not None:
                return found
        return None

    def put(self, agent: str, key: str, value: Any, *, stand_in: bool = False) -> None:
        cache = (self._stand_ins if stand_in else self._caches).get(agent)
        if cache is not None:
            cache[key] = value

    def clear(self) -> None:
        for cache in (*self._caches.values(), *self._stand_ins.values()):
            cache.clear()

    def __len__(self) -> int:
        return sum(len(c) for c in (*self._caches.values(), *self._stand_ins.values()))


class SingleFlight(Generic[T]):
    """Concurrent callers with the same key share one execution.

    The work runs in its own task, so a caller that gives up (a client that
    disconnects) does not cancel the answer the others are waiting for.
    """

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Task[T]] = {}

    async def do(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Run `work` once per key at a time; return (result, shared) where
        `shared` says this caller waited for someone else's execution."""
        task = self._flights.get(key)
        shared = task is not None
        if task is None:
            task = asyncio.ensure_future(work())
            self._flights[key] = task
            task.add_done_callback(lambda done: self._land(key, done))
        return await asyncio.shield(task), shared

    def _land(self, key: str, done: asyncio.Task[T]) -> None:
        if self._flights.get(key) is done:
            del self._flights[key]
        if not done.cancelled():
            done.exception()  # retrieved here, so an abandoned failure is not logged as lost
