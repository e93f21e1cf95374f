"""Fulfilment through the whole product: the order page's buttons and the orders list's bulk step in
headless Chromium on a desktop and a phone viewport, and an order marked delivered by staff reaching the
customer's conversation, where "where is my order?" then says delivered."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from actions.commerce import cart, orders, payment_requests, settlement, staff
from actions.commerce.model import CustomerRef, Order
from actions.commerce.payments import Notice, PaymentStatus, ProviderEvent
from actions.db import tables as t
from tests.conftest import settings_changed
from tests.sidecar.test_admin import Staff

PASSWORD = "chapati-na-chai-9"


async def paid_order(rt, sender: str, sku: str = "SUGAR-1KG") -> Order:
    who = CustomerRef("demo-shop", sender)
    await cart.add(rt.uow(), who, sku, 1)
    order = await orders.place(rt.uow(), who, "Kilimani")
    payment = await payment_requests.start(rt.uow(), order.id, "mpesa", f"ws_CO_{order.number}", order.total, None)
    event = ProviderEvent(
        "mpesa", "query:0", payment.reference, PaymentStatus.PAID, "reconciliation", order.total,
        notice=Notice.MPESA_PAID,
    )  # fmt: skip
    await settlement.record(rt.uow(), event)
    return order


async def status_of(rt, number: str) -> str:
    async with rt.sessions() as session:
        return await session.scalar(select(t.Order.status).where(t.Order.number == number))


async def sign_in(page, sidecar: str, email: str) -> None:
    await page.goto(f"{sidecar}/admin/")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Needs you")


async def assert_fits(page, selector: str) -> None:
    """The control is on screen, whole, without scrolling sideways (a phone's width too)."""
    box = await page.locator(selector).bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box, width)
    assert box["height"] >= 30, (selector, box)  # big enough to tap


async def test_staff_move_an_order_along_from_its_page_and_several_from_the_list(shop, stack, browser_page):
    page, sidecar = browser_page, stack.process("sidecar").url
    email = f"wanjiku-{uuid.uuid4().hex[:6]}@demo-shop.example"
    await staff.set_staff(shop.uow(), "demo-shop", email, "Wanjiku", PASSWORD)
    one = await paid_order(shop, f"2547{uuid.uuid4().int % 10**8:08d}")
    two = await paid_order(shop, f"2547{uuid.uuid4().int % 10**8:08d}", "MILK-500ML")
    three = await paid_order(shop, f"2547{uuid.uuid4().int % 10**8:08d}", "SUGAR-2KG")
    await sign_in(page, sidecar, email)

    await page.goto(f"{sidecar}/admin/orders/{one.number}")
    for step in ("packed", "out_for_delivery", "delivered"):
        await assert_fits(page, f"#step-{step}")
    await page.click("#step-packed")
    await page.wait_for_selector(f"text=Order {one.number} marked packed")
    assert "packed" in await page.inner_text("#order-status")
    assert await page.locator("#step-packed").count() == 0
    await page.click("#step-delivered")
    await page.wait_for_selector(f"text=Order {one.number} marked delivered")
    assert await page.locator("section.steps").count() == 0  # nothing left to do
    assert await status_of(shop, one.number) == "delivered"

    await page.goto(f"{sidecar}/admin/orders/{two.number}")
    await page.click("#cancel summary")
    await page.fill("#cancel textarea[name=reason]", "Out of milk at the depot")
    await page.click("#step-cancelled")
    await page.wait_for_selector(f"text=Order {two.number} cancelled")
    await page.wait_for_selector("#needs-review")  # the money received, flagged for a refund

    await page.goto(f"{sidecar}/admin/orders?status=paid")
    await page.check(f'input[name=order][value="{three.number}"]')
    await page.select_option("#bulk-to", "out_for_delivery")
    await assert_fits(page, "#bulk-apply")
    await page.click("#bulk-apply")
    await page.wait_for_selector(f"text=1 order(s) marked out for delivery: {three.number}")
    assert [await status_of(shop, o.number) for o in (one, two, three)] == [
        "delivered",
        "cancelled",
        "out_for_delivery",
    ]
    async with shop.sessions() as session:
        actions = (await session.scalars(select(t.AuditEntry.action).order_by(t.AuditEntry.id))).all()
    assert actions == ["order_packed", "order_delivered", "refund_needed", "order_cancelled", "order_out_for_delivery"]


async def test_an_order_marked_delivered_is_told_in_the_chat_and_where_is_my_order_says_delivered(
    shop, stack, bot, sender
):
    await bot.say(sender, "hi")
    with settings_changed(shop, jobs_queue=stack.env["JOBS_QUEUE"]) as rt:  # the stack's worker tells the customer
        order = await paid_order(rt, sender)
    await bot.wait_for_reply(sender, f"Payment received for order {order.number}")
    email = f"baraka-{uuid.uuid4().hex[:6]}@demo-shop.example"
    await staff.set_staff(shop.uow(), "demo-shop", email, "Baraka", PASSWORD)
    member = Staff(stack.process("sidecar").url)
    try:
        assert (await member.sign_in(email, PASSWORD)).status_code == 303
        await member.get(f"/admin/orders/{order.number}")
        assert (await member.post(f"/admin/orders/{order.number}/status", to="delivered")).status_code == 303
    finally:
        await member.http.aclose()
    await bot.wait_for_reply(sender, f"Order {order.number} has been delivered")
    reply = await bot.say(sender, "where is my order?")
    assert f"{order.number} — KES 180 — delivered" in reply
