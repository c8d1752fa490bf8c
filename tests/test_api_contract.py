"""The OpenAPI document is the contract: schemathesis generates requests from
/api/openapi.json (valid and invalid ones) against the whole application on a
real socket (payments configured against a local Stripe, localstripe), with
a signed-in consumer's session and with an admin's (each
operation is also tried without the session: it must then answer 401), and
every answer must be what the document promises. Sign-out runs last, on
its own, since it ends the session it is given.

The run is bounded (a few examples per operation and phase) so it fits CI; a
longer local run is the same command with a larger RATELINE_CONTRACT_EXAMPLES.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ops.config import Settings
from server import keys
from server.app import create_app
from server.auth import DEPS_KEY
from storage.database import Database
from tests.payments_support import FakeStripe, reseed_plans, stripe_settings
from tests.support.accounts import make_accounts, signed_in

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("RATELINE_CONTRACT_EXAMPLES", "5"))
SCHEMATHESIS = shutil.which("schemathesis") or os.path.join(
    os.path.dirname(sys.executable), "schemathesis"
)


async def _session(db: Database, role: str) -> str:
    _, token = await signed_in(db, f"contract-{role}@example.com", role, name=role.title())
    return token


async def _schemathesis(base: str, workdir: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        SCHEMATHESIS,
        "run",
        f"{base}/api/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--seed",
        "20261206",
        "--no-color",
        *args,
        cwd=workdir,  # its cache folder stays out of the checkout
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.contract_hooks",
            "PYTHONPATH": str(ROOT),
        },
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace")


@pytest.fixture
async def contract_client(
    db: Database,
    settings: Settings,
    fake_stripe: FakeStripe,
    aiohttp_client: Callable[..., Any],
) -> TestClient:
    # Payments are configured against localstripe, so the payment operations
    # answer as they do in production rather than 503. The anonymous allowance
    # would answer 429 before most generated requests reach the code under
    # test; it has its own test.
    await reseed_plans(db)
    configured = stripe_settings(settings, fake_stripe.url)
    app = create_app(configured.replace(anon_requests_per_minute=0, anon_requests_per_day=0))
    app[keys.DEPS][DEPS_KEY] = make_accounts(settings)
    return await aiohttp_client(app)


@pytest.mark.timeout(300)
async def test_every_operation_answers_as_the_document_says(
    contract_client: TestClient, db: Database, tmp_path: Path
) -> None:
    base = str(contract_client.make_url("")).rstrip("/")
    user, admin = await _session(db, "consumer"), await _session(db, "admin")
    logout = ("--exclude-operation-id", "post_logout")
    runs = {
        "consumer": ("-H", f"Authorization: Bearer {user}", *logout),
        "admin": ("-H", f"Authorization: Bearer {admin}", *logout),
        "sign-out": (
            "-H",
            f"Authorization: Bearer {user}",
            "--include-operation-id",
            "post_logout",
        ),
    }
    failures = {}
    for who, args in runs.items():
        code, out = await _schemathesis(base, tmp_path, *args)
        print(f"--- as {who}", *out.splitlines()[-40:], sep="\n")  # the figures, for -rP
        if code != 0:
            failures[who] = out[-20000:]
    assert not failures, "\n\n".join(f"--- as {who}\n{out}" for who, out in failures.items())


async def test_allow_lists_exactly_the_documented_methods(contract_client: TestClient) -> None:
    document = await (await contract_client.get("/api/openapi.json")).json()
    documented = {method.upper() for method in document["paths"]["/api/agents/interactions"]}
    refused = await contract_client.post("/api/agents/interactions", json={})
    assert refused.status == 405
    assert set(refused.headers["Allow"].split(", ")) == documented == {"GET"}
    # /api/leads/{id} must not claim /api/leads/create: a lead id is hex and dashes.
    create = await contract_client.get("/api/leads/create")
    assert create.status == 405 and create.headers["Allow"] == "POST"
    assert set(document["paths"]["/api/leads/create"]) == {"post"}
    unknown = await contract_client.post("/api/agents/no_such_agent", json={})
    assert unknown.status == 404 and "mortgage_advisor" in (await unknown.json())["detail"]
