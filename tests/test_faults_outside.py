"""The SMTP relay, the OpenAI API and the FRED rate source unreachable or
hanging, all at once, under the whole application: each degrades its own
feature only. Calculations still answer (with the built-in advisor), sign-up
is still accepted (its email waits in the outbox and goes once the relay is
back), and live rates still come from the simulated source."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from ops.config import Settings
from server.app import create_app
from storage import outbox
from storage.database import Database
from tests.support.accounts import PASSWORD
from tests.support.cli import CALCULATE, PURCHASE, UNLIMITED
from tests.support.net import eventually, free_port
from tests.support.smtp import SmtpServer


@contextlib.asynccontextmanager
async def black_hole(port: int) -> AsyncIterator[None]:
    """A peer that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()


async def outbox_statuses(db: Database, to: str) -> list[str]:
    return [row.status for row in await outbox.recent(db.pool, to=to)]


@pytest.mark.parametrize("fault", ["unreachable", "hanging"])
async def test_each_outside_service_down_degrades_only_its_own_feature(
    fault: str, db: Database, pg_url: str, tmp_path: Path, aiohttp_client
) -> None:
    smtp_port, openai_port, fred_port = free_port(), free_port(), free_port()
    settings = Settings.from_env(
        UNLIMITED,
        database_url=pg_url,
        data_dir=tmp_path,
        port=0,
        db_pool_min=1,
        db_pool_max=5,
        shutdown_timeout=5.0,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        smtp_timeout=0.5,
        mailer_poll_seconds=0.2,
        mailer_retry_base_seconds=0.2,
        mailer_retry_max_seconds=0.5,
        openai_api_key="sk-test",
        openai_base_url=f"http://127.0.0.1:{openai_port}/v1",
        openai_timeout=0.5,
        openai_max_retries=0,
        rate_sources="simulated,fred",
        fred_api_key="fred-test",
        fred_base_url=f"http://127.0.0.1:{fred_port}/fred",
        rate_source_timeout=0.5,
        rate_retry_seconds=0.2,
        rate_unhealthy_after=1,
        sim_interval=0.2,
    )
    async with contextlib.AsyncExitStack() as outside:
        if fault == "hanging":
            for port in (smtp_port, openai_port, fred_port):
                await outside.enter_async_context(black_hole(port))
        client: TestClient = await aiohttp_client(create_app(settings))

        calculated = await client.post(CALCULATE, json=PURCHASE)
        assert calculated.status == 200, await calculated.text()
        body = await calculated.json()
        assert body["options"] and body["recommendations"], body

        email = f"ada-{fault}@example.com"
        registered = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Ada"}
        )
        assert registered.status == 202, await registered.text()

        async def fred_unhealthy() -> bool:
            ready = await (await client.get("/readyz")).json()
            parts = {p["part"]: p for p in ready["parts"]}
            return ready["status"] == "ready" and not parts["rates:fred"]["ok"]

        await eventually(fred_unhealthy)
        before = (await (await client.get("/api/rates")).json())["rates"]
        await eventually(lambda: rates_moved(client, before))

        # The relay has had its tries; the email waits, undelivered.
        await eventually(lambda: attempted(db, email))
        assert await outbox_statuses(db, email) != ["sent"]

    relay = SmtpServer("plain", port=smtp_port).start()
    try:
        await eventually(lambda: delivered(relay, email), within=15)
        await eventually(lambda: sent(db, email))
    finally:
        relay.stop()


async def rates_moved(client: TestClient, before: list[dict[str, str]]) -> bool:
    now = (await (await client.get("/api/rates")).json())["rates"]
    return bool(now) and now != before and {r["source"] for r in now} == {"simulated"}


async def attempted(db: Database, to: str) -> bool:
    return any(row.attempts >= 1 for row in await outbox.recent(db.pool, to=to))


async def delivered(relay: SmtpServer, to: str) -> bool:
    return any(to in str(message) for message in relay.handler.received())


async def sent(db: Database, to: str) -> bool:
    return await outbox_statuses(db, to) == ["sent"]
