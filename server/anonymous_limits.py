"""How much an anonymous caller may ask of the expensive routes.

A mortgage calculation or an agent's answer costs CPU and, with a model
configured, model tokens from the platform's daily budget. Signed-in users
are held to their own token budget by the agent manager; anonymous callers
have no account to charge, so each client IP gets a per-minute rate (a
token bucket: short bursts pass, a steady flood waits) and a daily allowance.

The counts live in this node's memory (a bounded cache), so with several
nodes behind a balancer a client gets each node's allowance; that bounds
the spend by the node count, which is what matters here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from cachetools import TTLCache

from protocols.problems import Problem
from server import keys
from server.auth import client_ip, current_user

DEPS_KEY = "anonymous_limiter"
MAX_CLIENTS = 100_000


@dataclass
class _Allowance:
    tokens: float
    refilled_at: float
    day: str
    used_today: int = 0


class AnonymousLimiter:
    def __init__(
        self,
        per_minute: int,
        per_day: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], str] = lambda: datetime.now(UTC).date().isoformat(),
    ) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self._clock = clock
        self._today = today
        self._clients: TTLCache[str, _Allowance] = TTLCache(MAX_CLIENTS, ttl=86_400)

    def take(self, client: str) -> tuple[float, str] | None:
        """Spend one request; or (seconds to wait, why) when the client must wait."""
        now, today = self._clock(), self._today()
        allowance = self._clients.get(client)
        if allowance is None or allowance.day != today:
            allowance = _Allowance(tokens=float(self.per_minute), refilled_at=now, day=today)
            self._clients[client] = allowance
        if self.per_day and allowance.used_today >= self.per_day:
            return _seconds_to_midnight(), "the daily allowance for anonymous requests is spent"
        if self.per_minute:
            rate = self.per_minute / 60.0
            allowance.tokens = min(
                float(self.per_minute), allowance.tokens + (now - allowance.refilled_at) * rate
            )
            allowance.refilled_at = now
            if allowance.tokens < 1:
                return (1 - allowance.tokens) / rate, "too many requests in the last minute"
            allowance.tokens -= 1
        allowance.used_today += 1
        return None


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    return 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)


def limiter_of(app: web.Application) -> AnonymousLimiter:
    deps = app[keys.DEPS]
    limiter = deps.get(DEPS_KEY)
    if limiter is None:
        settings = app[keys.CONFIG]
        limiter = AnonymousLimiter(
            settings.anon_requests_per_minute, settings.anon_requests_per_day
        )
        deps[DEPS_KEY] = limiter
    return limiter


async def limit_anonymous(request: web.Request) -> None:
    """Raise 429 when an anonymous caller has asked too much; signed-in callers pass."""
    if await current_user(request) is not None:
        return
    refused = limiter_of(request.app).take(client_ip(request) or "unknown")
    if refused is not None:
        wait, why = refused
        seconds = max(1, int(wait + 0.999))
        raise Problem(
            429,
            "Too many requests",
            f"{why}; try again in {seconds} seconds, or sign in for a larger allowance",
            headers={"Retry-After": str(seconds)},
        )
