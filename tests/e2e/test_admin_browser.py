"""The admin pages in headless Chromium (Debian's chromium, driven by Playwright), each test on a desktop
and on a phone screen (the `viewport` fixture of conftest.py): every page fits the screen, with its
controls big enough to tap and its tables scrolling in their own box or laid out as cards; a staff
member signs in, opens a pending M-Pesa payment whose callback never came, presses "Refresh status" and
sees it paid. A failing test keeps a screenshot in .data/screenshots/."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from actions.commerce import cart, orders, payment_requests, staff
from actions.commerce.model import CustomerRef
from actions.db import tables as t
from actions.payments.mpesa import DarajaClient, DarajaConfig, TokenCache
from tests.e2e.conftest import screenshot
from tests.e2e.layout import Viewport, layout_problems

PASSWORD = "mandazi-asubuhi-7"
STAFF = "wanjiku@demo-shop.example"


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


async def press(page, viewport: Viewport, selector: str) -> None:
    """A finger on a phone, the mouse on a desktop."""
    if viewport.has_touch:
        await page.tap(selector)
    else:
        await page.click(selector)


async def sign_in(page, viewport: Viewport, sidecar: str) -> None:
    await page.goto(f"{sidecar}/admin/")
    await page.fill("input[name=email]", STAFF)
    await page.fill("input[name=password]", PASSWORD)
    await press(page, viewport, "button[type=submit]")
    await page.wait_for_selector("text=Sales")


async def test_a_stuck_payment_is_found_and_settled_from_the_admin_pages(
    shop, stack, stuck_payment, browser_page, viewport
):
    order, payment = stuck_payment
    await staff.set_staff(shop.uow(), "demo-shop", STAFF, "Wanjiku", PASSWORD)
    page, sidecar = browser_page, stack.process("sidecar").url

    await sign_in(page, viewport, sidecar)
    await press(page, viewport, "text=Pending payments: 1")
    await press(page, viewport, f"a[href='/admin/payments/{payment.id}']")
    assert await page.inner_text("#payment-status") == "pending"

    await press(page, viewport, "text=Refresh status")
    await page.wait_for_selector("text=mpesa says: paid.")
    assert await page.inner_text("#payment-status") == "paid"
    async with shop.sessions() as session:
        assert (await session.scalar(select(t.Order.status).where(t.Order.id == order.id))) == "paid"
        [action] = (await session.scalars(select(t.AuditEntry.action))).all()
    assert action == "refresh_status"

    await press(page, viewport, f"text={order.number}")
    await page.wait_for_selector("text=staff_refresh")
    assert "paid" in await page.inner_text("h1")


CONVERSATION = "106540352242922:254733000111"


@pytest.fixture
async def a_busy_shop(shop):
    """Something on every page, with long words where a real shop has them: an order with a long address
    and a payment pending, a customer waiting for a person, a message for the conversation review."""
    who = CustomerRef("demo-shop", f"106540352242922:2547{uuid.uuid4().int % 10**8:08d}")
    await cart.add(shop.uow(), who, "SUGAR-2KG", 3)
    await cart.add(shop.uow(), who, "SUGAR-1KG", 1)
    address = "Kilimani, Argwings Kodhek Road, Yaya Centre, second floor, next to the pharmacy, ask for Wanjiku"
    order = await orders.place(shop.uow(), who, address)
    reference = f"ws_CO_{uuid.uuid4().hex.upper()}"
    payment = await payment_requests.start(
        shop.uow(), order.id, "mpesa", reference, order.total, "254712345678", first_check=timedelta(hours=1)
    )
    async with shop.uow() as uow:
        tenant = await uow.tenants.by_slug("demo-shop")
        await uow.handoffs.request(tenant.id, CONVERSATION, "nataka kuongea na mtu kuhusu oda yangu ya jana tafadhali")
        await uow.commit()
    await unsure_message(shop, CONVERSATION, "mko na kasuku ya nusu leo", "search_product", 0.31)
    return order, payment


async def unsure_message(rt, conversation: str, text: str, intent: str, confidence: float) -> None:
    """An archived session with one message the model was unsure about, as the tracker store archives it."""
    now = time.time() - 600
    ranking = [{"name": intent, "confidence": confidence}, {"name": "add_to_cart", "confidence": 1 - confidence}]
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking}
    events = [
        {"event": "action", "name": "action_session_start", "timestamp": now},
        {"event": "session_started", "timestamp": now + 0.001},
        {"event": "slot", "name": "tenant", "value": "demo-shop", "timestamp": now + 0.002},
        {"event": "action", "name": "action_listen", "timestamp": now + 0.003},
        {"event": "user", "text": text, "parse_data": parse, "timestamp": now + 1, "message_id": uuid.uuid4().hex},
        {"event": "action", "name": "action_search_products", "timestamp": now + 1.1},
    ]
    async with rt.sessions() as session, session.begin():
        for position, event in enumerate(events):
            session.add(
                t.ConversationEvent(
                    conversation_id=conversation,
                    position=position,
                    event_type=event["event"],
                    occurred_at=event["timestamp"],
                    event=json.loads(json.dumps(event)),
                )
            )


MAIN_ACTIONS = {
    "orders": ["text={order.number}", "button:has-text('Filter')"],
    "payment": ["text=Refresh status", "text=Mark verified"],
    "handoffs": ["text=Hand back to the bot"],
    "review": ["text=Add as example"],
    "reminders": ["button:has-text('Save')"],
    "handoff": ["text=Send to the customer", "text=Hand back to the bot"],
    "product": ["button:has-text('Save')"],
}


def admin_pages(order, payment, handoff_id: int, product_id: int) -> list[tuple[str, str]]:
    """Every page a shop's staff open (the sign-in page is checked before signing in; the owners' and
    operators' pages in tests/e2e/test_shop_pages_browser.py)."""
    return [
        ("home", "/admin/"),
        ("orders", "/admin/orders"),
        ("order", f"/admin/orders/{order.number}"),
        ("payments", "/admin/payments"),
        ("payments-needing-review", "/admin/payments?review=1"),
        ("payment", f"/admin/payments/{payment.id}"),
        ("handoffs", "/admin/handoffs"),
        ("review", "/admin/review"),
        ("reminders", "/admin/reminders"),
        ("handoff", f"/admin/handoffs/{handoff_id}"),
        ("canned-replies", "/admin/canned-replies"),
        ("catalog", "/admin/catalog"),
        ("product", f"/admin/catalog/products/{product_id}"),
        ("catalog-upload", "/admin/catalog/upload"),
        ("low-stock", "/admin/catalog/low-stock?at_most=50"),
        ("not-found", "/admin/orders/NOSUCH"),
    ]


