"""Who may reach what: the dev mailbox off loopback, the container image
without a database, and role changes ending the sessions they affected."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from ops.config import Settings
from storage.database import Database
from tests.support.accounts import (
    bearer,
    build_app,
    mailer_config,
    make_accounts,
    register,
    signed_in,
)

ROOT = Path(__file__).resolve().parent.parent


async def test_the_dev_mailbox_is_for_admins_only_when_the_server_listens_beyond_loopback(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    public = settings.replace(host="0.0.0.0", dev_mailbox=True, smtp_url=None)
    client = await aiohttp_client(build_app(public, make_accounts(public), mailer_config(None)))
    await register(client, "ada@example.com")
    assert (await client.get("/api/dev/mailbox")).status == 404
    _, consumer = await signed_in(db, "grace@example.com")
    assert (await client.get("/api/dev/mailbox", headers=bearer(consumer))).status == 404
    _, admin = await signed_in(db, "root@example.com", role="admin")
    held = await client.get("/api/dev/mailbox", headers=bearer(admin))
    assert held.status == 200
    assert "ada@example.com" in [m["to"] for m in await held.json()]


def test_the_container_refuses_to_start_without_a_database_url() -> None:
    command = next(
        json.loads(line.removeprefix("CMD "))
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD [")
    )
    run = subprocess.run(command, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert run.returncode != 0
    assert "DATABASE_URL" in run.stderr


async def test_a_role_change_ends_the_users_sessions(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(build_app(settings, make_accounts(settings), None))
    broker_id, broker = await signed_in(db, "broker@example.com", role="broker")
    _, admin = await signed_in(db, "root@example.com", role="admin")
    assert (await client.get("/api/auth/me", headers=bearer(broker))).status == 200

    demoted = await client.put(
        f"/api/auth/users/{broker_id}/role", json={"role": "consumer"}, headers=bearer(admin)
    )
    assert demoted.status == 200 and (await demoted.json())["role"] == "consumer"
    assert (await client.get("/api/auth/me", headers=bearer(broker))).status == 401
    assert (await client.get("/api/auth/me", headers=bearer(admin))).status == 200
    left = await db.pool.fetchval(
        "SELECT count(*) FROM sessions WHERE user_id = $1", uuid.UUID(broker_id)
    )
    assert left == 0
