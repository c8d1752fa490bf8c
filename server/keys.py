"""Typed keys for what the application object carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ops.config import Settings
from server.routing import Endpoint

if TYPE_CHECKING:
    from actors.rates import RateBook
    from actors.runtime import ActorSystem
    from server.realtime.hub import Hub
    from storage.database import Database

CONFIG = web.AppKey("config", Settings)
DB: web.AppKey[Database] = web.AppKey("db")
SYSTEM: web.AppKey[ActorSystem] = web.AppKey("system")
REQUEST_ID = web.RequestKey("request_id", str)


@dataclass(frozen=True)
class Readiness:
    """One part's answer to "can we serve?"; a non-critical part only informs."""

    part: str
    ok: bool
    detail: str = ""
    critical: bool = True


ReadinessCheck = Callable[[], Awaitable[list[Readiness]]]

READINESS_CHECKS: web.AppKey[list[ReadinessCheck]] = web.AppKey("readiness_checks")
ENDPOINTS: web.AppKey[list[Endpoint]] = web.AppKey("endpoints")
DEPS: web.AppKey[dict[str, Any]] = web.AppKey("deps")
RATE_BOOK: web.AppKey[RateBook] = web.AppKey("rate_book")
HUB: web.AppKey[Hub] = web.AppKey("ws_hub")
