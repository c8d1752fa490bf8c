"""Alerts on the admin page in a real browser: a rule driven to firing shows
up without a reload, and the admin acknowledges it there."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import Gauge

from ops.config import Settings
from storage.database import Database
from tests.alerting_support import gauge_rule
from tests.browser import sign_up_and_in, start_site

BACKLOG = Gauge("rateline_test_web_backlog", "A gauge the admin page test drives.")


@pytest.fixture
async def alerting_site(
    db: Database, settings: Settings, tmp_path: Path, aiohttp_server: Any
) -> str:
    rules = tmp_path / "rules.json"
    rule = gauge_rule(name="WebBacklogHigh", metric="rateline_test_web_backlog", severity="warning")
    rules.write_text(json.dumps({"rules": [rule]}))
    BACKLOG.set(0)
    base, _ = await start_site(
        aiohttp_server, settings, sim_interval=3600.0, alert_rules=rules, alert_eval_seconds=0.2
    )
    return base


async def test_a_firing_alert_shows_live_and_is_acknowledged_on_the_admin_page(
    alerting_site: str, db: Database, new_page: Callable[..., Any]
) -> None:
    page = await new_page()
    await sign_up_and_in(page, alerting_site, db, "root@example.com", "admin")
    await page.get_by_role("link", name="Admin").click()
    await page.get_by_role("heading", name="Firing alerts").wait_for()
    ours = page.locator(".alert-list li[data-name=WebBacklogHigh]")
    assert await ours.count() == 0
    await page.evaluate("window.sameDocument = true")

    BACKLOG.set(42)
    await ours.wait_for()
    assert "the queue holds 42 items" in await ours.text_content()
    assert await page.evaluate("window.sameDocument") is True  # no reload

    await ours.get_by_role("button", name="Acknowledge").click()
    await ours.locator(".acked").wait_for()
    assert "Acknowledged by root@example.com" in await ours.text_content()
    stored = await db.pool.fetchval(
        "SELECT acknowledged_by FROM alerts WHERE name = 'WebBacklogHigh'"
    )
    assert stored == "root@example.com"

    await page.reload()
    await page.get_by_role("heading", name="Firing alerts").wait_for()
    await ours.locator(".acked").wait_for()
    BACKLOG.set(0)
    await ours.wait_for(state="detached")
