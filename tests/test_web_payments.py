"""The payment page in a real browser against localstripe and its Stripe.js
stand-in: choose a plan, type a test card, see the subscription active."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from ops.config import Settings
from storage.database import Database
from tests.browser import sign_up_and_in, start_site
from tests.payments_support import (
    CHARGE_DECLINED_CARD,
    GOOD_CARD,
    FakeStripe,
    reseed_plans,
    stripe_settings,
)

ATTACH_DECLINED_CARD = "4000000000000002"


@pytest.fixture
async def pay_site(
    db: Database, settings: Settings, fake_stripe: FakeStripe, aiohttp_server: Any
) -> str:
    await reseed_plans(db)
    paying = stripe_settings(settings, fake_stripe.url)
    base, _ = await start_site(
        aiohttp_server,
        paying,
        sim_interval=3600.0,
        stripe_js_url=f"{fake_stripe.url}/js.stripe.com/v3/",
    )
    return base


async def type_card(page: Any, number: str) -> None:
    """The stand-in's card Element: number, month, year, CVC, postal code."""
    for placeholder, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "94110"),
    ):
        await page.locator(f"#card input[placeholder={placeholder}]").fill(value)


async def test_paying_for_a_plan_with_a_test_card_shows_the_subscription_active(
    pay_site: str, db: Database, new_page: Callable[..., Any]
) -> None:
    page = await new_page()
    await sign_up_and_in(page, pay_site, db, "payer@example.com", "broker")
    await page.get_by_role("link", name="Plans").click()
    await page.get_by_role("heading", name="Choose a plan").wait_for()
    assert "You have no subscription." in await page.text_content("section.subscription")
    await page.locator("#card input[placeholder=number]").wait_for()

    await page.get_by_label("Broker Pro (monthly): $49.00 a month").check()
    await type_card(page, GOOD_CARD)
    await page.get_by_role("button", name="Pay").click()

    status = page.locator("[data-field=subscription-status]")
    await status.and_(page.locator("[data-status=active]")).wait_for()
    assert "Broker Pro (monthly)" in await page.text_content("section.subscription")
    assert "renews on" in await page.text_content("section.subscription")
    payment = page.locator("p.payment")
    assert await payment.get_attribute("data-status") == "succeeded"
    assert "$49.00" in await payment.text_content()

    async with aiohttp.ClientSession() as http:
        mail = await (
            await http.get(pay_site + "/api/dev/mailbox", params={"to": "payer@example.com"})
        ).json()
    receipt = re.search(r"receipt (RL-[^\s,)]+)", await payment.text_content())
    assert receipt is not None
    receipts = [m for m in mail if m["subject"].startswith("Your Rateline receipt")]
    assert len(receipts) == 1 and receipt.group(1) in receipts[0]["text"]


@pytest.mark.parametrize("card", [ATTACH_DECLINED_CARD, CHARGE_DECLINED_CARD])
async def test_a_declined_card_is_said_beside_the_card_and_nothing_is_subscribed(
    pay_site: str, db: Database, new_page: Callable[..., Any], card: str
) -> None:
    page = await new_page()
    await sign_up_and_in(page, pay_site, db, "declined@example.com", "broker")
    await page.goto(pay_site + "/payments")
    await page.locator("#card input[placeholder=number]").wait_for()
    await page.get_by_label("Broker Pro (monthly): $49.00 a month").check()
    await type_card(page, card)
    await page.get_by_role("button", name="Pay").click()
    message = page.locator("#card-field .field-error")
    await message.wait_for()
    assert "declined" in (await message.text_content()).lower()
    assert "You have no subscription." in await page.text_content("section.subscription")
    subscribed = await db.pool.fetchval(
        "SELECT count(*) FROM subscriptions WHERE status = 'active'"
    )
    assert subscribed == 0


async def test_only_the_payment_page_may_load_stripe_js(pay_site: str) -> None:
    async with aiohttp.ClientSession() as http:
        rates = (await http.get(pay_site + "/")).headers["Content-Security-Policy"]
        paying = (await http.get(pay_site + "/payments")).headers["Content-Security-Policy"]
    assert "/js.stripe.com/v3/" not in rates and "script-src 'self';" in rates
    assert "/js.stripe.com/v3/" in paying
    assert "frame-ancestors 'none'" in rates and "frame-ancestors 'none'" in paying
