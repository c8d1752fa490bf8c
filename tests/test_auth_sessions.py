"""Sessions, sign-in throttling, password reset and role guards over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from actors.accounts.sessions import SessionPolicy
from actors.accounts.throttle import ThrottleRules
from ops.config import Settings
from server.admin_cli import AdminError, create_admin
from server.auth import accounts_of, require_user
from storage.database import Database
from tests.support.accounts import (
    PASSWORD,
    bearer,
    body_text,
    build_app,
    link_in,
    login,
    mail_to,
    mailer_config,
    make_accounts,
    register,
)
from tests.support.clock import ManualClock
from tests.support.smtp import SmtpServer

NEW_PASSWORD = "walrus-lantern-copper-93"


async def verified_user(http: TestClient, server: SmtpServer, email: str) -> None:
    await register(http, email)
    [mail] = await mail_to(server, email)
    assert (await http.get(link_in(body_text(mail)))).status == 200


async def token_for(http: TestClient, email: str, password: str = PASSWORD) -> str:
    response = await login(http, email, password)
    assert response.status == 200, await response.text()
    token: str = (await response.json())["token"]
    return token


async def test_each_sign_in_is_a_new_session_that_can_be_ended_elsewhere(
    client: TestClient,
    smtp: SmtpServer,
) -> None:
    await verified_user(client, smtp, "ada@example.com")
    laptop = await token_for(client, "ada@example.com")
    phone = await token_for(client, "ada@example.com")
    assert laptop != phone

    listed = await (await client.get("/api/auth/sessions", headers=bearer(laptop))).json()
    assert len(listed) == 2
    [current] = [s for s in listed if s["current"]]
    [other] = [s for s in listed if not s["current"]]
    assert other["ip"] == "127.0.0.1"

    ended = await client.delete(f"/api/auth/sessions/{other['id']}", headers=bearer(laptop))
    assert ended.status == 200
    assert (await client.get("/api/auth/me", headers=bearer(phone))).status == 401
    assert (await client.get("/api/auth/me", headers=bearer(laptop))).status == 200
    gone = await client.delete(f"/api/auth/sessions/{other['id']}", headers=bearer(laptop))
    assert gone.status == 404
    assert current["id"] != other["id"]


async def test_sign_out_ends_the_session(client: TestClient, smtp: SmtpServer) -> None:
    await verified_user(client, smtp, "ada@example.com")
    token = await token_for(client, "ada@example.com")
    out = await client.post("/api/auth/logout", headers=bearer(token))
    assert out.status == 200 and await out.json() == {"status": "signed_out"}
    assert "rateline_session=" in out.headers["Set-Cookie"]
    after = await client.get("/api/auth/me", headers=bearer(token))
    assert after.status == 401
    assert after.headers["WWW-Authenticate"].startswith("Bearer")


async def test_no_session_is_401_and_garbage_tokens_too(client: TestClient) -> None:
    for headers in ({}, bearer("x" * 43), bearer("not a token"), {"Cookie": "rateline_session=x"}):
        response = await client.get("/api/auth/me", headers=headers)
        assert response.status == 401
        assert response.content_type == "application/problem+json"


async def test_unknown_email_and_wrong_password_look_and_cost_the_same(
    client: TestClient,
    smtp: SmtpServer,
) -> None:
    await verified_user(client, smtp, "ada@example.com")
    hasher = accounts_of(client.app).hasher

    before = hasher.verifications
    wrong = await login(client, "ada@example.com", "not-the-password-00")
    after_wrong = hasher.verifications
    unknown = await login(client, "nobody@example.com", "not-the-password-00")
    after_unknown = hasher.verifications

    assert after_wrong - before == 1
    assert after_unknown - after_wrong == 1
    assert wrong.status == unknown.status == 401
    first, second = await wrong.json(), await unknown.json()
    first.pop("instance"), second.pop("instance")
    assert first == second


async def test_repeated_failures_slow_down_then_lock_the_account(
    db: Database,
    settings: Settings,
    smtp: SmtpServer,
    ca_file: str,
    aiohttp_client: Any,
) -> None:
    rules = ThrottleRules(
        free_failures=2,
        base_delay=timedelta(milliseconds=600),
        max_delay=timedelta(milliseconds=600),
        lock_after=5,
        lock_for=timedelta(hours=1),
        window=timedelta(hours=1),
    )
    configured = settings.replace(smtp_url=smtp.url())
    clock = ManualClock()
    app = build_app(
        configured,
        make_accounts(configured, per_account=rules, clock=clock),
        mailer_config(smtp, ca_file),
    )
    http = await aiohttp_client(app)
    await verified_user(http, smtp, "ada@example.com")

    statuses = [(await login(http, "ada@example.com", "wrong-guess-0000")).status for _ in range(3)]
    assert statuses == [401, 401, 401]
    slowed = await login(http, "ada@example.com", "wrong-guess-0000")
    assert slowed.status == 429, "a fourth try right away must wait"
    assert (await slowed.json())["title"] == "Too many failed sign-ins"

    for _ in range(2):
        clock.advance(0.7)
        assert (await login(http, "ada@example.com", "wrong-guess-0000")).status == 401
    clock.advance(0.7)
    locked = await login(http, "ada@example.com")
    assert locked.status == 429, "even the right password waits out the lock"
    assert int(locked.headers["Retry-After"]) > 3000
    assert "locked" in (await locked.json())["detail"]

    other = await http.post(
        "/api/auth/login", json={"email": "grace@example.com", "password": "x" * 12}
    )
    assert other.status == 401, "other addresses are not affected"

    events = await db.pool.fetch(
        "SELECT outcome, ip, user_agent FROM security_events "
        "WHERE kind = 'login' AND email = 'ada@example.com' ORDER BY id"
    )
    assert [e["outcome"] for e in events] == [
        "failure", "failure", "failure", "throttled", "failure", "failure", "locked",
    ]  # fmt: skip
    assert all(e["ip"] == "127.0.0.1" and e["user_agent"] for e in events)


async def test_password_reset_ends_every_session_and_works_once(
    client: TestClient,
    smtp: SmtpServer,
    db: Database,
) -> None:
    await verified_user(client, smtp, "ada@example.com")
    sessions = [await token_for(client, "ada@example.com") for _ in range(2)]

    asked = await client.post("/api/auth/password/forgot", json={"email": "Ada@example.com"})
    assert asked.status == 202
    _, mail = await mail_to(smtp, "ada@example.com", count=2)
    assert mail["Subject"] == "Reset your Rateline password"
    token = link_in(body_text(mail)).split("token=", 1)[1]

    weak = await client.post(
        "/api/auth/password/reset", json={"token": token, "password": "password1234"}
    )
    assert weak.status == 422, "a refused password does not spend the link"

    reset = await client.post(
        "/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert reset.status == 200 and await reset.json() == {"status": "password_changed"}
    *_, changed = await mail_to(smtp, "ada@example.com", count=3)
    assert changed["Subject"] == "Your Rateline password was changed"
    assert "every session was signed out" in body_text(changed)
    for old in sessions:
        assert (await client.get("/api/auth/me", headers=bearer(old))).status == 401
    assert (await login(client, "ada@example.com")).status == 401
    assert (await login(client, "ada@example.com", NEW_PASSWORD)).status == 200

    reused = await client.post(
        "/api/auth/password/reset", json={"token": token, "password": "yet-another-phrase-77"}
    )
    assert reused.status == 410

    again = await client.post("/api/auth/password/forgot", json={"email": "ada@example.com"})
    assert again.status == 202
    resets = "SELECT count(*) FROM outbox WHERE template = 'password_reset'"
    assert await db.pool.fetchval(resets) == 1, "an immediate repeat is held back"


async def test_an_expired_reset_link_is_gone(
    client: TestClient,
    smtp: SmtpServer,
    db: Database,
) -> None:
    await verified_user(client, smtp, "ada@example.com")
    await client.post("/api/auth/password/forgot", json={"email": "ada@example.com"})
    _, mail = await mail_to(smtp, "ada@example.com", count=2)
    await db.pool.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'")
    token = link_in(body_text(mail)).split("token=", 1)[1]
    expired = await client.post(
        "/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert expired.status == 410
    assert "/api/auth/password/forgot" in (await expired.json())["detail"]
    assert (await login(client, "ada@example.com")).status == 200, "password unchanged"


async def test_forgot_password_for_an_unknown_address_sends_nothing(
    client: TestClient,
    db: Database,
) -> None:
    response = await client.post("/api/auth/password/forgot", json={"email": "nobody@example.com"})
    assert response.status == 202 and await response.json() == {"status": "email_sent"}
    assert await db.pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_idle_sessions_expire(db: Database, settings: Settings, aiohttp_client: Any) -> None:
    clock = ManualClock()
    accounts = make_accounts(
        settings,
        sessions=SessionPolicy(idle=timedelta(seconds=1), lifetime=timedelta(hours=1)),
        clock=clock,
    )
    http = await aiohttp_client(build_app(settings, accounts, None))
    await create_admin(
        db.pool, accounts.hasher, email="root@example.com", name="Root", password=PASSWORD
    )
    token = await token_for(http, "root@example.com")
    assert (await http.get("/api/auth/me", headers=bearer(token))).status == 200
    clock.advance(1.2)
    assert (await http.get("/api/auth/me", headers=bearer(token))).status == 401


async def test_sessions_end_at_their_absolute_lifetime(
    client: TestClient,
    smtp: SmtpServer,
    db: Database,
) -> None:
    await verified_user(client, smtp, "ada@example.com")
    token = await token_for(client, "ada@example.com")
    await db.pool.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    assert (await client.get("/api/auth/me", headers=bearer(token))).status == 401


# --- roles ----------------------------------------------------------------------------


async def test_role_guards_answer_401_then_403_and_admins_grant_roles(
    client: TestClient,
    smtp: SmtpServer,
    db: Database,
) -> None:
    await verified_user(client, smtp, "ada@example.com")
    ada = await (
        await client.get("/api/auth/me", headers=bearer(await token_for(client, "ada@example.com")))
    ).json()
    path = f"/api/auth/users/{ada['id']}/role"

    assert (await client.put(path, json={"role": "broker"})).status == 401
    consumer = await token_for(client, "ada@example.com")
    forbidden = await client.put(path, json={"role": "broker"}, headers=bearer(consumer))
    assert forbidden.status == 403
    assert "admin" in (await forbidden.json())["detail"]

    hasher = accounts_of(client.app).hasher
    made = await create_admin(
        db.pool, hasher, email="root@example.com", name="Root", password=PASSWORD
    )
    assert made.created
    admin = await token_for(client, "root@example.com")
    granted = await client.put(path, json={"role": "broker"}, headers=bearer(admin))
    assert granted.status == 200 and (await granted.json())["role"] == "broker"
    bad = await client.put(path, json={"role": "emperor"}, headers=bearer(admin))
    assert bad.status == 422


async def test_require_user_guards_other_routes_by_role(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    accounts = make_accounts(settings)
    app = build_app(settings, accounts, None)

    async def broker_only(request: web.Request) -> web.Response:
        user = await require_user(request, role="broker")
        return web.json_response({"broker": user.email})

    app.router.add_get("/test/broker-only", broker_only)
    http = await aiohttp_client(app)
    for email in ("root@example.com", "bob@example.com"):
        await create_admin(db.pool, accounts.hasher, email=email, name="R", password=PASSWORD)
    await db.pool.execute("UPDATE users SET role = 'broker' WHERE email = 'bob@example.com'")

    assert (await http.get("/test/broker-only")).status == 401
    admin = await token_for(http, "root@example.com")
    assert (await http.get("/test/broker-only", headers=bearer(admin))).status == 403
    broker = await token_for(http, "bob@example.com")
    allowed = await http.get("/test/broker-only", headers=bearer(broker))
    assert allowed.status == 200 and await allowed.json() == {"broker": "bob@example.com"}


async def test_admin_create_promotes_existing_accounts_and_checks_new_passwords(
    db: Database, settings: Settings
) -> None:
    hasher = make_accounts(settings).hasher
    with pytest.raises(AdminError, match="password not accepted"):
        await create_admin(db.pool, hasher, email="root@example.com", name=None, password="root")
    with pytest.raises(AdminError, match="invalid email"):
        await create_admin(db.pool, hasher, email="root@", name=None, password=PASSWORD)
    first = await create_admin(
        db.pool, hasher, email="Root@Example.com", name=None, password=PASSWORD
    )
    again = await create_admin(db.pool, hasher, email="root@example.com", name=None, password=None)
    assert (first.created, again.created) == (True, False)
    row = await db.pool.fetchrow("SELECT role, email_verified_at, name FROM users")
    assert row["role"] == "admin" and row["email_verified_at"] is not None
    assert row["name"] == "root"
