"""Shared fixtures: one real PostgreSQL per test session, a clean database
per test, and the full application over real sockets."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp.test_utils import TestClient

from ops.config import Settings
from storage.database import Database
from storage.embedded import EmbeddedPostgres
from storage.migrations import truncate_all
from tests.support.accounts import build_app, mailer_config, make_accounts
from tests.support.actors import Harness
from tests.support.smtp import SmtpServer
from tests.support.ws import Live, live_server


def _outside_pytest_tmp() -> Iterator[Path]:
    # When run as root the embedded server drops to its own system user, which
    # must traverse the folder's parents; pytest keeps its temporary root
    # private (0700) and re-tightens it, so clusters live in their own folder.
    folder = Path(tempfile.mkdtemp(prefix="rateline-test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data folder the embedded PostgreSQL can use."""
    yield from _outside_pytest_tmp()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """DATABASE_URL when set, else an embedded PostgreSQL for this session."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    for folder in _outside_pytest_tmp():
        server = EmbeddedPostgres(folder)
        try:
            yield server.start()
        finally:
            server.stop()


@pytest.fixture
def settings(pg_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {},
        database_url=pg_url,
        data_dir=tmp_path,
        port=0,
        db_pool_min=1,
        db_pool_max=5,
        shutdown_timeout=5.0,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """A migrated database with every table emptied before the test."""
    database = await Database.open(
        url=settings.database_url, data_dir=settings.data_dir, min_size=1, max_size=5
    )
    async with database.pool.acquire() as conn:
        await truncate_all(conn)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def app_client(db: Database, settings: Settings, aiohttp_client) -> TestClient:
    """The whole application (storage, actors, HTTP) on a real socket."""
    from server.app import create_app

    return await aiohttp_client(create_app(settings))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so fixtures can tell a failure
    (the browser tests save screenshots then)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# --- shared fixtures of the subject tests, and the `integration` marker -------------

pytest_plugins = ["tests.browser_fixtures", "tests.payments_support"]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A throwaway certificate authority for the TLS test servers."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def smtp(ca: trustme.CA) -> Iterator[SmtpServer]:
    """A STARTTLS+AUTH SMTP server recording what it accepts."""
    server = SmtpServer("starttls", ca=ca).start()
    yield server
    server.stop()


@pytest.fixture
async def client(
    db: Database, settings: Settings, smtp: SmtpServer, ca_file: str, aiohttp_client: Any
) -> TestClient:
    """The app with the account routes and SMTP configured; mail lands in `smtp`.
    Modules that need another app define their own `client`."""
    configured = settings.replace(smtp_url=smtp.url())
    app = build_app(configured, make_accounts(configured), mailer_config(smtp, ca_file))
    return await aiohttp_client(app)


@pytest.fixture
async def live(db: Database, settings: Settings, aiohttp_client: Any) -> Live:
    """Start the whole server with a scripted market; returns (client, market)."""
    return live_server(settings, aiohttp_client)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """Supervision trees on this loop, stopped after the test."""
    h = Harness(asyncio.get_running_loop())
    try:
        yield h
    finally:
        for system in h.systems:
            await asyncio.to_thread(system.stop, 5.0)


# What starts PostgreSQL, a server, a subprocess or a browser; a test using any
# of these is `integration`, so `pytest -m "not integration"` stays in-process.
INTEGRATION_FIXTURES = frozenset(
    {
        "pg_url",
        "db",
        "settings",
        "app_client",
        "aiohttp_client",
        "aiohttp_server",
        "aiohttp_raw_server",
        "data_dir",
        "smtp",
        "plain_smtp",
        "starttls_smtp",
        "tls_smtp",
        "browser",
        "new_page",
    }
)
INTEGRATION_MODULES = frozenset(
    {
        "test_cli_serve",
        "test_faults_embedded",
        "test_faults_database_url",
        "test_faults_outside",
        "test_storage_embedded",
        "test_alerting_prometheus",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if fixtures & INTEGRATION_FIXTURES or module in INTEGRATION_MODULES:
            item.add_marker(pytest.mark.integration)
