"""Accounts over HTTP: registration, email verification, sign-in and
sessions; and the helpers the other account routes share (password reset in
passwords.py, roles in roles.py).

Answers never reveal whether an address has an account: registration,
resend and forgot-password answer 202 either way (the mailbox owner learns
the truth by email), and sign-in says "wrong email or password" after the
same password-hash work for both.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlencode

from aiohttp import web

from actors.accounts.identity import InvalidEmail, normalise_email, personal_words
from actors.accounts.passwords import password_problems
from actors.accounts.throttle import REGISTER_PER_ADDRESS
from actors.accounts.tokens import looks_like_token, new_token, token_digest
from actors.mailer.outbox import enqueue
from protocols.api.auth import (
    Accepted,
    Done,
    LoginRequest,
    LoginResponse,
    RegisterRequest,
    ResendRequest,
    Session,
    User,
    VerifyQuery,
)
from protocols.problems import BROKEN_RULE, FieldError, Problem, invalid
from server import keys
from server.auth import (
    Accounts,
    accounts_lifespan,
    accounts_of,
    audit,
    client_ip,
    mail_wait_seconds,
    require_user,
    session_cookie_name,
    sign_in_succeeded,
    take_sign_in_attempt,
    user_agent,
)
from server.routes.payments import subscription_of
from server.routing import ApiRoutes, json_response
from storage import accounts as store
from storage import sessions as session_store
from storage.accounts import TokenState, UserRow

routes = ApiRoutes(tag="auth")

VERIFY_PURPOSE = "verify_email"
RESEND_PATH = "/api/auth/verify/resend"
# Pages of the web front the emails link to, below RATELINE_PUBLIC_URL.
SIGN_IN_PAGE, RESET_PAGE, VERIFY_PAGE = "/login", "/reset-password", "/verify"


def public_user(row: UserRow) -> User:
    """What a client may see of a user row."""
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,  # type: ignore[arg-type]
        email_verified=row.verified,
        created_at=row.created_at,
    )


def _email_field(raw: str) -> str:
    try:
        return normalise_email(raw)
    except InvalidEmail as exc:
        raise invalid("/email", str(exc), title="Invalid email", type=BROKEN_RULE) from None


async def check_password(password: str, email: str, name: str) -> None:
    """Refuse (422) a new password the policy rejects; the check leaves the loop."""
    problems = await asyncio.to_thread(
        password_problems, password, personal=personal_words(email, name)
    )
    if problems:
        raise invalid(
            "/password", "; ".join(problems), title="Password not accepted", type=BROKEN_RULE
        )


# Registration and verification


@routes.post("/api/auth/register", body=RegisterRequest, response=Accepted, status=202)
async def register(request: web.Request, body: RegisterRequest) -> Accepted:
    """Create an account; a verification link is emailed"""
    accounts = accounts_of(request.app)
    email = _email_field(body.email)
    name = " ".join(body.name.split())
    if not name:
        raise Problem(
            422, "Invalid name", "name is empty", errors=[FieldError("/name", "is empty")]
        )
    pool = request.app[keys.DB].pool
    wait = await mail_wait_seconds(
        pool,
        accounts.clock(),
        "register",
        email,
        client_ip(request),
        per_address=REGISTER_PER_ADDRESS,
    )
    if wait is not None:
        await audit(pool, request, "register", "throttled", None, email)
        raise Problem(
            429,
            "Too many registrations",
            f"this address or your network registered several times recently; "
            f"check your inbox or try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    await check_password(body.password, email, name)
    password_hash = await accounts.hasher.hash_async(body.password)
    token, digest = new_token()
    async with pool.acquire() as conn, conn.transaction():
        user = await store.create_user(conn, email=email, name=name, password_hash=password_hash)
        if user is None:
            existing = await store.user_by_email(conn, email)
            assert existing is not None
            await enqueue(
                conn,
                to=existing.email,
                template="already_registered",
                context={
                    "name": existing.name,
                    "login_link": accounts.link(SIGN_IN_PAGE),
                    "reset_link": accounts.link(RESET_PAGE),
                },
            )
            await audit(conn, request, "register", "duplicate", existing.id, email)
        else:
            await _send_verification(conn, accounts, user, token, digest)
            await audit(conn, request, "register", "success", user.id, email)
    return Accepted(status="verification_sent")


async def _send_verification(
    conn: store.Executor, accounts: Accounts, user: UserRow, token: str, digest: bytes
) -> None:
    await store.add_token(
        conn,
        user_id=user.id,
        purpose=VERIFY_PURPOSE,
        token_hash=digest,
        ttl=accounts.verify_ttl,
        now=accounts.clock(),
    )
    await enqueue(
        conn,
        to=user.email,
        template="verification",
        context={
            "name": user.name,
            "link": accounts.link("/api/auth/verify?" + urlencode({"token": token})),
            "hours": int(accounts.verify_ttl.total_seconds() // 3600),
        },
    )


def gone(what: str, how_to_recover: str) -> Problem:
    """The 410 for an emailed link that is spent, expired or unknown."""
    return Problem(410, f"This {what} link is no longer valid", how_to_recover)


@routes.get("/api/auth/verify", query=VerifyQuery, response=Done)
async def verify(request: web.Request, query: VerifyQuery) -> Done:
    """Confirm an email address with the emailed token"""
    if "text/html" in request.headers.get("Accept", ""):
        # A person opened the emailed link: the web app's page confirms it.
        raise web.HTTPSeeOther(VERIFY_PAGE + "?" + request.query_string)
    resend = (
        f"it has expired or was already used; ask for a new one with POST {RESEND_PATH} "
        '{"email": "<your address>"}'
    )
    problem = gone("verification", resend)
    problem.headers["Link"] = f'<{RESEND_PATH}>; rel="resend"'
    if not looks_like_token(query.token):
        raise problem
    now = accounts_of(request.app).clock()
    async with request.app[keys.DB].pool.acquire() as conn, conn.transaction():
        use = await store.use_token(
            conn, token_hash=token_digest(query.token), purpose=VERIFY_PURPOSE, now=now
        )
        user = await store.user_by_id(conn, use.user_id) if use.user_id else None
        if user is None:
            raise problem
        if use.state is TokenState.OK:
            await store.mark_verified(conn, user.id)
            await audit(conn, request, "verify", "success", user.id, user.email)
        elif not user.verified:
            raise problem
    return Done(status="verified")


@routes.post(RESEND_PATH, body=ResendRequest, response=Accepted, status=202)
async def resend_verification(request: web.Request, body: ResendRequest) -> Accepted:
    """Email a fresh verification link (limited per address and per IP)"""
    accounts = accounts_of(request.app)
    email = _email_field(body.email)
    pool = request.app[keys.DB].pool
    wait = await mail_wait_seconds(
        pool, accounts.clock(), "verify_resend", email, client_ip(request)
    )
    if wait is not None:
        raise Problem(
            429,
            "Too many requests",
            f"a link was sent recently; check your inbox or try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    async with pool.acquire() as conn, conn.transaction():
        user = await store.user_by_email(conn, email)
        sent = user is not None and not user.verified
        if user is not None and not user.verified:
            await store.retire_tokens(
                conn, user_id=user.id, purpose=VERIFY_PURPOSE, now=accounts.clock()
            )
            token, digest = new_token()
            await _send_verification(conn, accounts, user, token, digest)
        await audit(
            conn,
            request,
            "verify_resend",
            "sent" if sent else "nothing_to_send",
            user.id if user else None,
            email,
        )
    return Accepted(status="email_sent")


# Sign-in and sessions


@routes.post("/api/auth/login", body=LoginRequest, response=LoginResponse)
async def login(request: web.Request, body: LoginRequest) -> web.Response:
    """Sign in; the session token comes back in the body and in a cookie"""
    accounts = accounts_of(request.app)
    pool = request.app[keys.DB].pool
    try:
        email = normalise_email(body.email)
    except InvalidEmail:
        email = body.email.strip().lower()
    ip, agent = client_ip(request), user_agent(request)

    verdict = await take_sign_in_attempt(pool, accounts, email, ip)
    if not verdict.allowed:
        await audit(
            pool, request, "login", "locked" if verdict.locked else "throttled", None, email
        )
        seconds = verdict.retry_after_seconds
        raise Problem(
            429,
            "Too many failed sign-ins",
            f"{'sign-in is locked' if verdict.locked else 'wait'} for {seconds} seconds "
            "before trying again; or reset your password at POST /api/auth/password/forgot",
            headers={"Retry-After": str(seconds)},
        )

    user = await store.user_by_email(pool, email)
    stored_hash = user.password_hash if user is not None else None
    if not await accounts.hasher.verify_async(stored_hash, body.password) or user is None:
        await audit(pool, request, "login", "failure", user.id if user else None, email)
        raise Problem(
            401,
            "Wrong email or password",
            "check both and try again; after a few failures sign-in slows down",
        )
    await sign_in_succeeded(pool, email, ip)
    if not user.verified:
        await audit(pool, request, "login", "unverified", user.id, email)
        raise Problem(
            403,
            "Email not verified",
            f"open the link we emailed you first; for a new link use POST {RESEND_PATH}",
        )
    if stored_hash is not None and accounts.hasher.needs_rehash(stored_hash):
        rehashed = await accounts.hasher.hash_async(body.password)
        await store.set_password(pool, user.id, rehashed, changed=False)

    token, digest = new_token()
    async with pool.acquire() as conn, conn.transaction():
        session = await session_store.create_session(
            conn,
            user_id=user.id,
            token_hash=digest,
            lifetime=accounts.sessions.lifetime,
            ip=ip,
            user_agent=agent,
            now=accounts.clock(),
        )
        await audit(conn, request, "login", "success", user.id, email)
    response = json_response(
        LoginResponse(token=token, expires_at=session.expires_at, user=public_user(user))
    )
    response.set_cookie(
        session_cookie_name(request.app[keys.CONFIG].public_url),
        token,
        max_age=int(accounts.sessions.lifetime.total_seconds()),
        path="/",
        httponly=True,
        secure=accounts.secure_cookie,
        samesite="Lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/api/auth/logout", response=Done, auth="user")
async def logout(request: web.Request) -> web.Response:
    """End this session"""
    user = await require_user(request)
    pool = request.app[keys.DB].pool
    await session_store.end_session(pool, user.session_id, user_id=user.id)
    await audit(pool, request, "logout", "success", user.id, user.email)
    response = json_response(Done(status="signed_out"))
    response.del_cookie(
        session_cookie_name(request.app[keys.CONFIG].public_url),
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return response


@routes.get("/api/auth/me", response=User, auth="user")
async def me(request: web.Request) -> User:
    """The signed-in user"""
    user = await require_user(request)
    return User(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,  # type: ignore[arg-type]
        email_verified=user.email_verified,
        created_at=user.created_at,
        subscription=await subscription_of(request, user.id),
    )


@routes.get("/api/auth/sessions", response=list[Session], auth="user")
async def sessions(request: web.Request) -> list[Session]:
    """The signed-in user's live sessions, most recently used first"""
    user = await require_user(request)
    accounts = accounts_of(request.app)
    rows = await session_store.sessions_of(
        request.app[keys.DB].pool,
        user_id=user.id,
        idle=accounts.sessions.idle,
        now=accounts.clock(),
    )
    return [
        Session(
            id=r.id,
            created_at=r.created_at,
            last_seen_at=r.last_seen_at,
            expires_at=r.expires_at,
            ip=r.ip,
            user_agent=r.user_agent,
            current=r.id == user.session_id,
        )
        for r in rows
    ]


@routes.delete("/api/auth/sessions/{id}", response=Done, auth="user")
async def end_session(request: web.Request) -> Done:
    """End one of the signed-in user's sessions (sign out another device)"""
    user = await require_user(request)
    try:
        session_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        session_id = None
    pool = request.app[keys.DB].pool
    if session_id is None or not await session_store.end_session(pool, session_id, user_id=user.id):
        raise Problem(404, "No such session", "it has ended already or is not yours")
    await audit(
        pool, request, "session_end", "success", user.id, user.email, detail=str(session_id)
    )
    return Done(status="session_ended")


lifespan = accounts_lifespan
