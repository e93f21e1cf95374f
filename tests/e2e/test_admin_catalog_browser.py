"""The catalog pages in headless Chromium on a desktop and a phone-sized screen: a staff member finds a
product, mistypes its price (told so, nothing saved), saves a new one, which the bot's catalog quotes
next, uploads a CSV with a bad row (every bad row listed, nothing imported) and reads the low-stock list.
No page is wider than the screen. A failing run keeps a screenshot in .data/screenshots/."""

from __future__ import annotations

from sqlalchemy import func, select

from actions.commerce import catalog, staff
from actions.commerce.money import Money
from actions.db import tables as t
from tests.e2e.layout import layout_problems

PASSWORD = "mandazi-asubuhi-7"
BAD_CSV = "sku,name,category,price,stock\nNEW-1,Tea,Drinks,120,5\nNEW-2,Tea 2,Drinks,12.345,5\nNEW-3,,Drinks,1,x\n"


async def fits_the_screen(page, viewport) -> None:
    assert await layout_problems(page, viewport) == [], page.url


async def test_staff_edit_a_price_the_bot_quotes_next_and_upload_a_csv(shop, stack, browser_page, viewport, tmp_path):
    email = "baraka@demo-shop.example"
    await staff.set_staff(shop.uow(), "demo-shop", email, "Baraka", PASSWORD)
    page, sidecar = browser_page, stack.process("sidecar").url
    assert (await catalog.describe(shop.uow(), "demo-shop", "sugar 1kg")).price == Money(18000, "KES")

    await page.goto(f"{sidecar}/admin/")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.click("header >> text=Catalog")
    await page.wait_for_selector("#products")
    await fits_the_screen(page, viewport)

    await page.fill("input[name=q]", "sugar")
    await page.select_option("select[name=category]", label="Flour & Grains")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url("**/admin/catalog?q=sugar*")
    await fits_the_screen(page, viewport)
    await page.click("#products >> text=Sugar 1kg")
    await page.wait_for_selector("form.product")
    await fits_the_screen(page, viewport)

    await page.fill("input[name=price]", "abc")
    await page.click("form.product button[type=submit]")
    assert "is not a price" in await page.inner_text("#error-price")
    assert (await catalog.describe(shop.uow(), "demo-shop", "sugar 1kg")).price == Money(18000, "KES")
    await fits_the_screen(page, viewport)

    await page.fill("input[name=price]", "205.50")
    await page.click("form.product button[type=submit]")
    await page.wait_for_selector("text=Saved Sugar 1kg: price changed")
    assert (await catalog.describe(shop.uow(), "demo-shop", "sugar 1kg")).price == Money(20550, "KES")

    await page.click("nav.catalog-nav >> text=Upload a CSV")
    bad = tmp_path / "catalog.csv"
    bad.write_text(BAD_CSV)
    await page.set_input_files("input[name=file]", str(bad))
    await page.click("form.product button[type=submit]")
    errors = await page.inner_text("#upload-errors")
    assert "line 3, column price" in errors and "line 4, column name" in errors and "line 4, column stock" in errors
    await fits_the_screen(page, viewport)
    async with shop.sessions() as session:
        assert await session.scalar(select(func.count()).where(t.Product.sku.like("NEW-%"))) == 0

    await page.click("nav.catalog-nav >> text=Low stock")
    await page.fill("input[name=at_most]", "20")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_selector("#low-stock")
    assert "Eggs" in await page.inner_text("#low-stock")
    await fits_the_screen(page, viewport)
