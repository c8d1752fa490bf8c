"""Registration cannot be used to flood mailboxes or burn CPU: limits per
address and per client IP, and a bound on concurrent password hashing."""

from __future__ import annotations

import asyncio
from typing import Any

from actors.accounts.hashing import Argon2Params, PasswordHasher
from actors.accounts.throttle import PER_IP_MAIL, REGISTER_PER_ADDRESS
from ops.config import Settings
from storage.database import Database
from tests.support.accounts import PASSWORD, build_app, make_accounts


def _body(email: str) -> dict[str, str]:
    return {"email": email, "password": PASSWORD, "name": "Ada Lovelace"}


async def test_registration_is_limited_per_address_and_per_ip(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    http = await aiohttp_client(build_app(settings, make_accounts(settings), None))
    same = [
        (await http.post("/api/auth/register", json=_body("ada@example.com"))).status
        for _ in range(REGISTER_PER_ADDRESS.limit + 1)
    ]
    assert same == [202] * REGISTER_PER_ADDRESS.limit + [429]

    statuses = []
    for n in range(PER_IP_MAIL.limit):
        response = await http.post("/api/auth/register", json=_body(f"user{n}@example.com"))
        statuses.append(response.status)
    assert statuses.count(202) == PER_IP_MAIL.limit - REGISTER_PER_ADDRESS.limit
    refused = await http.post("/api/auth/register", json=_body("late@example.com"))
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    mails = await db.pool.fetchval("SELECT count(*) FROM outbox")
    assert mails == PER_IP_MAIL.limit, "every accepted registration sent one email, no more"


async def test_concurrent_hashing_is_bounded() -> None:
    hasher = PasswordHasher(Argon2Params(time_cost=2, memory_kib=19_456, parallelism=1))
    hashes = await asyncio.gather(*(hasher.hash_async(f"phrase-{n}") for n in range(8)))
    assert len(set(hashes)) == 8
    assert hasher.peak_concurrency == 2

    wide = PasswordHasher(
        Argon2Params(time_cost=2, memory_kib=19_456, parallelism=1), max_concurrent=8
    )
    await asyncio.gather(*(wide.hash_async(f"phrase-{n}") for n in range(8)))
    assert wide.peak_concurrency > 2, "without the bound they would all run at once"
