"""The application factory: storage, then actors, then HTTP; stopped in reverse."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any

from aiohttp import web

from actors.runtime import ActorSystem, SupervisorSpec
from ops.config import Settings
from ops.metrics import watch_pool
from server import keys
from server.auth import guard
from server.client_address import trusted_networks
from server.middlewares import problems, request_context
from server.realtime.accounts import accounts_service
from server.realtime.cluster import cluster_service
from server.realtime.service import hub_service
from server.routes import (
    agents,
    audit,
    auth,
    backups,
    brokers,
    calculate,
    dev,
    health,
    leads,
    mortgage,
    notifications,
    passwords,
    payments,
    rates,
    roles,
    webapp,
    ws,
)
from server.routes import alerts as alerts_routes
from server.routing import AUTH_GUARD
from server.tree import build_tree
from server.unavailable import database_unavailable
from server.web_security import add_security_headers, cross_site_check
from storage.database import Database

log = logging.getLogger(__name__)

ROUTE_MODULES: tuple[ModuleType, ...] = (
    health,
    auth,
    passwords,
    roles,
    dev,
    mortgage,
    calculate,
    agents,
    rates,
    ws,
    webapp,
    audit,
    payments,
    alerts_routes,
    leads,
    brokers,
    notifications,
    backups,
)

# Cleanup contexts that run after storage and before actors: each builds a
# shared service (the rate book, the WebSocket hub, ...) and puts it into
# app[keys.DEPS], where actors find it through their context.
SERVICES: tuple[Callable[[web.Application], AsyncIterator[None]], ...] = (
    rates.rate_book_service,
    hub_service,
    cluster_service,
    audit.audit_service,
    accounts_service,
)


def create_app(
    settings: Settings,
    *,
    tree: SupervisorSpec | None = None,
    on_fatal: Callable[[str], None] | None = None,
) -> web.Application:
    """Build the application; nothing starts until aiohttp runs its start-up.

    `tree` replaces the production supervision tree (tests use it);
    `on_fatal` is told when the top supervisor gives up.
    """
    trusted_networks(settings.trusted_proxies)  # a bad entry fails here, not per request
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[request_context, problems, cross_site_check],
    )
    app.middlewares.append(database_unavailable)  # innermost: inside `problems`
    app.on_response_prepare.append(add_security_headers)
    app[keys.CONFIG] = settings
    app[keys.READINESS_CHECKS] = []
    app[keys.DEPS] = {"settings": settings, "node": node_name()}
    app[keys.ENDPOINTS] = []
    app[AUTH_GUARD] = guard
    app.cleanup_ctx.append(_storage)
    app.cleanup_ctx.extend(SERVICES)
    app.cleanup_ctx.append(_actors(tree or build_tree(settings), on_fatal))
    for module in ROUTE_MODULES:
        module.routes.install(app)
        app[keys.ENDPOINTS].extend(module.routes.endpoints)
        lifespan = getattr(module, "lifespan", None)
        if lifespan is not None:
            app.cleanup_ctx.append(lifespan)
    return app


def node_name() -> str:
    """Names this process among the nodes sharing one database."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.CONFIG]
    db = await Database.open(
        url=settings.database_url,
        data_dir=settings.data_dir,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        watch_every=settings.db_watchdog_seconds,
    )
    app[keys.DB] = db
    app[keys.DEPS]["db"] = db
    unwatch = watch_pool(db.stats)
    try:
        yield
    finally:
        unwatch()
        await db.close()


def _actors(
    tree: SupervisorSpec, on_fatal: Callable[[str], None] | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def run_actors(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()

        def fatal(reason: str) -> None:
            log.critical("supervision tree gave up", extra={"reason": reason})
            if on_fatal is not None:
                loop.call_soon_threadsafe(on_fatal, reason)

        deps: dict[str, Any] = app[keys.DEPS]
        system = ActorSystem(loop, on_fatal=fatal, deps=deps)
        app[keys.SYSTEM] = system
        await asyncio.to_thread(system.start, tree)
        try:
            yield
        finally:
            await asyncio.to_thread(system.stop, app[keys.CONFIG].shutdown_timeout)

    return run_actors
