"""Password reset over HTTP: a single-use link by email, then a new
password that ends every session and is confirmed by a second email (so
an owner whose mailbox was used against them hears of it).

Like registration, forgot-password answers 202 whether or not the address
has an account (and when the address has asked too often), so it reveals
nothing; the mailbox owner learns the truth by email.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from actors.accounts.identity import InvalidEmail, normalise_email
from actors.accounts.tokens import looks_like_token, new_token, token_digest
from actors.mailer.outbox import enqueue
from protocols.api.auth import Accepted, Done, EmailRequest, ResetRequest
from server import keys
from server.auth import (
    accounts_of,
    audit,
    client_ip,
    forget_sign_in_failures,
    mail_wait_seconds,
)
from server.routes.auth import RESET_PAGE, check_password, gone
from server.routing import ApiRoutes
from storage import accounts as store
from storage import sessions as session_store
from storage.accounts import TokenState

# The same OpenAPI tag as the rest of /api/auth.
routes = ApiRoutes(tag="auth")

RESET_PURPOSE = "reset_password"


@routes.post("/api/auth/password/forgot", body=EmailRequest, response=Accepted, status=202)
async def forgot_password(request: web.Request, body: EmailRequest) -> Accepted:
    """Email a password reset link, if the address has an account"""
    accounts = accounts_of(request.app)
    try:
        email = normalise_email(body.email)
    except InvalidEmail:
        return Accepted(status="email_sent")
    pool = request.app[keys.DB].pool
    too_many = (
        await mail_wait_seconds(
            pool, accounts.clock(), "password_forgot", email, client_ip(request)
        )
        is not None
    )
    async with pool.acquire() as conn, conn.transaction():
        user = None if too_many else await store.user_by_email(conn, email)
        if user is not None:
            now = accounts.clock()
            await store.retire_tokens(conn, user_id=user.id, purpose=RESET_PURPOSE, now=now)
            token, digest = new_token()
            await store.add_token(
                conn,
                user_id=user.id,
                purpose=RESET_PURPOSE,
                token_hash=digest,
                ttl=accounts.reset_ttl,
                now=now,
            )
            await enqueue(
                conn,
                to=user.email,
                template="password_reset",
                context={
                    "name": user.name,
                    "link": accounts.link(RESET_PAGE + "?" + urlencode({"token": token})),
                    "minutes": int(accounts.reset_ttl.total_seconds() // 60),
                },
            )
        outcome = "throttled" if too_many else ("sent" if user else "nothing_to_send")
        await audit(conn, request, "password_forgot", outcome, user.id if user else None, email)
    return Accepted(status="email_sent")


@routes.post("/api/auth/password/reset", body=ResetRequest, response=Done)
async def reset_password(request: web.Request, body: ResetRequest) -> Done:
    """Set a new password with the emailed token; every session ends"""
    accounts = accounts_of(request.app)
    problem = gone(
        "password reset",
        "it has expired or was already used; ask for a new one with "
        'POST /api/auth/password/forgot {"email": "<your address>"}',
    )
    if not looks_like_token(body.token):
        raise problem
    digest = token_digest(body.token)
    pool = request.app[keys.DB].pool
    peek = await store.peek_token(
        pool, token_hash=digest, purpose=RESET_PURPOSE, now=accounts.clock()
    )
    user = await store.user_by_id(pool, peek.user_id) if peek.user_id else None
    if peek.state is not TokenState.OK or user is None:
        raise problem
    await check_password(body.password, user.email, user.name)
    password_hash = await accounts.hasher.hash_async(body.password)
    async with pool.acquire() as conn, conn.transaction():
        changed_at = accounts.clock()
        use = await store.use_token(conn, token_hash=digest, purpose=RESET_PURPOSE, now=changed_at)
        if use.state is not TokenState.OK:
            raise problem
        await store.set_password(conn, user.id, password_hash)
        await store.mark_verified(conn, user.id)  # the link proved the mailbox is theirs
        await store.retire_tokens(conn, user_id=user.id, purpose=RESET_PURPOSE, now=changed_at)
        ended = await session_store.end_all_sessions(conn, user.id)
        await forget_sign_in_failures(conn, user.email)
        await enqueue(
            conn,
            to=user.email,
            template="password_changed",
            context={
                "name": user.name,
                "when": changed_at.strftime("%Y-%m-%d at %H:%M UTC"),
                "reset_link": accounts.link(RESET_PAGE),
            },
        )
        await audit(
            conn,
            request,
            "password_reset",
            "success",
            user.id,
            user.email,
            detail=f"{ended} sessions ended",
        )
    return Done(status="password_changed")
