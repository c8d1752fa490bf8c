"""Shared fixtures: one real PostgreSQL per test session, a clean database
per test, and the full application over real sockets."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ops.config import Settings
from storage.database import Database
from storage.embedded import EmbeddedPostgres
from storage.migrations import truncate_all


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