async def test_every_admin_page_fits_the_screen_and_its_controls_can_be_tapped(
    request, shop, stack, a_busy_shop, browser_page, viewport
):
    order, payment = a_busy_shop
    await staff.set_staff(shop.uow(), "demo-shop", STAFF, "Wanjiku", PASSWORD)
    page, sidecar = browser_page, stack.process("sidecar").url
    problems: dict[str, list[str]] = {}

    async def check(name: str) -> None:
        found = await layout_problems(page, viewport)
        if found or os.environ.get("KEEP_SCREENSHOTS"):  # KEEP_SCREENSHOTS=1: every page, to look at them
            print(f"{name}: {found}; screenshot: {await screenshot(page, f'{request.node.name}-{name}')}")
        if found:
            problems[name] = found

    await page.goto(f"{sidecar}/admin/login")
    await check("sign-in")
    await sign_in(page, viewport, sidecar)
    async with shop.sessions() as session:
        demo = select(t.Tenant.id).where(t.Tenant.slug == "demo-shop").scalar_subquery()
        handoff_id = await session.scalar(
            select(func.max(t.Handoff.id)).where(t.Handoff.conversation_id == CONVERSATION)
        )
        product_id = await session.scalar(
            select(t.Product.id).where(t.Product.tenant_id == demo, t.Product.sku == "SUGAR-2KG")
        )
    for name, path in admin_pages(order, payment, handoff_id, product_id):
        await page.goto(f"{sidecar}{path}")
        await check(name)
        for selector in MAIN_ACTIONS.get(name, []):  # the checks would pass on an empty page: these are there
            box = await page.locator(selector.format(order=order)).first.bounding_box()
            inside = box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport.width
            if not inside:
                problems.setdefault(name, []).append(f"{selector} is not in the window: {box}")
    assert problems == {}
