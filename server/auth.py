"""Who is calling: session look-up and role guards for every route, and the
audit trail and throttles of the account flows.

A client proves its session with `Authorization: Bearer <token>` (API
clients) or the session cookie (browsers): `__Host-rateline_session` when
RATELINE_PUBLIC_URL is https (the prefix makes browsers refuse it unless it
is Secure, host-only and for path /, so a sibling subdomain cannot plant
one), plain `rateline_session` on an http development server. Routes declare
`auth="user"` (any signed-in user) or a role list such as `auth="broker,admin"`
on their decorator, or call `await require_user(request, role=...)` directly.
No session answers 401; a session with the wrong role answers 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web

from actors.accounts import throttle
from actors.accounts.hashing import Argon2Params, PasswordHasher
from actors.accounts.sessions import ROLES, SessionPolicy
from actors.accounts.throttle import PER_ACCOUNT, PER_ADDRESS, PER_IP, ThrottleRules
from actors.accounts.tokens import looks_like_token, token_digest
from actors.audit.auditor import Auditor
from ops.config import Settings
from protocols.problems import Problem
from server import keys
from server.client_address import client_address, trusted_networks
from storage import sessions as store
from storage import sign_in

log = logging.getLogger(__name__)

SESSION_COOKIE = "rateline_session"
HOST_SESSION_COOKIE = "__Host-" + SESSION_COOKIE


def session_cookie_name(public_url: str) -> str:
    """The session cookie's name: host-locked when the platform is on https."""
    return HOST_SESSION_COOKIE if public_url.lower().startswith("https://") else SESSION_COOKIE


ANY_USER = "user"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Accounts:
    """Everything the account flows need besides the database."""

    hasher: PasswordHasher
    public_url: str
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    per_account: ThrottleRules = PER_ACCOUNT
    """Failures of one address from one client IP: slows, then locks the pair."""
    per_address: ThrottleRules = PER_ADDRESS
    """Failures of one address from anywhere: a slower back-off that never locks."""
    per_ip: ThrottleRules = PER_IP
    verify_ttl: timedelta = timedelta(hours=24)
    reset_ttl: timedelta = timedelta(minutes=30)
    secure_cookie: bool = True
    clock: Callable[[], datetime] = utc_now
    """What time it is for every session, token and throttle decision (a test
    may pass a clock it moves by hand)."""

    def link(self, path: str) -> str:
        return self.public_url.rstrip("/") + path


DEPS_KEY = "accounts"


def accounts_of(app: web.Application) -> Accounts:
    """The app's Accounts, which server/routes/auth.py's lifespan puts in
    app[keys.DEPS] (a test may put its own there first)."""
    accounts: Accounts = app[keys.DEPS][DEPS_KEY]
    return accounts


