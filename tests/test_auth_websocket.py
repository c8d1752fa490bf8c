"""Signed-in WebSockets: auth frame or cookie, private channels, and the
socket closed with 4001 when its session ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from ops.config import Settings
from server import keys
from server.admin_cli import create_admin
from server.realtime.accounts import SESSION_ENDED, WsAuth, WsIdentity, may_subscribe
from server.realtime.channel_log import PgChannelLog
from server.realtime.connection import HubConfig
from server.realtime.conversation import serve
from server.realtime.hub import Hub
from storage.database import Database
from tests.test_auth_flow import PASSWORD, bearer, build_app, login, make_accounts

WS_PATH = "/test/ws"
HUBS: web.AppKey[list[Hub]] = web.AppKey("test_hubs")


@pytest.fixture
async def http(db: Database, settings: Settings, aiohttp_client: Any) -> TestClient:
    """The app with a hub of its own on WS_PATH, sessions checked every 0.2 s."""
    accounts = make_accounts(settings)
    app = build_app(settings, accounts, None)
    hubs: list[Hub] = []

    async def hub_with_auth(app: web.Application) -> AsyncIterator[None]:
        hub = Hub(PgChannelLog(app[keys.DB].pool, 100), HubConfig(close_timeout=1.0))
        hub.start()
        auth = WsAuth(app, hub, check_every=0.2)
        auth.install()
        checker = asyncio.create_task(auth.run())
        hubs.append(hub)
        yield
        checker.cancel()
        await hub.close()

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        return await serve(hubs[0], request)

    app.cleanup_ctx.append(hub_with_auth)
    app.router.add_get(WS_PATH, websocket)
    app[HUBS] = hubs
    client = await aiohttp_client(app)
    for email, role in (("ada@example.com", "consumer"), ("bob@example.com", "broker")):
        await create_admin(db.pool, accounts.hasher, email=email, name="X", password=PASSWORD)
        await db.pool.execute("UPDATE users SET role = $1 WHERE email = $2", role, email)
    return client


async def sign_in(http: TestClient, email: str) -> tuple[str, str]:
    body = await (await login(http, email)).json()
    return body["token"], body["user"]["id"]


async def frame(ws: Any) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == WSMsgType.TEXT, message
    data: dict[str, Any] = message.json()
    return data


async def subscribe(ws: Any, channel: str) -> dict[str, Any]:
    await ws.send_json({"op": "subscribe", "channel": channel})
    return await frame(ws)


async def test_an_auth_frame_opens_only_the_users_own_channel(http: TestClient) -> None:
    token, ada = await sign_in(http, "ada@example.com")
    _, bob = await sign_in(http, "bob@example.com")
    async with http.ws_connect(WS_PATH) as ws:
        assert (await subscribe(ws, f"user:{ada}"))["code"] == "forbidden", "anonymous"
        await ws.send_json({"op": "auth", "token": token})
        assert await frame(ws) == {"op": "authenticated"}
        subscribed = await subscribe(ws, f"user:{ada}")
        assert subscribed["op"] == "subscribed" and subscribed["channel"] == f"user:{ada}"
        assert (await subscribe(ws, f"user:{bob}"))["code"] == "forbidden"
        assert (await subscribe(ws, f"broker:{ada}"))["code"] == "forbidden", "not a broker"


async def test_a_bad_token_is_refused(http: TestClient) -> None:
    async with http.ws_connect(WS_PATH) as ws:
        await ws.send_json({"op": "auth", "token": "x" * 43})
        assert (await frame(ws))["code"] == "unauthorized"


async def test_the_session_cookie_signs_the_socket_in_and_brokers_get_their_channel(
    http: TestClient,
) -> None:
    token, bob = await sign_in(http, "bob@example.com")
    hub = http.app[HUBS][0]
    cookie = {"Cookie": f"rateline_session={token}"}
    async with http.ws_connect(WS_PATH, headers=cookie) as ws:
        assert (await subscribe(ws, f"broker:{bob}"))["op"] == "subscribed"
        await hub.publish(f"broker:{bob}", {"lead": "new"})
        update = await frame(ws)
        assert update["op"] == "update" and update["data"] == {"lead": "new"}


async def test_a_socket_closes_with_4001_when_its_session_ends(http: TestClient) -> None:
    token, _ = await sign_in(http, "ada@example.com")
    async with http.ws_connect(WS_PATH) as ws:
        await ws.send_json({"op": "auth", "token": token})
        assert await frame(ws) == {"op": "authenticated"}
        assert (await http.post("/api/auth/logout", headers=bearer(token))).status == 200
        closing = await asyncio.wait_for(ws.receive(), 5)
        assert closing.type == WSMsgType.CLOSE
        assert ws.close_code == SESSION_ENDED


def test_the_channel_rule() -> None:
    import uuid

    me = uuid.uuid4()
    broker = WsIdentity(user_id=me, role="broker", session_id=uuid.uuid4())
    consumer = WsIdentity(user_id=me, role="consumer", session_id=uuid.uuid4())
    assert may_subscribe(broker, f"broker:{me}") and may_subscribe(consumer, f"user:{me}")
    assert not may_subscribe(consumer, f"broker:{me}")
    assert not may_subscribe(broker, f"broker:{uuid.uuid4()}")
    assert not may_subscribe(None, f"user:{me}")
