"""A real Chromium driven by Playwright, and a real Rateline for it to load.

Chromium comes from Debian (`apt-get install chromium`); Playwright's own
browser download cannot run here, so it is launched from its system path.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ops.config import Settings

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
