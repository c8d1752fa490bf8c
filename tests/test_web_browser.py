"""The web app in a real browser, as a person uses it: live rates, the
calculator, signing up through the emailed link, errors beside their field."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ops.config import Settings
from server import keys
from storage.database import Database
from tests.browser import sign_up_and_in, start_site


@pytest.fixture
async def live_site(db: Database, settings: Settings, aiohttp_server: Any) -> tuple[str, Any]:
    return await start_site(aiohttp_server, settings, sim_interval=0.5)


async def card_rates(page: Any) -> dict[str, str]:
    texts: dict[str, str] = await page.eval_on_selector_all(
        "article.rate",
        "cards => Object.fromEntries(cards.map(c => [c.dataset.product,"
        " c.querySelector('[data-field=rate]').textContent]))",
    )
    return texts


async def test_the_rates_page_shows_a_new_rate_without_a_reload(
    live_site: tuple[str, Any], new_page: Callable[..., Any]
) -> None:
    base, _ = live_site
    page = await new_page()
    await page.goto(base + "/")
    await page.wait_for_selector(".status[data-status=live]")
    first = await card_rates(page)
    assert len(first) == 6 and all(re.fullmatch(r"\d+\.\d{3}%", v) for v in first.values())
    await page.evaluate("window.sameDocument = true")
    await page.wait_for_function(
        "before => [...document.querySelectorAll('article.rate')].some(c =>"
        " c.querySelector('[data-field=rate]').textContent !== before[c.dataset.product])",
        arg=first,
    )
    assert await page.evaluate("window.sameDocument") is True
    assert await page.locator("article.rate.flash").count() >= 1
    assert await page.locator("article.rate .sparkline").count() == 6


async def test_after_a_drop_the_page_says_so_and_resumes_where_it_was(
    live_site: tuple[str, Any], new_page: Callable[..., Any]
) -> None:
    base, app = live_site
    page = await new_page()
    await page.add_init_script(
        "const send = WebSocket.prototype.send; window.sent = [];"
        " WebSocket.prototype.send = function (d) { window.sent.push(JSON.parse(d));"
        " return send.call(this, d); };"
    )
    await page.goto(base + "/")
    await page.wait_for_selector(".status[data-status=live]")
    await page.wait_for_function("window.sent.length >= 1")
    hub = app[keys.DEPS]["ws_hub"]
    for conn in list(hub.connections):
        hub.close_connection(conn, 1012, "restarting")
    await page.wait_for_selector(".status[data-status=reconnecting]")
    assert "reconnecting" in (await page.text_content(".status")).lower()
    await page.wait_for_selector(".status[data-status=live]")
    await page.wait_for_function("window.sent.length >= 2")
    resubscribe = (await page.evaluate("window.sent"))[-1]
    assert resubscribe["op"] == "subscribe" and resubscribe["channel"] == "rates"
    assert isinstance(resubscribe["since"], int) and resubscribe["epoch"]
    first = await card_rates(page)
    await page.wait_for_function(
        "before => [...document.querySelectorAll('article.rate')].some(c =>"
        " c.querySelector('[data-field=rate]').textContent !== before[c.dataset.product])",
        arg=first,
    )


async def test_the_calculator_shows_the_api_figures_character_for_character(
    site: str, new_page: Callable[..., Any]
) -> None:
    page = await new_page()
    await page.goto(site + "/calculator")
    await page.get_by_label("Home price ($)").fill("450000")
    await page.get_by_label("Down payment ($)").fill("45000")
    await page.get_by_label("Credit score").fill("700")
    await page.get_by_label("State").select_option("TX")
    await page.get_by_label("Annual income ($)").fill("150000")
    await page.get_by_role("button", name="Compare loans").click()
    await page.wait_for_selector("section.results[data-calculation] table.options")
    calculation = await page.get_attribute("section.results", "data-calculation")
    async with aiohttp.ClientSession() as http:
        stored = await (await http.get(f"{site}/api/mortgage/calculations/{calculation}")).json()
    for option in stored["options"]:
        row = page.locator(f"table.options tr[data-product='{option['product']}']")
        for name, unit in (("rate", "%"), ("apr", "%"), ("payment", "$"), ("piti", "$")):
            expected = (
                "—"
                if option[name] is None
                else (f"{option[name]}%" if unit == "%" else f"${option[name]}")
            )
            assert await row.locator(f"[data-field={name}]").text_content() == expected
    shown = await page.locator("ol.recommendations li strong").all_text_contents()
    assert shown == [r["title"] for r in stored["recommendations"]]

    await page.locator("tr[data-product='30y_fixed'] button").click()
    await page.wait_for_selector("table.schedule-table tbody tr")
    assert await page.locator("table.schedule-table tbody tr").count() == 360
    assert await page.locator("svg.schedule-chart path").count() == 2
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await download_info.value
    saved = await download.path()
    lines = await asyncio.to_thread(lambda: Path(saved).read_text().strip().splitlines())
    assert len(lines) == 361


async def test_sign_up_open_the_emailed_link_and_sign_in(
    site: str, new_page: Callable[..., Any]
) -> None:
    page = await new_page()
    await page.goto(site + "/signup")
    await page.get_by_label("Name").fill("Grace Hopper")
    await page.get_by_label("Email").fill("grace@example.com")
    await page.get_by_label("Password").fill("compiler-nanoseconds-1906")
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    await page.locator(".dev-mailbox a").first.click()
    await page.get_by_role("heading", name="Email confirmed").wait_for()
    await page.get_by_role("link", name="Sign in").last.click()
    await page.get_by_label("Email").fill("grace@example.com")
    await page.get_by_label("Password").fill("compiler-nanoseconds-1906")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Hello, Grace Hopper").wait_for()
    assert "(this device)" in await page.locator("ul.sessions").text_content()
    assert await page.text_content("#who") == "Grace Hopper"


async def test_a_bad_input_shows_the_message_beside_its_field(
    site: str, new_page: Callable[..., Any]
) -> None:
    page = await new_page()
    await page.goto(site + "/calculator")
    await page.get_by_label("Credit score").fill("200")
    await page.get_by_role("button", name="Compare loans").click()
    message = page.locator(".field:has(input[name=credit_score]) .field-error")
    await message.wait_for()
    assert "850" in await message.text_content()
    assert await page.get_attribute("input[name=credit_score]", "aria-invalid") == "true"
    assert await page.locator(".field:has(input[name=price]) .field-error").count() == 0


async def test_an_admin_sees_the_findings_and_searches_the_audit_log(
    site: str, db: Database, new_page: Callable[..., Any]
) -> None:
    page = await new_page()
    await sign_up_and_in(page, site, db, "root@example.com", "admin")
    await page.get_by_role("link", name="Admin").click()
    await page.get_by_role("heading", name="Security findings").wait_for()
    await page.get_by_role("button", name="Scan now").click()
    await page.locator(".finding-list li[data-id='pg.superuser']").wait_for()
    await page.get_by_label("Action").fill("sign_in")
    await page.get_by_role("button", name="Search").click()
    row = page.locator(".audit-table tbody tr").first
    await row.wait_for()
    assert "root@example.com" in await row.text_content()
    assert "success" in await row.text_content()


async def test_the_admin_page_is_closed_to_others(
    site: str, db: Database, new_page: Callable[..., Any]
) -> None:
    page = await new_page()
    await sign_up_and_in(page, site, db, "ada@example.com", "consumer")
    assert await page.get_by_role("link", name="Admin").is_hidden()
    await page.goto(site + "/admin")
    await page.get_by_role("heading", name="Admins only").wait_for()


async def test_an_admin_backs_up_from_the_page_and_sees_it_verified(
    site: str, db: Database, new_page: Callable[..., Any]
) -> None:
    page = await new_page()
    await sign_up_and_in(page, site, db, "root@example.com", "admin")
    await page.goto(site + "/admin")
    await page.get_by_role("heading", name="Backups").wait_for()
    await page.get_by_role("button", name="Back up now").click()
    started = page.locator(".backups [role=status]")
    await started.filter(has_text="started").wait_for()
    backup_id = (await started.text_content() or "").split()[1]
    row = page.locator(f".backup-table tr[data-id='{backup_id}']")
    await row.wait_for()
    for _ in range(240):  # a real dump, restored into a scratch cluster to verify it
        if await row.get_attribute("data-status") != "running":
            break
        await page.wait_for_timeout(500)
        await page.get_by_role("button", name="Refresh").click()
    assert await row.get_attribute("data-status") == "verified"
    assert "MiB" in (await row.text_content() or "")
