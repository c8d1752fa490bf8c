"""A real Chromium driven by Playwright, and a real Rateline for it to load.

Chromium comes from Debian (`apt-get install chromium`); Playwright's own
browser download cannot run here, so it is launched from its system path.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ops.config import Settings
from storage.database import Database
from tests.support.net import free_port

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "needs Debian's Chromium: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


async def start_site(
    aiohttp_server: Callable[..., Any], settings: Settings, **overrides: Any
) -> tuple[str, Any]:
    """Rateline on a port known before it starts, so emailed links point at it."""
    from server.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    site_settings = dataclasses.replace(
        settings, public_url=base, dev_mailbox=True, port=port, **overrides
    )
    app = create_app(site_settings)
    await aiohttp_server(app, port=port)
    return base, app


async def launch_browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    executable = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_up_and_in(page: Any, site: str, db: Database, email: str, role: str) -> None:
    """An account made through the pages, given `role`, signed in on `page`."""
    password = "compiler-nanoseconds-1906"
    async with aiohttp.ClientSession() as http:
        created = await http.post(
            site + "/api/auth/register",
            json={"email": email, "password": password, "name": role.title()},
        )
        assert created.status == 202, await created.text()
    await db.pool.execute(
        "UPDATE users SET role = $2, email_verified_at = now() WHERE email = $1", email, role
    )
    await page.goto(site + "/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name=f"Hello, {role.title()}").wait_for()
