"""The admin pages in headless Chromium (Debian's chromium, driven by Playwright): a staff member
signs in, opens a pending M-Pesa payment whose callback never came, presses "Refresh status" and
sees it paid. A failing run keeps a screenshot in .data/test-artifacts/."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from actions.commerce import cart, orders, payment_requests, staff
from actions.commerce.model import CustomerRef
from actions.db import tables as t
from actions.payments.mpesa import DarajaClient, DarajaConfig, TokenCache
from devstack.paths import DATA_DIR

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = DATA_DIR / "test-artifacts"
PASSWORD = "mandazi-asubuhi-7"


@pytest.fixture
async def stuck_payment(shop, stack):
    """An order whose STK push reached the phone and was paid, but whose callback never arrived
    (the simulator sends none for numbers ending in 0000), and the worker will not ask for an hour."""
    phone = f"2547{uuid.uuid4().int % 10**4:04d}0000"
    who = CustomerRef("demo-shop", phone)
    await cart.add(shop.uow(), who, "SUGAR-2KG", 1)
    order = await orders.place(shop.uow(), who, "Kilimani, near Yaya Centre")
    env = stack.env
    config = DarajaConfig(
        base_url=env["MPESA_BASE_URL"],
        consumer_key=env["MPESA_CONSUMER_KEY"],
        consumer_secret=env["MPESA_CONSUMER_SECRET"],
        shortcode=env["MPESA_SHORTCODE"],
        passkey=env["MPESA_PASSKEY"],
        transaction_type="CustomerPayBillOnline",
        callback_url=f"{env['PUBLIC_BASE_URL']}/payments/mpesa/callback/x.y",
    )
    async with httpx.AsyncClient(timeout=10) as http:
        push = await DarajaClient(config, http, TokenCache()).stk_push(order.total, phone, order.number, "Order")
    payment = await payment_requests.start(
        shop.uow(), order.id, "mpesa", push.checkout_request_id, order.total, phone, first_check=timedelta(hours=1)
    )
    return order, payment


@pytest.fixture
async def browser_page(request):
    """A page in headless chromium; `request.param` (indirect parametrization) may set its viewport."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = await browser.new_page(viewport=getattr(request, "param", None))
        yield page
        outcome = getattr(request.node, "rep_call", None)  # set by pytest_runtest_makereport in conftest.py
        if outcome is not None and outcome.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = SCREENSHOTS / f"{request.node.name}.png"
            await page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
        await browser.close()


async def test_a_stuck_payment_is_found_and_settled_from_the_admin_pages(shop, stack, stuck_payment, browser_page):
    order, payment = stuck_payment
    await staff.set_staff(shop.uow(), "demo-shop", "wanjiku@demo-shop.example", "Wanjiku", PASSWORD)
    page, sidecar = browser_page, stack.process("sidecar").url

    await page.goto(f"{sidecar}/admin/")
    await page.fill("input[name=email]", "wanjiku@demo-shop.example")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Pending payments: 1")

    await page.click("text=Pending payments: 1")
    await page.click(f"a[href='/admin/payments/{payment.id}']")
    assert await page.inner_text("#payment-status") == "pending"

    await page.click("text=Refresh status")
    await page.wait_for_selector("text=mpesa says: paid.")
    assert await page.inner_text("#payment-status") == "paid"
    async with shop.sessions() as session:
        assert (await session.scalar(select(t.Order.status).where(t.Order.id == order.id))) == "paid"
        [action] = (await session.scalars(select(t.AuditEntry.action))).all()
    assert action == "refresh_status"

    await page.click(f"text={order.number}")
    await page.wait_for_selector("text=staff_refresh")
    assert "paid" in await page.inner_text("h1")