def argon2_params(settings: Settings) -> Argon2Params:
    return Argon2Params(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


def accounts_from_settings(settings: Settings) -> Accounts:
    """Builds the hasher, which hashes once (for the dummy): call off the loop."""
    return Accounts(
        hasher=PasswordHasher(argon2_params(settings)),
        public_url=settings.public_url,
        sessions=SessionPolicy(
            idle=timedelta(minutes=settings.session_idle_minutes),
            lifetime=timedelta(hours=settings.session_max_hours),
        ),
    )


@dataclass(frozen=True)
class User:
    """The caller, as established from a live session."""

    id: uuid.UUID
    email: str
    name: str
    role: str
    email_verified: bool
    created_at: datetime
    session_id: uuid.UUID
    session_expires_at: datetime


def session_token(request: web.Request) -> str | None:
    """The bearer token, else the session cookie; None when neither is there."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(session_cookie_name(request.app[keys.CONFIG].public_url)) or None


async def user_for_token(app: web.Application, token: str) -> User | None:
    """The user behind a session token, refreshing its idle deadline; None
    when the token names no live session. WebSocket auth uses this too."""
    if not looks_like_token(token):
        return None
    accounts = accounts_of(app)
    pool = app[keys.DB].pool
    now = accounts.clock()
    found = await store.live_session(
        pool, token_hash=token_digest(token), idle=accounts.sessions.idle, now=now
    )
    if found is None:
        return None
    session, row = found
    if accounts.sessions.needs_touch(session.last_seen_at, now):
        await store.touch_session(pool, session.id, now=now)
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        email_verified=row.verified,
        created_at=row.created_at,
        session_id=session.id,
        session_expires_at=session.expires_at,
    )


_LOOKED_UP: web.RequestKey[User | None] = web.RequestKey("auth_user")


async def current_user(request: web.Request) -> User | None:
    """The signed-in user or None; looked up once per request."""
    if _LOOKED_UP not in request:
        token = session_token(request)
        request[_LOOKED_UP] = await user_for_token(request.app, token) if token else None
    return request[_LOOKED_UP]


def _roles(role: str | Iterable[str] | None) -> frozenset[str]:
    if role is None:
        return frozenset()
    names = role.split(",") if isinstance(role, str) else list(role)
    wanted = frozenset(n.strip() for n in names if n.strip() and n.strip() != ANY_USER)
    unknown = wanted - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {ROLES}")
    return wanted


async def require_user(request: web.Request, role: str | Iterable[str] | None = None) -> User:
    """The signed-in user, who must hold one of `role` when given.

    `role` is a role name, a comma list or an iterable of names; "user" or None
    admits any signed-in user. Admin is not implied: list it when it applies.
    """
    wanted = _roles(role)
    user = await current_user(request)
    if user is None:
        raise Problem(
            401,
            "Sign-in required",
            "send a session token (Authorization: Bearer <token>) or the session "
            "cookie; sign in at POST /api/auth/login",
            headers={"WWW-Authenticate": 'Bearer realm="rateline"'},
        )
    if wanted and user.role not in wanted:
        raise Problem(
            403,
            "Not allowed",
            f"this needs the role {' or '.join(sorted(wanted))}; you are signed in as {user.role}",
        )
    return user


async def guard(request: web.Request, auth: str | None) -> User:
    """The route decorators' `auth=` hook (server.routing.AUTH_GUARD)."""
    return await require_user(request, auth)


def client_ip(request: web.Request) -> str | None:
    """The client's address: the TCP peer, or what X-Forwarded-For says when
    the peer is one of RATELINE_TRUSTED_PROXIES (see server/client_address.py)."""
    trusted = trusted_networks(request.app[keys.CONFIG].trusted_proxies)
    if not trusted:
        return request.remote
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", ()), trusted)


def user_agent(request: web.Request) -> str | None:
    return request.headers.get("User-Agent")


# Audit and throttling of the account flows


async def audit(
    db: store.Executor,
    request: web.Request,
    kind: str,
    outcome: str,
    user_id: uuid.UUID | None,
    email: str | None,
    detail: str | None = None,
) -> None:
    """One security event: who, from where, with what client, and how it went.

    It lands in the account flows' own trail (which the throttles count) and
    in the hash-chained audit log, in the caller's transaction when there is
    one, so the event commits with the change it describes."""
    await store.record_event(
        db,
        kind=kind,
        outcome=outcome,
        user_id=user_id,
        email=email,
        ip=client_ip(request),
        user_agent=user_agent(request),
        detail=detail,
        at=accounts_of(request.app).clock(),
    )
    auditor: Auditor | None = request.app[keys.DEPS].get("audit")
    if auditor is None:
        return
    fields = {
        "actor": str(user_id) if user_id else "anonymous",
        "target": email,
        "ip": client_ip(request),
        "request_id": request.get(keys.REQUEST_ID),
        "details": {"detail": detail} if detail else {},
    }
    action = AUDIT_ACTIONS.get(kind, kind)
    if isinstance(db, asyncpg.Pool) or not db.is_in_transaction():
        await auditor.record(action, outcome, **fields)
    else:
        await auditor.record_in(db, action, outcome, **fields)


# The audit log's names for the account flows' events.
AUDIT_ACTIONS = {
    "login": "sign_in",
    "logout": "sign_out",
    "verify": "email_verified",
    "verify_resend": "verification_resent",
    "password_forgot": "password_reset_requested",
    "password_reset": "password_reset",
    "session_end": "session_ended",
    "role_change": "role_changed",
}


async def mail_wait_seconds(
    pool: store.Executor,
    now: datetime,
    kind: str,
    email: str,
    ip: str | None,
    per_address: throttle.MailLimit = throttle.PER_ADDRESS_MAIL,
) -> int | None:
    """Whole seconds before another email of `kind` may go out, or None.

    Counted by the address as typed, whether or not it has an account, so the
    limit itself reveals nothing.
    """
    rule = per_address
    by_address = await store.recent_events(
        pool, kind=kind, email=email, window=rule.window, now=now
    )
    waits = [throttle.mail_wait(rule, by_address.count, by_address.last_at, now)]
    if ip is not None:
        rule = throttle.PER_IP_MAIL
        by_ip = await store.recent_events(pool, kind=kind, ip=ip, window=rule.window, now=now)
        waits.append(throttle.mail_wait(rule, by_ip.count, by_ip.last_at, now))
    longest = max((w for w in waits if w is not None), default=None)
    return None if longest is None else max(1, math.ceil(longest.total_seconds()))


async def take_sign_in_attempt(
    pool: asyncpg.Pool, accounts: Accounts, email: str, ip: str | None
) -> throttle.Verdict:
    """Judge a sign-in attempt and, if it may go ahead, count it as a failure
    before the password is checked; `sign_in_succeeded` takes that back."""
    rules = {
        throttle.pair_key(email, ip): accounts.per_account,
        throttle.address_key(email): accounts.per_address,
    }
    if ip is not None:
        rules[throttle.ip_key(ip)] = accounts.per_ip
    async with pool.acquire() as conn, conn.transaction():
        counters = await sign_in.lock_counters(conn, sorted(rules))
        now = accounts.clock()
        failures = {
            key: throttle.recent_failures(rule, counters[key].failures, counters[key].last_at, now)
            for key, rule in rules.items()
        }
        verdict = throttle.strictest(
            *(
                throttle.verdict(rule, failures[key], counters[key].last_at, now)
                for key, rule in rules.items()
            )
        )
        if verdict.allowed:
            await sign_in.count_attempt(conn, {key: n + 1 for key, n in failures.items()}, now=now)
    return verdict


async def sign_in_succeeded(pool: store.Executor, email: str, ip: str | None) -> None:
    """The right password: this address from this IP starts afresh (a stranger's
    lock elsewhere stays), and the IP is not charged for the attempt."""
    await sign_in.clear(pool, [throttle.pair_key(email, ip), throttle.address_key(email)])
    if ip is not None:
        await sign_in.forgive_attempt(pool, throttle.ip_key(ip))


async def forget_sign_in_failures(db: store.Executor, email: str) -> None:
    """After a password reset: the address's failures from everywhere are void."""
    await sign_in.clear_address(
        db, throttle.address_key(email), throttle.pair_key(email, None)[:-1]
    )


# Start-up


async def accounts_lifespan(app: web.Application) -> AsyncIterator[None]:
    """Build the account services (unless a test supplied its own) and purge
    dead sessions and tokens hourly."""
    deps = app[keys.DEPS]
    if DEPS_KEY not in deps:
        deps[DEPS_KEY] = await asyncio.to_thread(accounts_from_settings, app[keys.CONFIG])
    purger = asyncio.create_task(_purge_forever(app))
    try:
        yield
    finally:
        purger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purger


async def _purge_forever(app: web.Application, every: float = 3600.0) -> None:
    while True:
        try:
            accounts = accounts_of(app)
            now = accounts.clock()
            removed = await store.purge_expired(
                app[keys.DB].pool,
                idle=accounts.sessions.idle,
                keep_tokens=timedelta(days=7),
                now=now,
            )
            removed += await sign_in.purge_counters(app[keys.DB].pool, timedelta(days=1), now=now)
            if removed:
                log.info("purged dead sessions and tokens", extra={"rows": removed})
        except Exception:  # try again next hour
            log.exception("purging dead sessions failed")
        await asyncio.sleep(every)
