"""Fixtures for the payment tests: localstripe as a real local server, the
application pointed at it, signed-in users, cards and signed events."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from ops.config import Settings
from protocols.stripe_adapter import sign_webhook
from storage.database import Database
from storage.migrations import MIGRATIONS_DIR
from tests.support import accounts
from tests.support.net import free_port

SECRET_KEY = "sk_test_rateline"
PUBLISHABLE_KEY = "pk_test_rateline"
WEBHOOK_SECRET = "whsec_rateline_test"
GOOD_CARD = "4242424242424242"
CHARGE_DECLINED_CARD = "4000000000000341"  # attaches, then every charge is declined

# localstripe keeps its whole store in one pickle it rewrites after every
# write; these tests start it from scratch each session, so the file is skipped.
_LAUNCH = (
    "import sys, localstripe.resources as r; r.Store.dump_to_disk = lambda self: None; "
    "from localstripe.server import start; "
    "sys.argv = ['localstripe', '--from-scratch', '--port', sys.argv[1]]; start()"
)


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A localstripe process for the session."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("localstripe did not start")
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


class FakeStripe:
    """Plays Stripe.js and the Stripe dashboard against localstripe."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def call(self, method: str, path: str, data: dict[str, str] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {SECRET_KEY}"}
        async with self.session.request(
            method, self.url + path, data=data, headers=headers
        ) as response:
            body = await response.json(content_type=None) if response.content_length else None
            assert response.status < 300, (response.status, body)
            return body

    async def card(self, number: str = GOOD_CARD) -> str:
        """A PaymentMethod id, as Stripe.js would make one in the browser."""
        method = await self.call(
            "POST",
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
        )
        return str(method["id"])

    async def confirm(self, intent_id: str) -> dict[str, Any]:
        """The browser confirming the PaymentIntent with Stripe."""
        result: dict[str, Any] = await self.call("POST", f"/v1/payment_intents/{intent_id}/confirm")
        return result

    async def deliver_webhooks_to(self, url: str) -> None:
        config = {"url": url, "secret": WEBHOOK_SECRET}
        await self.call("POST", "/_config/webhooks/rateline", config)

    async def stop_webhooks(self) -> None:
        # localstripe cannot unregister; a closed port drops its deliveries.
        await self.deliver_webhooks_to(f"http://127.0.0.1:{free_port()}/gone")


@pytest.fixture
async def fake_stripe(localstripe_url: str) -> AsyncIterator[FakeStripe]:
    async with aiohttp.ClientSession() as session:
        stripe = FakeStripe(session, localstripe_url)
        await stripe.call("DELETE", "/_config/data")
        await stripe.stop_webhooks()
        yield stripe
        await stripe.stop_webhooks()


def stripe_settings(settings: Settings, api_base: str) -> Settings:
    return settings.replace(
        stripe_secret_key=SECRET_KEY,
        stripe_publishable_key=PUBLISHABLE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=api_base,
        payments_reconcile_seconds=3600.0,
        dev_mailbox=True,
    )


async def reseed_plans(db: Database) -> None:
    """The plans the migration seeds (the per-test truncate empties every table)."""
    sql = (MIGRATIONS_DIR / "0060_payments.sql").read_text()
    start = sql.index("INSERT INTO payment_plans")
    await db.pool.execute(sql[start : sql.index(";", start) + 1])


@pytest.fixture
async def pay_client(
    db: Database, settings: Settings, fake_stripe: FakeStripe, aiohttp_client: Any
) -> TestClient:
    """The whole application with payments configured against localstripe."""
    from server.app import create_app

    await reseed_plans(db)

    client: TestClient = await aiohttp_client(
        create_app(stripe_settings(settings, fake_stripe.url))
    )
    return client


async def signed_in(
    db: Database, email: str, *, role: str = "consumer"
) -> tuple[uuid.UUID, dict[str, str]]:
    user_id, token = await accounts.signed_in(db, email, role, name="Pat Buyer")
    return uuid.UUID(user_id), accounts.bearer(token)


def signed_event(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None, age: int = 0
) -> tuple[bytes, dict[str, str]]:
    """A Stripe event and its Stripe-Signature header, `age` seconds old."""
    created = int(time.time()) - age
    body = orjson.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": event_type,
            "created": created,
            "data": {"object": obj},
        }
    )
    header = sign_webhook(body, WEBHOOK_SECRET, timestamp=created)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


async def receipts(client: TestClient, email: str) -> list[dict[str, Any]]:
    response = await client.get("/api/dev/mailbox", params={"to": email})
    assert response.status == 200
    return [m for m in await response.json() if m["subject"].startswith("Your Rateline receipt")]
