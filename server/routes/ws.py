"""GET /ws: live rates and private channels over one WebSocket.

The conversation itself is server.realtime.conversation; the hub it talks
to is built at start-up by server.realtime.service and found at
app[keys.HUB].
"""

from __future__ import annotations

from aiohttp import web

from server.keys import HUB
from server.realtime.conversation import serve
from server.routing import ApiRoutes

routes = ApiRoutes(tag="realtime")


@routes.get("/ws", summary="WebSocket: subscribe to live rates (see protocols/frames.py)")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    return await serve(request.app[HUB], request)
