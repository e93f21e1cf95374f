"""The staff inbox in headless Chromium (Debian's chromium, driven by Playwright), on a desktop and on a
phone: a staff member opens a conversation waiting for a person, picks a canned reply in the customer's
language, sends it, and sees a new customer message arrive without reloading; on a phone the newest
message comes first, under the reply box. A failing run keeps a screenshot of each page in
.data/test-artifacts/."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from actions.commerce import handoffs, inbox, staff
from actions.commerce.model import CustomerRef
from actions.commerce.ports import StaffMember
from actions.db import tables as t
from tests.e2e.conftest import CHROMIUM, SCREENSHOTS

PASSWORD = "chai-ya-saa-nne-9"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


@pytest.fixture
async def browser(request):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    from playwright.async_api import async_playwright

    pages = []
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)

        async def open_page(name: str, **options):
            page = await (await chromium.new_context(**options)).new_page()
            pages.append((name, page))
            return page

        yield open_page
        outcome = getattr(request.node, "rep_call", None)  # set by pytest_runtest_makereport in conftest.py
        if outcome is not None and outcome.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for name, page in pages:
                shot = SCREENSHOTS / f"{request.node.name}-{name}.png"
                await page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot: {shot}")
        await chromium.close()


@pytest.fixture
async def waiting(shop, stack, services, redis_key_prefix):
    """A Swahili-speaking customer waiting for a person, their conversation in Redis as Rasa keeps it, a
    staff member and a canned reply; the hand-off's id, the conversation's Redis key and a client."""
    conversation = f"106540352242922:2547{uuid.uuid4().int % 10**8:08d}"
    key = f"{redis_key_prefix}:session:{conversation}:events"
    redis = Redis.from_url(services.redis_url)
    events = [
        {"event": "slot", "name": "language", "value": "sw", "timestamp": 1_765_000_000.0},
        {"event": "user", "text": "nataka sukari", "timestamp": 1_765_000_001.0},
        {"event": "bot", "text": "Sukari 1kg ni KES 180", "timestamp": 1_765_000_002.0},
        {"event": "user", "text": "nataka kuongea na mtu", "timestamp": 1_765_000_003.0},
    ]
    await redis.rpush(key, *[json.dumps(e) for e in events])
    await handoffs.ask_for_person(shop.uow(), CustomerRef("demo-shop", conversation), "nataka kuongea na mtu")
    await staff.set_staff(shop.uow(), "demo-shop", "zawadi@demo-shop.example", "Zawadi", PASSWORD)
    async with shop.sessions() as session:
        handoff_id = await session.scalar(select(t.Handoff.id).where(t.Handoff.conversation_id == conversation))
        member = await session.scalar(select(t.StaffUser).where(t.StaffUser.email == "zawadi@demo-shop.example"))
    author = StaffMember(member.id, member.tenant_id, member.email)
    await inbox.save_canned(
        shop.uow(), author, None, "Delivery", "We deliver by 5 pm.", "Tunaleta kabla ya saa 11 jioni."
    )
    yield handoff_id, key, redis
    await redis.delete(key)
    await redis.aclose()


async def sign_in(page, sidecar: str, to: str) -> None:
    await page.goto(f"{sidecar}/admin/login?next={to}")
    await page.fill("input[name=email]", "zawadi@demo-shop.example")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"**{to}")


async def top(page, text: str) -> float:
    return (await page.locator("#thread li", has_text=text).bounding_box())["y"]


async def test_on_a_desktop_staff_answer_with_a_canned_reply_and_see_new_messages_without_a_reload(
    stack, waiting, browser
):
    handoff_id, key, redis = waiting
    page, sidecar = await browser("desktop", **DESKTOP), stack.process("sidecar").url
    await sign_in(page, sidecar, "/admin/handoffs")
    assert "nobody yet" in await page.inner_text("#waiting")
    await page.click(f"a[href='/admin/handoffs/{handoff_id}']")
    await page.wait_for_selector("text=nataka sukari")
    assert await top(page, "nataka sukari") < await top(page, "nataka kuongea na mtu")  # oldest first
    assert (await page.locator("#reply-text").bounding_box())["y"] > await top(page, "nataka kuongea na mtu")

    await page.select_option("#canned", label="Delivery")  # in the customer's language, Swahili
    assert await page.input_value("#reply-text") == "Tunaleta kabla ya saa 11 jioni."
    await page.fill("#reply-text", "Tunaleta kabla ya saa 11 jioni. Asante!")
    await page.click("text=Send to the customer")
    await page.wait_for_selector("text=✓ Sent")
    assert "Tunaleta kabla ya saa 11 jioni. Asante!" in await page.inner_text("#thread li.staff")
    assert await page.inner_text("#assignee") == "Zawadi"

    await page.evaluate("window.notReloaded = true")
    await redis.rpush(key, json.dumps({"event": "user", "text": "sawa, asante sana", "timestamp": 1_765_000_050.0}))
    await page.wait_for_selector("#thread li.customer >> text=sawa, asante sana", timeout=15_000)
    assert await page.evaluate("window.notReloaded") is True


async def test_on_a_phone_the_newest_message_comes_first_under_the_reply_box(stack, waiting, browser):
    handoff_id, key, redis = waiting
    page, sidecar = await browser("phone", **PHONE), stack.process("sidecar").url
    await sign_in(page, sidecar, f"/admin/handoffs/{handoff_id}")
    await page.wait_for_selector("text=nataka sukari")
    assert await top(page, "nataka kuongea na mtu") < await top(page, "Sukari 1kg") < await top(page, "nataka sukari")
    reply_box = await page.locator("#reply-text").bounding_box()
    assert reply_box["y"] < await top(page, "nataka kuongea na mtu")
    assert reply_box["x"] + reply_box["width"] <= 390
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen

    await redis.rpush(key, json.dumps({"event": "user", "text": "uko wapi?", "timestamp": 1_765_000_060.0}))
    await page.wait_for_selector("#thread li.customer >> text=uko wapi?", timeout=15_000)
    assert await top(page, "uko wapi?") < await top(page, "nataka kuongea na mtu")  # the new one on top
