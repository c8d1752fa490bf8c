"""GET /ws: live rates (and, later, private channels) over one WebSocket.

`hub_service` is a start-up service that must run after `rate_book_service`:
it builds the hub on the rate book, so the hub exists before the fetchers
publish anything, and puts it where actors (deps["ws_hub"]) and handlers
(app[HUB]) find it. Open sockets are closed with 1001 at shutdown, before
aiohttp waits for handlers to finish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server import keys
from server.hub import Hub
from server.routes.rates import RATE_BOOK
from server.routing import ApiRoutes
from server.ws_conn import GOING_AWAY, HubConfig
from server.ws_log import PgChannelLog
from server.ws_session import serve

routes = ApiRoutes(tag="realtime")

HUB: web.AppKey[Hub] = web.AppKey("ws_hub", Hub)


@routes.get("/ws", summary="WebSocket: subscribe to live rates (see protocols/frames.py)")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    return await serve(request.app[HUB], request)


async def hub_service(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.CONFIG]
    config = HubConfig.from_settings(settings)
    log_store = PgChannelLog(app[keys.DB].pool, config.history, app[keys.DEPS]["node"])
    hub = Hub(log_store, config)
    hub.attach(app[RATE_BOOK])
    hub.start()
    app[HUB] = hub
    app[keys.DEPS]["ws_hub"] = hub

    async def say_goodbye(app: web.Application) -> None:
        for conn in list(hub.connections):
            hub.close_connection(conn, GOING_AWAY, "server shutting down")

    app.on_shutdown.append(say_goodbye)
    try:
        yield
    finally:
        await hub.close()
