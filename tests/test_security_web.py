"""What a browser is told and what it may do: security headers on every
response, and unsafe requests riding the session cookie from another site."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp.test_utils import TestClient

from actors.accounts.hashing import Argon2Params, PasswordHasher
from ops.config import Settings
from storage import accounts as account_store
from storage.database import Database
from tests.support.accounts import PASSWORD, bearer, build_app, make_accounts, signed_in

EVIL = "https://evil.example"


async def _client(settings: Settings, aiohttp_client: Any) -> TestClient:
    client: TestClient = await aiohttp_client(build_app(settings, make_accounts(settings), None))
    return client


async def test_every_response_carries_the_security_headers(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    client = await _client(settings, aiohttp_client)
    for path in ("/healthz", "/api/no-such-thing"):
        response = await client.get(path)
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Server"] == "Rateline", "no framework or version"
        assert "Strict-Transport-Security" not in headers, "HSTS only on https"
        assert "no-store" not in headers.get("Cache-Control", "")

    _, token = await signed_in(db, "ada@example.com")
    me = await client.get("/api/auth/me", headers=bearer(token))
    assert me.status == 200 and me.headers["Cache-Control"] == "no-store"


async def test_on_https_the_cookie_is_host_locked_and_hsts_is_sent(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:

    https = settings.replace(public_url="https://rates.example.com")
    client = await _client(https, aiohttp_client)
    hashed = PasswordHasher(Argon2Params(time_cost=1, memory_kib=8, parallelism=1)).hash(PASSWORD)
    await account_store.create_user(
        db.pool, email="ada@example.com", name="Ada", password_hash=hashed, verified=True
    )
    signed = await client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert signed.status == 200
    assert signed.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith("__Host-rateline_session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    token = (await signed.json())["token"]
    by_cookie = await client.get(
        "/api/auth/me", headers={"Cookie": f"__Host-rateline_session={token}"}
    )
    assert by_cookie.status == 200


async def test_a_cross_site_request_riding_the_cookie_is_refused(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    client = await _client(settings, aiohttp_client)
    _, token = await signed_in(db, "ada@example.com")
    cookie = {"Cookie": f"rateline_session={token}"}

    for forged in (
        {"Origin": EVIL},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        refused = await client.post("/api/auth/logout", headers={**cookie, **forged})
        assert refused.status == 403, forged
        assert (await refused.json())["title"] == "Cross-site request refused"
    assert (await client.get("/api/auth/me", headers=cookie)).status == 200, "still signed in"

    # A bearer token is never attached by the browser on its own: no check.
    elsewhere = await client.delete(
        f"/api/auth/sessions/{uuid.uuid4()}", headers={**bearer(token), "Origin": EVIL}
    )
    assert elsewhere.status == 404, "reached the handler"

    own = str(client.make_url("")).rstrip("/")
    for same in ({"Origin": own}, {"Sec-Fetch-Site": "same-origin"}, {}):
        _, fresh = await signed_in(db, f"x{len(same)}{len(str(same))}@example.com")
        ok = await client.post(
            "/api/auth/logout", headers={"Cookie": f"rateline_session={fresh}", **same}
        )
        assert ok.status == 200, same


async def test_the_allowed_origins_may_send_the_cookie_and_others_may_not(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    app_origin = "https://app.example.com"
    client = await _client(settings.replace(allowed_origins=app_origin), aiohttp_client)
    for origin, expected in ((app_origin, 200), ("https://app.example.com.evil.test", 403)):
        _, token = await signed_in(db, f"{expected}@example.com")
        response = await client.post(
            "/api/auth/logout",
            headers={
                "Cookie": f"rateline_session={token}",
                "Origin": origin,
                "Sec-Fetch-Site": "cross-site",
            },
        )
        assert response.status == expected, origin
