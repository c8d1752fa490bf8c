"""The lead form and the broker desk in a real browser: a borrower asks for a
broker in one browser, a signed-in broker sees the offer arrive live in
another, accepts it and gets the borrower's contact details."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp

from storage.database import Database
from tests.browser import sign_up_and_in
from tests.support.leads import person, profile
from tests.support.net import eventually

PHONE_SHOWN = "+14155550134"


async def broker_desk(page: Any, base: str, db: Database, email: str) -> str:
    """A broker signed in on `page` through the sign-in form, licensed in CA
    with room for leads (set by an admin through the API); returns their id."""
    await sign_up_and_in(page, base, db, email, "broker")
    broker_id = str(await db.pool.fetchval("SELECT id FROM users WHERE email = $1", email))
    admin = await person(db, "admin")
    async with aiohttp.ClientSession() as http:
        saved = await http.put(
            f"{base}/api/brokers/{broker_id}", json=profile(("CA",)), headers=admin.headers
        )
        assert saved.status == 200, await saved.text()
    return broker_id


async def fill_contact(page: Any) -> None:
    await page.get_by_label("Full name", exact=True).fill("Maria Lopez")
    await page.get_by_label("Email", exact=True).fill("maria@example.com")
    await page.get_by_label("Phone", exact=True).fill("(415) 555-0134")
    await page.get_by_label("When", exact=True).select_option("3_months")
    await page.get_by_label("Message", exact=True).fill("Call after 5pm please")


async def test_a_lead_from_the_form_reaches_the_brokers_desk_live_and_is_accepted(
    site: str,
    db: Database,
    new_page: Callable[..., Any],
) -> None:
    desk = await new_page()
    await broker_desk(desk, site, db, "broker@example.com")
    await desk.get_by_role("link", name="Broker desk").click()
    await desk.wait_for_selector(".status[data-status=live]")
    assert await desk.locator(".offer").count() == 0

    borrower = await new_page()
    await borrower.goto(site + "/calculator")
    await borrower.get_by_label("Home price ($)", exact=True).fill("650000")
    await borrower.get_by_label("Down payment ($)", exact=True).fill("130000")
    await borrower.get_by_label("Credit score", exact=True).fill("742")
    await borrower.get_by_label("State", exact=True).select_option("CA")
    await borrower.get_by_role("button", name="Compare loans").click()
    await borrower.wait_for_selector("section.results[data-calculation]")
    calculation = await borrower.get_attribute("section.results", "data-calculation")
    await borrower.get_by_role("link", name="Talk to a broker about this").click()
    await borrower.get_by_role("heading", name="Talk to a broker").wait_for()
    assert await borrower.get_by_label("Home price ($)", exact=True).input_value() == "650000"
    assert await borrower.get_by_label("Credit score", exact=True).input_value() == "742"
    await fill_contact(borrower)
    consent_shown = await borrower.text_content("#consent-text")
    await borrower.locator("#consent-agreed").check()
    await borrower.get_by_role("button", name="Send to a broker").click()
    confirmation = borrower.locator("section.confirmation")
    await confirmation.get_by_role(
        "heading", name=re.compile("a broker will be in touch")
    ).wait_for()
    lead_id = await confirmation.get_attribute("data-lead")

    stored = await db.pool.fetchrow(
        "SELECT consent->>'text' AS text, consent->>'version' AS version,"
        " consent->>'agreed' AS agreed, calculation_id::text, source"
        " FROM leads WHERE id = $1::uuid",
        lead_id,
    )
    assert (stored["text"], stored["agreed"]) == (consent_shown, "true")
    assert stored["version"] == "2026-12"
    assert (stored["calculation_id"], stored["source"]) == (calculation, "calculator")

    # The offer is on the desk without a reload: first name only, a countdown.
    offer = desk.locator(f".offer[data-lead='{lead_id}']")
    await offer.wait_for(timeout=5_000)
    assert "Maria" in await offer.text_content()
    assert PHONE_SHOWN not in await desk.locator("main").text_content()
    assert re.fullmatch(r"\d+:\d\d", await offer.locator(".countdown").text_content())
    await desk.locator(".notifications li[data-kind=lead_offered]").wait_for()

    await offer.get_by_role("button", name="Accept").click()
    card = desk.locator(f".lead-card[data-lead='{lead_id}']")
    await card.wait_for()
    assert await card.locator("[data-field=phone]").text_content() == PHONE_SHOWN
    assert await card.locator("[data-field=email]").text_content() == "maria@example.com"
    assert await desk.locator(".offer").count() == 0

    await card.get_by_role("button", name="Mark contacted").click()
    await desk.locator(f".lead-card[data-lead='{lead_id}'][data-status=contacted]").wait_for()
    await desk.get_by_role("button", name="Mark won").click()
    await desk.locator(f".lead-card[data-lead='{lead_id}'][data-status=won]").wait_for()
    status = await db.pool.fetchval("SELECT status FROM leads WHERE id = $1::uuid", lead_id)
    assert status == "won"


async def test_a_broker_who_was_away_finds_the_offers_and_the_notifications(
    site: str,
    db: Database,
    new_page: Callable[..., Any],
) -> None:
    desk = await new_page()
    await broker_desk(desk, site, db, "away@example.com")
    await desk.goto(site + "/")
    ids = []
    async with aiohttp.ClientSession() as http:
        for name, phone in (("Sam Rivera", "(415) 555-0199"), ("Kim Park", "(415) 555-0177")):
            body = {
                "name": name,
                "email": f"{name.split()[0].lower()}@example.com",
                "phone": phone,
                "state": "CA",
                "purpose": "refinance",
                "price": "800000",
                "loan_balance": "400000",
                "timeline": "now",
                "consent": {"agreed": True, "text": "I agree to be contacted.", "version": "t1"},
            }
            sent = await http.post(site + "/api/leads", json=body)
            assert sent.status == 202, await sent.text()
            ids.append((await sent.json())["id"])
    await eventually(lambda: db.pool.fetchval("SELECT count(*) = 2 FROM lead_offers"))
    await desk.goto(site + "/broker")
    declined, taken = (desk.locator(f".offer[data-lead='{i}']") for i in ids)
    await declined.wait_for()
    assert "Sam" in await declined.text_content() and "Kim" in await taken.text_content()
    note = desk.locator(".notifications li[data-kind=lead_offered].unread").first
    await note.wait_for()
    await note.get_by_role("button", name="Mark read").click()
    await desk.locator(".notifications li[data-kind=lead_offered].read").wait_for()
    unread = await db.pool.fetchval("SELECT count(*) FROM notifications WHERE read_at IS NULL")
    assert unread == 1

    await declined.get_by_role("button", name="Decline").click()
    await declined.wait_for(state="detached")
    # Taken meanwhile on the broker's other device: the desk's Accept says so.
    cookie = next(c for c in await desk.context.cookies() if c["name"] == "rateline_session")
    async with aiohttp.ClientSession() as http:
        elsewhere = await http.post(
            f"{site}/api/leads/{ids[1]}/accept",
            headers={"Authorization": f"Bearer {cookie['value']}"},
        )
        assert elsewhere.status == 200, await elsewhere.text()
    await taken.get_by_role("button", name="Accept").click()
    await taken.get_by_text("Too late").wait_for()
    assert "another broker took it" in await taken.text_content()
    assert await taken.get_by_role("button", name="Accept").is_disabled()


async def test_a_form_without_consent_shows_the_message_beside_the_consent_box(
    site: str,
    db: Database,
    new_page: Callable[..., Any],
) -> None:
    page = await new_page()
    await page.goto(site + "/")
    await page.get_by_role("link", name="Talk to a broker").click()
    await fill_contact(page)
    await page.get_by_label("Home price ($)", exact=True).fill("500000")
    await page.get_by_label("Down payment ($)", exact=True).fill("100000")
    await page.get_by_role("button", name="Send to a broker").click()
    message = page.locator(".consent .field-error")
    await message.wait_for()
    assert "consent" in await message.text_content()
    assert await page.get_attribute("#consent-agreed", "aria-invalid") == "true"
    assert await page.locator(".field:has(input[name=phone]) .field-error").count() == 0
    assert await db.pool.fetchval("SELECT count(*) FROM leads") == 0
    await page.get_by_label("I want to", exact=True).select_option("refinance")
    assert await page.get_by_label("Down payment ($)", exact=True).is_hidden()
    await page.get_by_label("Loan balance ($)", exact=True).wait_for()


async def test_the_desk_is_for_brokers(
    site: str,
    db: Database,
    new_page: Callable[..., Any],
) -> None:
    page = await new_page()
    await sign_up_and_in(page, site, db, "ada@example.com", "consumer")
    assert await page.get_by_role("link", name="Broker desk").is_hidden()
    await page.goto(site + "/broker")
    await page.get_by_role("heading", name="Brokers only").wait_for()
