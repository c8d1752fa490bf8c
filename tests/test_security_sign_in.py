"""The sign-in throttle under attack: concurrent guesses are counted before
any password is checked, and a stranger failing on purpose slows the owner
down but cannot lock them out."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from actors.accounts.hashing import Argon2Params, PasswordHasher
from actors.accounts.throttle import PER_ACCOUNT, ThrottleRules
from ops.config import Settings
from storage import accounts as account_store
from storage.database import Database
from tests.support.accounts import PASSWORD, build_app, make_accounts
from tests.support.clock import ManualClock

CHEAP = Argon2Params(time_cost=1, memory_kib=8, parallelism=1)
EMAIL = "ada@example.com"


async def _account(db: Database, hasher: PasswordHasher) -> None:
    await account_store.create_user(
        db.pool, email=EMAIL, name="Ada", password_hash=hasher.hash(PASSWORD), verified=True
    )


async def _sign_in(http: TestClient, password: str, ip: str | None = None) -> Any:
    headers = {"X-Forwarded-For": ip} if ip else {}
    return await http.post(
        "/api/auth/login", json={"email": EMAIL, "password": password}, headers=headers
    )


async def test_sixty_concurrent_guesses_verify_only_the_free_few(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    hasher = PasswordHasher(CHEAP)
    http = await aiohttp_client(build_app(settings, make_accounts(settings, hasher=hasher), None))
    await _account(db, hasher)
    before = hasher.verifications

    answers = await asyncio.gather(*(_sign_in(http, "wrong-guess-0000") for _ in range(60)))
    statuses = sorted(a.status for a in answers)

    verified = hasher.verifications - before
    assert verified <= PER_ACCOUNT.free_failures + 1, f"{verified} passwords were checked"
    assert statuses.count(401) == verified
    assert statuses.count(429) == 60 - verified


async def test_a_stranger_locks_only_their_own_address_and_slows_the_owner(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    pair = ThrottleRules(
        free_failures=2,
        base_delay=timedelta(hours=1),
        max_delay=timedelta(hours=1),
        lock_after=3,
        lock_for=timedelta(hours=1),
        window=timedelta(hours=1),
    )
    address = ThrottleRules(
        free_failures=4,
        base_delay=timedelta(milliseconds=300),
        max_delay=timedelta(milliseconds=300),
        lock_after=2**31,
        lock_for=timedelta(0),
        window=timedelta(hours=1),
    )
    configured = settings.replace(trusted_proxies="127.0.0.1")
    hasher = PasswordHasher(CHEAP)
    clock = ManualClock()
    accounts = make_accounts(
        configured, hasher=hasher, per_account=pair, per_address=address, clock=clock
    )
    http = await aiohttp_client(build_app(configured, accounts, None))
    await _account(db, hasher)
    stranger, owner = "203.0.113.7", "198.51.100.9"

    tries = [(await _sign_in(http, "wrong-guess-0000", stranger)).status for _ in range(4)]
    assert tries == [401, 401, 401, 429]
    locked = await _sign_in(http, PASSWORD, stranger)
    assert locked.status == 429 and "locked" in (await locked.json())["detail"]

    assert (await _sign_in(http, PASSWORD, owner)).status == 200, "not locked out elsewhere"
    assert (await _sign_in(http, PASSWORD, stranger)).status == 429, "the stranger's lock stays"

    # Failures from many addresses: the owner waits a little, but is never locked.
    for n in range(5):
        assert (await _sign_in(http, "wrong-guess-0000", f"192.0.2.{n}")).status == 401
    slowed = await _sign_in(http, PASSWORD, owner)
    assert slowed.status == 429
    assert "locked" not in (await slowed.json())["detail"]
    assert int(slowed.headers["Retry-After"]) <= 1
    clock.advance(0.4)
    assert (await _sign_in(http, PASSWORD, owner)).status == 200
