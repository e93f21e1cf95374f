"""A second shop made from the pages, in headless Chromium on a desktop and a phone viewport: an operator
creates it, enters its own M-Pesa till (the simulator knows it, and refuses a wrong secret), tests the
connection, and the shop takes a payment that the simulator pushes with its shortcode, its own callback
reaches the stack's sidecar, and the stack's worker settles with the shop's credentials. A failing run
keeps a screenshot in .data/screenshots/. No Rasa server: the payment is asked for in this process."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from actions.commerce import cart, orders, payment_requests, staff
from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.commerce.model import CustomerRef
from actions.db import tables as t
from tests.conftest import settings_changed
from tests.e2e.layout import layout_problems
from tests.waiting import eventually

PASSWORD = "chai-ya-saa-nne-4"


async def test_a_shop_created_from_the_pages_is_paid_through_its_own_till(shop, stack, browser_page, viewport):
    page, sidecar, simulator = browser_page, stack.process("sidecar").url, stack.env["MPESA_BASE_URL"]
    tag = uuid.uuid4().hex[:6]
    till = {"consumer_key": f"till-{tag}-consumer", "consumer_secret": f"till-{tag}-secret-xyz",
            "shortcode": "600777", "passkey": f"till-{tag}-passkey-0123"}  # fmt: skip
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{simulator}/simulator/accounts", json={"mpesa": [till]})).status_code == 200
    await staff.set_staff(shop.uow(), "demo-shop", "ops@platform.example", "Ops", PASSWORD, "operator")

    await page.goto(f"{sidecar}/admin/")
    await page.fill("input[name=email]", "ops@platform.example")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.click("header >> text=Shops")
    assert await layout_problems(page, viewport) == [], "the shops page"
    await page.fill("input[name=name]", "Duka la Pili")
    await page.fill("input[name=slug]", f"duka-{tag}")
    await page.fill("input[name=whatsapp]", f"10654{uuid.uuid4().int % 10**8:08d}")
    await page.fill("input[name=owner_email]", f"owner-{tag}@pili.example")
    await page.click("text=Create shop and invite its owner")
    await page.wait_for_selector("text=Shop Duka la Pili created.")
    assert f"{sidecar}/admin/invite/" in await page.input_value("#invite-link")
    await page.click("text=Go to the shop")
    assert await layout_problems(page, viewport) == [], "the shop's page"

    mpesa = page.locator("#account-mpesa")
    await mpesa.locator("input[name=shortcode]").fill(till["shortcode"])
    await mpesa.locator("select[name=kind]").select_option("till")
    for name in ("consumer_key", "passkey"):
        await mpesa.locator(f"input[name={name}]").fill(till[name])
    await mpesa.locator("input[name=consumer_secret]").fill("a-guessed-secret-000")
    await mpesa.locator("text=Test connection").click()
    await page.wait_for_selector("text=Connection failed")
    assert "400.008.01" in await page.inner_text("#account-mpesa")
    assert "a-guessed-secret-000" not in await page.content()

    mpesa = page.locator("#account-mpesa")
    await mpesa.locator("input[name=shortcode]").fill(till["shortcode"])
    await mpesa.locator("select[name=kind]").select_option("till")
    for name in ("consumer_key", "consumer_secret", "passkey"):
        await mpesa.locator(f"input[name={name}]").fill(till[name])
    await mpesa.locator("button[value=save]").click()
    await page.wait_for_selector("text=new mpesa payments of this shop use its own account")
    await page.locator("#account-mpesa >> text=Test connection").click()  # secrets left empty: the stored ones
    await page.wait_for_selector("text=Connection works")
    shown = await page.inner_text("#account-mpesa")
    assert "••••" + till["consumer_secret"][-4:] in shown and "••••0123" in shown
    content = await page.content()
    assert all(secret not in content for secret in (till["consumer_secret"], till["passkey"], till["consumer_key"]))

    # The shop's first sale, paid through its own till and settled by the stack's sidecar and worker.
    slug = f"duka-{tag}"
    await import_catalog(shop.uow(), slug, "Duka la Pili", "KES", parse_catalog("sku,name,category,price,stock\n"
                         "CHAI-1,Chai Leaves 250g,Drinks,120,9\n", "KES"))  # fmt: skip
    env = stack.env
    with settings_changed(
        shop, mpesa_base_url=simulator, mpesa_consumer_key=env["MPESA_CONSUMER_KEY"],
        mpesa_consumer_secret=env["MPESA_CONSUMER_SECRET"], mpesa_passkey=env["MPESA_PASSKEY"],
        public_base_url=sidecar, shop_secrets_key=env["SHOP_SECRETS_KEY"],
    ) as rt:  # fmt: skip
        who = CustomerRef(slug, f"2547{uuid.uuid4().int % 10**8:08d}")
        await cart.add(rt.uow(), who, "CHAI-1", 1)
        order = await orders.place(rt.uow(), who, "Ngong Road")
        requested = await payment_requests.request_payment(
            rt.uow(), rt.providers, who, order, "mpesa", who.external_id, rt.settings.check_policy
        )
    async with httpx.AsyncClient() as http:
        record = (await http.get(f"{simulator}/simulator/record")).json()["mpesa"]
    [push] = [p for p in record if p["checkout_request_id"] == requested.payment.reference]
    assert push["shortcode"] == "600777" and push["amount"] == 120

    async def paid():
        async with shop.sessions() as session:
            row = await session.get(t.Payment, requested.payment.id, populate_existing=True)
            kinds = (
                await session.scalars(select(t.PaymentEvent.kind).where(t.PaymentEvent.payment_id == row.id))
            ).all()
        return row.status == "paid" and sorted(kinds) == ["reconciliation", "stk_callback"]

    await eventually(paid, within=30, what="the second shop's payment settled by its callback and the worker")
