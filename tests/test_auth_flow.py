"""Registration and email verification through the HTTP API, with the mailer
delivering to a real STARTTLS+AUTH SMTP server."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from ops.config import Settings
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
from tests.support.net import eventually
from tests.support.smtp import SmtpServer

# --- the whole path ----------------------------------------------------------------


async def test_register_email_verify_and_sign_in(client: TestClient, smtp: SmtpServer) -> None:
    await register(client, "Ada@Example.com")
    [email] = await mail_to(smtp, "ada@example.com")
    assert email["Subject"] == "Confirm your email for Rateline"
    assert email["Message-ID"].endswith("@rateline.test>")
    html = email.get_body(("html",)).get_content()
    link = link_in(body_text(email))
    assert link.startswith("/api/auth/verify?token=") and link.split("=", 1)[1] in html

    early = await login(client, "ada@example.com")
    assert early.status == 403
    assert (await early.json())["title"] == "Email not verified"

    verified = await client.get(link)
    assert verified.status == 200 and await verified.json() == {"status": "verified"}

    signed_in = await login(client, "ADA@example.com")
    assert signed_in.status == 200
    body = await signed_in.json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["role"] == "consumer" and body["user"]["email_verified"]
    cookie = signed_in.headers["Set-Cookie"]
    assert f"rateline_session={body['token']}" in cookie
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attribute in cookie

    me = await client.get("/api/auth/me", headers=bearer(body["token"]))
    assert me.status == 200 and (await me.json())["name"] == "Ada Lovelace"
    by_cookie = await client.get(
        "/api/auth/me", headers={"Cookie": f"rateline_session={body['token']}"}
    )
    assert by_cookie.status == 200


async def test_the_link_again_after_verifying_still_says_verified(
    client: TestClient, smtp: SmtpServer
) -> None:
    await register(client, "ada@example.com")
    [email] = await mail_to(smtp, "ada@example.com")
    link = link_in(body_text(email))
    assert (await client.get(link)).status == 200
    again = await client.get(link)
    assert again.status == 200 and await again.json() == {"status": "verified"}


async def test_duplicate_registration_answers_the_same_and_emails_a_note(
    client: TestClient, smtp: SmtpServer
) -> None:
    await register(client, "ada@example.com")
    [first] = await mail_to(smtp, "ada@example.com")
    assert (await client.get(link_in(body_text(first)))).status == 200

    response = await client.post(
        "/api/auth/register",
        json={"email": "ADA@example.com", "password": "another-strong-phrase-81", "name": "Eve"},
    )
    assert response.status == 202
    assert await response.json() == {"status": "verification_sent"}
    _, note = await mail_to(smtp, "ada@example.com", count=2)
    assert note["Subject"] == "You already have a Rateline account"
    assert "Hello Ada Lovelace" in body_text(note)
    assert "/api/auth/verify" not in body_text(note)

    assert (await login(client, "ada@example.com")).status == 200, "first password still works"
    assert (await login(client, "ada@example.com", "another-strong-phrase-81")).status == 401


async def test_weak_personal_and_malformed_input_is_refused(client: TestClient) -> None:
    common = await client.post(
        "/api/auth/register",
        json={"email": "ada@example.com", "password": "password1234", "name": "Ada"},
    )
    assert common.status == 422
    problem = await common.json()
    assert problem["errors"][0]["pointer"] == "/password"
    assert "common" in problem["detail"]

    personal = await client.post(
        "/api/auth/register",
        json={"email": "ada.lovelace@example.com", "password": "AdaLovelace2024", "name": "Ada"},
    )
    assert personal.status == 422

    short = await client.post(
        "/api/auth/register", json={"email": "ada@example.com", "password": "Xy7!", "name": "A"}
    )
    assert "at least 12 characters" in (await short.json())["detail"]

    bad_email = await client.post(
        "/api/auth/register", json={"email": "ada@", "password": PASSWORD, "name": "Ada"}
    )
    assert bad_email.status == 422
    assert (await bad_email.json())["errors"][0]["pointer"] == "/email"

    missing = await client.post("/api/auth/register", json={"email": "ada@example.com"})
    assert missing.status == 422
    pointers = {e["pointer"] for e in (await missing.json())["errors"]}
    assert pointers == {"/password", "/name"}


async def expire_tokens(db: Database) -> None:
    """Let the clock run past every token's expiry."""
    await db.pool.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'")


async def test_an_expired_link_is_gone_and_a_new_one_can_be_asked_for(
    client: TestClient, smtp: SmtpServer, db: Database
) -> None:
    await register(client, "ada@example.com")
    [first] = await mail_to(smtp, "ada@example.com")
    await expire_tokens(db)

    expired = await client.get(link_in(body_text(first)))
    assert expired.status == 410
    assert expired.content_type == "application/problem+json"
    assert "/api/auth/verify/resend" in (await expired.json())["detail"]
    assert 'rel="resend"' in expired.headers["Link"]

    resent = await client.post("/api/auth/verify/resend", json={"email": "ada@example.com"})
    assert resent.status == 202
    _, second = await mail_to(smtp, "ada@example.com", count=2)
    assert (await client.get(link_in(body_text(second)))).status == 200

    again = await client.post("/api/auth/verify/resend", json={"email": "ada@example.com"})
    assert again.status == 429 and int(again.headers["Retry-After"]) > 0


async def test_a_replaced_link_no_longer_works(client: TestClient, smtp: SmtpServer) -> None:
    await register(client, "ada@example.com")
    [first] = await mail_to(smtp, "ada@example.com")
    await client.post("/api/auth/verify/resend", json={"email": "ada@example.com"})
    _, second = await mail_to(smtp, "ada@example.com", count=2)
    assert (await client.get(link_in(body_text(first)))).status == 410
    assert (await client.get(link_in(body_text(second)))).status == 200


async def test_unknown_tokens_and_addresses_reveal_nothing(client: TestClient) -> None:
    assert (await client.get("/api/auth/verify?token=" + "A" * 43)).status == 410
    assert (await client.get("/api/auth/verify?token=nope")).status == 410
    nobody = await client.post("/api/auth/verify/resend", json={"email": "nobody@example.com"})
    assert nobody.status == 202 and await nobody.json() == {"status": "email_sent"}


# --- without SMTP: the dev mailbox ------------------------------------------------------


async def test_without_smtp_the_dev_mailbox_shows_the_link(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    dev = settings.replace(dev_mailbox=True, smtp_url=None)
    client = await aiohttp_client(build_app(dev, make_accounts(dev), mailer_config(None)))
    await register(client, "ada@example.com")
    await register(client, "grace@example.com", name="Grace Hopper")

    async def held() -> bool:
        response = await client.get("/api/dev/mailbox")
        return {m["status"] for m in await response.json()} == {"held"}

    await eventually(held)
    mails = await (await client.get("/api/dev/mailbox")).json()
    assert [m["to"] for m in mails] == ["grace@example.com", "ada@example.com"], "newest first"
    assert set(mails[0]) == {"id", "to", "subject", "text", "html", "status", "created_at"}
    [ada] = await (await client.get("/api/dev/mailbox?to=ada@example.com")).json()
    assert (await client.get(link_in(ada["text"]))).status == 200
    assert (await login(client, "ada@example.com")).status == 200


async def test_the_dev_mailbox_is_closed_with_real_smtp(client: TestClient) -> None:
    assert (await client.get("/api/dev/mailbox")).status == 404


async def test_the_dev_mailbox_is_closed_unless_asked_for(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    plain = await aiohttp_client(build_app(settings, make_accounts(settings), None))
    assert (await plain.get("/api/dev/mailbox")).status == 404
