"""Pytest fixtures of the browser tests (tests/conftest.py loads them): one
Chromium per test, pages in fresh contexts, the site on a real socket, and a
screenshot of each page under test-results/<test>/ when the test fails."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ops.config import Settings
from storage.database import Database
from tests.browser import launch_browser, start_site

RESULTS = Path(__file__).resolve().parent.parent / "test-results"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async for launched in launch_browser():
        yield launched


@pytest.fixture
async def new_page(
    browser: Any, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Any]]:
    """Pages in fresh browser contexts (one person each); on failure each
    page's screenshot is saved under test-results/<test>/."""
    pages: list[Any] = []

    async def open_page() -> Any:
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(10_000)
        pages.append(page)
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = RESULTS / re.sub(r"[^\w.-]", "_", request.node.name)
        folder.mkdir(parents=True, exist_ok=True)
        for number, page in enumerate(pages, 1):
            await page.screenshot(path=str(folder / f"page-{number}.png"), full_page=True)
    for page in pages:
        await page.context.close()


@pytest.fixture
async def site(db: Database, settings: Settings, aiohttp_server: Any) -> str:
    base, _ = await start_site(aiohttp_server, settings, sim_interval=3600.0)
    return base
