"""The hub's start-up service.

`hub_service` must run after the rate book's service: it builds the hub on
the rate book, so the hub exists before the fetchers publish anything, and
puts it where actors (deps["ws_hub"]) and handlers (app[keys.HUB]) find it.
Open sockets are closed with 1001 at shutdown, before aiohttp waits for
handlers to finish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server import keys
from server.realtime.channel_log import PgChannelLog
from server.realtime.connection import GOING_AWAY, HubConfig
from server.realtime.hub import Hub


async def hub_service(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.CONFIG]
    config = HubConfig.from_settings(settings)
    log_store = PgChannelLog(app[keys.DB].pool, config.history, app[keys.DEPS]["node"])
    hub = Hub(log_store, config)
    hub.attach(app[keys.RATE_BOOK])
    hub.start()
    app[keys.HUB] = hub
    app[keys.DEPS]["ws_hub"] = hub

    async def say_goodbye(app: web.Application) -> None:
        for conn in list(hub.connections):
            hub.close_connection(conn, GOING_AWAY, "server shutting down")

    app.on_shutdown.append(say_goodbye)
    try:
        yield
    finally:
        await hub.close()
