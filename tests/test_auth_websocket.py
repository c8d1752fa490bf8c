"""Signed-in WebSockets: auth frame or cookie (from the platform's own
origins only), private channels, the socket closed with 4001 when its
session ends, and channels taken away when the user's role changes."""

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
from server.realtime.origins import allowed_origins, cookie_may_sign_in, origin_of
from storage.database import Database
from tests.support.accounts import PASSWORD, bearer, build_app, login, make_accounts

WS_PATH = "/test/ws"
HUBS: web.AppKey[list[Hub]] = web.AppKey("test_hubs")
APP_ORIGIN = "https://app.example.com"


@pytest.fixture
async def http(db: Database, settings: Settings, aiohttp_client: Any) -> TestClient:
    """The app with a hub of its own on WS_PATH, sessions checked every 0.2 s."""
    settings = settings.replace(allowed_origins=APP_ORIGIN)
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
    people = (
        ("ada@example.com", "consumer"),
        ("bob@example.com", "broker"),
        ("root@example.com", "admin"),
    )
    for email, role in people:
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


@pytest.mark.parametrize(
    ("origin", "signed_in"),
    [
        (None, True),  # not a browser page: nothing to hijack
        ("http://127.0.0.1:8080", True),  # RATELINE_PUBLIC_URL
        (APP_ORIGIN, True),  # RATELINE_ALLOWED_ORIGINS
        ("https://APP.example.com:443", True),
        ("https://evil.example", False),
        ("https://app.example.com.evil.example", False),
        ("http://app.example.com", False),  # another scheme is another origin
        ("null", False),
    ],
)
async def test_the_cookie_signs_a_socket_in_only_from_the_platforms_origins(
    http: TestClient, origin: str | None, signed_in: bool
) -> None:
    token, bob = await sign_in(http, "bob@example.com")
    headers = {"Cookie": f"rateline_session={token}"}
    if origin is not None:
        headers["Origin"] = origin
    async with http.ws_connect(WS_PATH, headers=headers) as ws:
        answer = await subscribe(ws, f"broker:{bob}")
        assert answer["op"] == ("subscribed" if signed_in else "error"), answer
        if not signed_in:
            assert answer["code"] == "forbidden"
            # the page's own token, if it has one, still works
            await ws.send_json({"op": "auth", "token": token})
            assert await frame(ws) == {"op": "authenticated"}
            assert (await subscribe(ws, f"broker:{bob}"))["op"] == "subscribed"


def test_origins_are_compared_as_origins() -> None:
    allowed = allowed_origins("https://rates.example.com/app/", "http://localhost:5173, ")
    assert allowed == {"https://rates.example.com", "http://localhost:5173"}
    assert origin_of("HTTPS://Rates.Example.com:443") == "https://rates.example.com"
    assert cookie_may_sign_in("http://localhost:5173", allowed)
    assert not cookie_may_sign_in("http://localhost:5174", allowed)
    with pytest.raises(ValueError, match="RATELINE_ALLOWED_ORIGINS"):
        allowed_origins("https://rates.example.com", "rates.example.com")


async def change_role(http: TestClient, user_id: str, role: str) -> None:
    admin, _ = await sign_in(http, "root@example.com")
    url = f"/api/auth/users/{user_id}/role"
    response = await http.put(url, json={"role": role}, headers=bearer(admin))
    assert response.status == 200, await response.text()


async def closed_as_session_ended(ws: Any) -> None:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert (message.type, message.data) == (WSMsgType.CLOSE, 4001), message


async def test_a_demoted_broker_loses_the_broker_channel(http: TestClient) -> None:
    token, bob = await sign_in(http, "bob@example.com")
    async with http.ws_connect(WS_PATH) as ws:
        await ws.send_json({"op": "auth", "token": token})
        assert await frame(ws) == {"op": "authenticated"}
        assert (await subscribe(ws, f"broker:{bob}"))["op"] == "subscribed"
        await change_role(http, bob, "consumer")
        await closed_as_session_ended(ws)  # a role change ends the user's sessions
    token, _ = await sign_in(http, "bob@example.com")
    async with http.ws_connect(WS_PATH) as ws:
        await ws.send_json({"op": "auth", "token": token})
        assert await frame(ws) == {"op": "authenticated"}
        assert (await subscribe(ws, f"broker:{bob}"))["code"] == "forbidden"
        assert (await subscribe(ws, f"user:{bob}"))["op"] == "subscribed"


async def test_a_promoted_consumer_signs_in_again_and_opens_the_broker_channel(
    http: TestClient,
) -> None:
    token, ada = await sign_in(http, "ada@example.com")
    async with http.ws_connect(WS_PATH) as ws:
        await ws.send_json({"op": "auth", "token": token})
        assert await frame(ws) == {"op": "authenticated"}
        assert (await subscribe(ws, f"broker:{ada}"))["code"] == "forbidden"
        await change_role(http, ada, "broker")
        await closed_as_session_ended(ws)
    token, _ = await sign_in(http, "ada@example.com")
    async with http.ws_connect(WS_PATH) as ws:
        await ws.send_json({"op": "auth", "token": token})
        assert await frame(ws) == {"op": "authenticated"}
        assert (await subscribe(ws, f"broker:{ada}"))["op"] == "subscribed"
