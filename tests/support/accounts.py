"""People and sessions: users with a session of a given role, and the app
with the account routes and a mailer, signed up and in through the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.test_utils import TestClient

from actors.accounts.hashing import Argon2Params, PasswordHasher
from actors.accounts.throttle import ThrottleRules
from actors.accounts.tokens import new_token
from actors.mailer.actor import NAME, MailerActor
from actors.mailer.config import MailerConfig
from actors.mailer.retry import RetryPolicy
from actors.runtime import ChildSpec, SupervisorSpec
from ops.config import Settings
from protocols.smtp import SmtpConfig
from server import app as app_module
from server import keys
from server.app import create_app
from server.auth import DEPS_KEY, Accounts
from server.routes import auth as auth_routes
from server.routes import dev as dev_routes
from storage import accounts as account_store
from storage import sessions as session_store
from storage.database import Database
from tests.support.net import eventually
from tests.support.smtp import SmtpServer

CHEAP = Argon2Params(time_cost=1, memory_kib=8, parallelism=1)
QUICK_RETRY = RetryPolicy(base=timedelta(milliseconds=200), cap=timedelta(seconds=1))
PASSWORD = "tangerine-orbit-quietly-47"
LOOSE = ThrottleRules(
    free_failures=1000,
    base_delay=timedelta(0),
    max_delay=timedelta(0),
    lock_after=10_000,
    lock_for=timedelta(0),
    window=timedelta(hours=1),
)


async def signed_in(
    db: Database, email: str, role: str = "consumer", name: str = "Test User"
) -> tuple[str, str]:
    """A verified user with one live session (made in the database): (user id, bearer token)."""
    user = await account_store.create_user(
        db.pool, email=email, name=name, password_hash=None, role=role, verified=True
    )
    assert user is not None
    token, digest = new_token()
    await session_store.create_session(
        db.pool,
        user_id=user.id,
        token_hash=digest,
        lifetime=timedelta(hours=1),
        ip=None,
        user_agent=None,
        now=datetime.now(UTC),
    )
    return str(user.id), token


async def session_for(db: Database, role: str) -> dict[str, str]:
    """Headers of a signed-in, verified user with `role`, at `<role>@example.com`."""
    _, token = await signed_in(db, f"{role}@example.com", role, name=role.title())
    return bearer(token)


def make_accounts(settings: Settings, **changes: Any) -> Accounts:
    options: dict[str, Any] = {
        "hasher": PasswordHasher(CHEAP),
        "public_url": settings.public_url,
        "per_ip": LOOSE,
    }
    options.update(changes)
    return Accounts(**options)


def build_app(
    settings: Settings, accounts: Accounts, mailer: MailerConfig | None
) -> web.Application:
    """The real application, with a supervision tree holding only the mailer."""
    children = [ChildSpec(name=NAME, factory=MailerActor, kwargs={"config": mailer})]
    tree = SupervisorSpec(name="test", children=children if mailer else [])
    app = create_app(settings, tree=tree)
    for module in (auth_routes, dev_routes):
        if module not in app_module.ROUTE_MODULES:
            module.routes.install(app)
            app[keys.ENDPOINTS].extend(module.routes.endpoints)
            lifespan = getattr(module, "lifespan", None)
            if lifespan is not None:
                app.cleanup_ctx.append(lifespan)
    app[keys.DEPS][DEPS_KEY] = accounts
    return app


def mailer_config(server: SmtpServer | None, ca_path: str | None = None) -> MailerConfig:
    smtp = SmtpConfig.from_url(server.url(), timeout=5, ca_file=ca_path) if server else None
    return MailerConfig(
        mail_from="Rateline <no-reply@rateline.test>",
        smtp=smtp,
        poll_interval=0.2,
        retry=QUICK_RETRY,
        lease=timedelta(seconds=30),
    )


def link_in(text: str) -> str:
    """The first link of an email body, as a path the test client can open."""
    match = re.search(r"https?://\S+", text)
    assert match, f"no link in {text!r}"
    parts = urlsplit(match.group(0))
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def body_text(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


async def mail_to(server: SmtpServer, address: str, count: int = 1) -> list[Any]:
    def arrived() -> bool:
        return len([m for m in server.handler.received() if m["To"] == address]) >= count

    await eventually(arrived)
    return [m for m in server.handler.received() if m["To"] == address]


async def register(client: TestClient, email: str, name: str = "Ada Lovelace") -> None:
    response = await client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )
    assert response.status == 202, await response.text()
    assert await response.json() == {"status": "verification_sent"}


async def login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
