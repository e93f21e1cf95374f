"""The catalog pages on a real sidecar process, over HTTP, on real PostgreSQL and Redis: sign-in, CSRF,
one shop's products only, clear 4xx for bad input, and the bot's catalog use cases seeing each change."""

import re

import httpx
import pytest
from sqlalchemy import func, select

from actions.commerce import catalog
from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.commerce.money import Money
from actions.db import tables as t
from tests.sidecar.test_admin import Staff, admin_prefix, project, sidecar, staff, staff_email  # noqa: F401

SUGAR_FORM = {"name": "Sugar 1kg", "description": "White sugar", "price": "180", "stock": "50", "stock_shown": "50",
              "image_url": "", "visible": "1"}  # fmt: skip
CSV_HEADER = "sku,name,category,price,stock\n"


async def product_id(rt, sku: str, tenant: str = "demo-shop") -> int:
    async with rt.sessions() as session:
        query = select(t.Product.id).join(t.Tenant).where(t.Product.sku == sku, t.Tenant.slug == tenant)
        return await session.scalar(query)


async def prices_and_stock(rt) -> list:
    async with rt.sessions() as session:
        query = select(t.Product.id, t.Product.name, t.Product.price_minor, t.Product.stock, t.Product.active)
        return (await session.execute(query.order_by(t.Product.id))).all()


async def another_shop(rt) -> int:
    rows = parse_catalog(CSV_HEADER + "SUGAR-1KG,Sugar 1kg,Sugar,175,9\n", "KES")
    await import_catalog(rt.uow(), "other-shop", "Other Shop", "KES", rows)
    return await product_id(rt, "SUGAR-1KG", "other-shop")


async def upload(member: Staff, body: bytes, csrf: str | None = None) -> httpx.Response:
    files = {"file": ("catalog.csv", body, "text/csv")}
    return await member.http.post(
        "/admin/catalog/upload", data={"csrf": member.csrf if csrf is None else csrf}, files=files
    )


async def test_the_catalog_pages_need_a_signed_in_staff_member(sidecar, shop):  # noqa: F811
    sugar = await product_id(shop, "SUGAR-1KG")
    async with httpx.AsyncClient(base_url=sidecar.url) as anonymous:
        for path in ("/admin/catalog", f"/admin/catalog/products/{sugar}", "/admin/catalog/low-stock",
                     "/admin/catalog/upload"):  # fmt: skip
            response = await anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")
        posted = await anonymous.post(f"/admin/catalog/products/{sugar}", data={**SUGAR_FORM, "price": "1"})
        assert posted.status_code == 303
        uploaded = await anonymous.post("/admin/catalog/upload", files={"file": ("c.csv", b"x", "text/csv")})
        assert uploaded.status_code == 303 and uploaded.headers["location"].startswith("/admin/login")
    assert (await catalog.describe(shop.uow(), "demo-shop", "SUGAR-1KG")).price == Money(18000, "KES")


async def test_products_are_found_by_words_category_and_visibility(shop, staff):  # noqa: F811
    found = await staff.get("/admin/catalog?q=sugar")
    assert found.status_code == 200
    assert "Sugar 1kg" in found.text and "Sugar 2kg" in found.text and "Unga" not in found.text
    by_alias = await staff.get("/admin/catalog?q=sukari")
    assert "Sugar 1kg" in by_alias.text
    dairy = await staff.get("/admin/catalog?category=dairy-eggs")
    assert "Fresh Milk" in dairy.text and "Sugar 1kg" not in dairy.text
    hidden = await staff.get("/admin/catalog?shown=hidden")
    assert "No products match." in hidden.text


async def test_a_price_changed_on_the_page_is_what_the_bot_quotes_next(shop, staff):  # noqa: F811
    sugar = await product_id(shop, "SUGAR-1KG")
    assert (await catalog.describe(shop.uow(), "demo-shop", "sugar 1kg")).price == Money(18000, "KES")  # cached
    form = await staff.get(f"/admin/catalog/products/{sugar}")
    assert form.status_code == 200 and 'name="price" value="180"' in form.text
    saved = await staff.post(f"/admin/catalog/products/{sugar}", **{**SUGAR_FORM, "price": "199.50"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/admin/catalog/products/{sugar}"
    assert (await catalog.describe(shop.uow(), "demo-shop", "sugar 1kg")).price == Money(19950, "KES")
    shown = await staff.get(f"/admin/catalog/products/{sugar}")
    assert "Saved Sugar 1kg: price changed" in shown.text and "KES 199.50" in shown.text


async def test_a_hidden_product_is_not_offered_by_the_bot(shop, staff):  # noqa: F811
    sugar = await product_id(shop, "SUGAR-1KG")
    hidden = {key: value for key, value in SUGAR_FORM.items() if key != "visible"}
    assert (await staff.post(f"/admin/catalog/products/{sugar}", **hidden)).status_code == 303
    assert "SUGAR-1KG" not in {p.sku for p in await catalog.mentioned(shop.uow(), "demo-shop", "sugar 1kg")}
    assert "hidden" in (await staff.get("/admin/catalog?q=sugar+1kg")).text


@pytest.mark.parametrize("csrf", ["", "forged"])
async def test_an_edit_without_the_sessions_csrf_token_is_refused(shop, staff, csrf):  # noqa: F811
    sugar, before = await product_id(shop, "SUGAR-1KG"), await prices_and_stock(shop)
    response = await staff.http.post(
        f"/admin/catalog/products/{sugar}", data={**SUGAR_FORM, "price": "1", "csrf": csrf}
    )
    assert response.status_code == 403 and "CSRF" in response.text
    assert await prices_and_stock(shop) == before


async def test_another_shops_product_is_not_found(shop, staff):  # noqa: F811
    theirs = await another_shop(shop)
    before = await prices_and_stock(shop)
    assert (await staff.get(f"/admin/catalog/products/{theirs}")).status_code == 404
    assert (await staff.post(f"/admin/catalog/products/{theirs}", **{**SUGAR_FORM, "price": "1"})).status_code == 404
    assert (await staff.get("/admin/catalog/products/99999999999999999999999")).status_code == 404
    assert "Sugar 1kg" not in (await staff.get("/admin/catalog?q=175")).text
    assert await prices_and_stock(shop) == before


BAD_INPUT = [
    ("price", "abc", "is not a price"), ("price", "-5", "cannot be negative"),
    ("price", "180.505", "more than 2 decimal places"), ("price", "1" * 40, "is not a price"),
    ("stock", "-1", "not a whole number"), ("stock", "9" * 30, "not a whole number"),
    ("image_url", "http://example.com/sugar.jpg", "https://"), ("image_url", "javascript:alert(1)", "https://"),
    ("name", "", "is empty"), ("name", "x" * 201, "at most 200"), ("name", "Sugar\x00", "control characters"),
]  # fmt: skip


async def test_bad_input_is_a_clear_400_on_the_form_and_changes_nothing(shop, staff):  # noqa: F811
    sugar, before = await product_id(shop, "SUGAR-1KG"), await prices_and_stock(shop)
    for field, typed, says in BAD_INPUT:
        response = await staff.post(f"/admin/catalog/products/{sugar}", **{**SUGAR_FORM, field: typed})
        assert response.status_code == 400, (field, typed)
        error = re.search(rf'id="error-{field}">([^<]*)<', response.text)
        assert error and says in error.group(1).replace("&#39;", "'"), (field, typed, response.text[-1500:])
        assert "Nothing was saved" in response.text
    assert await prices_and_stock(shop) == before


async def test_a_stock_typed_over_one_an_order_changed_is_a_409_showing_the_new_count(shop, staff):  # noqa: F811
    sugar = await product_id(shop, "SUGAR-1KG")
    async with shop.uow() as uow:
        assert await uow.catalog.reserve(sugar, 2)
        await uow.commit()
    response = await staff.post(f"/admin/catalog/products/{sugar}", **{**SUGAR_FORM, "stock": "70"})
    assert response.status_code == 409 and "from 50 to 48" in response.text
    assert 'name="stock_shown" value="48"' in response.text and 'name="stock" value="70"' in response.text
    async with shop.sessions() as session:
        assert await session.scalar(select(t.Product.stock).where(t.Product.id == sugar)) == 48


HOSTILE_QUERIES = [
    "/admin/catalog?q=%00%27%22;--&category=%00&shown=%00&page=99999999999999999999",
    "/admin/catalog?page=-3&q=" + "x%25_" * 200, "/admin/catalog/low-stock?at_most=99999999999999999999",
    "/admin/catalog/low-stock?at_most=-1", "/admin/catalog/products/0", "/admin/catalog/products/abc",
    "/admin/catalog?page=%C2%B2", "/admin/catalog/low-stock?at_most=%C2%B2",
]  # fmt: skip


async def test_hostile_queries_get_no_5xx(shop, staff):  # noqa: F811
    for path in HOSTILE_QUERIES:
        assert (await staff.get(path)).status_code in (200, 404), path


async def test_the_low_stock_list_shows_visible_products_at_or_below_the_count(shop, staff):  # noqa: F811
    response = await staff.get("/admin/catalog/low-stock?at_most=30")
    assert response.status_code == 200
    async with shop.sessions() as session:
        expected = (await session.scalars(select(t.Product.name).where(t.Product.stock <= 30))).all()
    listed = re.findall(r'<a href="/admin/catalog/products/\d+">([^<]+)</a>', response.text)
    assert sorted(listed) == sorted(expected) and expected


async def test_an_upload_with_bad_rows_imports_nothing_and_lists_every_bad_row(shop, staff):  # noqa: F811
    await staff.get("/admin/catalog/upload")
    before = await prices_and_stock(shop)
    body = (
        CSV_HEADER
        + "SUGAR-1KG,Sugar 1kg,Flour,1,1\nTEA-1,Tea,Drinks,abc,1\nTEA-2,,Drinks,1,-4\nTEA-3,Tea,Drinks,1,1\x00\n"
    )
    response = await upload(staff, body.encode())
    assert response.status_code == 400 and "Nothing was imported. 4 problems" in response.text
    for line, column in ((3, "price"), (4, "name"), (4, "stock"), (5, "stock")):
        assert f"line {line}, column {column}" in response.text
    assert await prices_and_stock(shop) == before


async def test_an_upload_updates_the_catalog_the_bot_quotes(shop, staff):  # noqa: F811
    await staff.get("/admin/catalog/upload")
    body = "\ufeff" + CSV_HEADER + 'SUGAR-1KG,Sugar 1kg,Flour & Grains,"1,205.50",40\nTEA-1,Chai Leaves,Drinks,120,3\n'
    response = await upload(staff, body.encode())
    assert response.status_code == 303 and response.headers["location"] == "/admin/catalog"
    assert "Imported 2 products in 2 categories" in (await staff.get("/admin/catalog")).text
    assert (await catalog.describe(shop.uow(), "demo-shop", "SUGAR-1KG")).price == Money(120550, "KES")
    assert [p.sku for p in await catalog.mentioned(shop.uow(), "demo-shop", "chai leaves")] == ["TEA-1"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [(b"", 400, "choose a CSV file"), ("sku,name\nä".encode("latin-1"), 400, "not UTF-8"),
     (b"a" * (3 * 1024 * 1024), 413, "bigger than 2 MB")],
)  # fmt: skip
async def test_an_unreadable_upload_is_a_clear_4xx(shop, staff, body, status, says):  # noqa: F811
    await staff.get("/admin/catalog/upload")
    before = await prices_and_stock(shop)
    response = await upload(staff, body)
    assert response.status_code == status and says in response.text
    assert await prices_and_stock(shop) == before


async def test_an_upload_without_the_csrf_token_is_refused(shop, staff):  # noqa: F811
    await staff.get("/admin/catalog/upload")
    response = await upload(staff, (CSV_HEADER + "TEA-1,Tea,Drinks,1,1\n").encode(), csrf="forged")
    assert response.status_code == 403
    async with shop.sessions() as session:
        assert await session.scalar(select(func.count()).where(t.Product.sku == "TEA-1")) == 0


async def test_the_product_page_shows_who_changed_what(shop, staff):  # noqa: F811
    sugar = await product_id(shop, "SUGAR-1KG")
    await staff.get(f"/admin/catalog/products/{sugar}")
    await staff.post(
        f"/admin/catalog/products/{sugar}",
        **{**SUGAR_FORM, "price": "199.50", "image_url": "https://img.example/s.jpg"},
    )
    history = (await staff.get(f"/admin/catalog/products/{sugar}")).text.split('id="history"')[1]
    assert "Amina" in history and "price: KES 180 → KES 199.50" in history
    assert "image url: none → https://img.example/s.jpg" in history


async def test_a_page_number_past_any_offset_is_not_a_5xx_on_any_list(shop, staff):  # noqa: F811
    for path in ("/admin/orders", "/admin/payments", "/admin/catalog"):
        assert (await staff.get(f"{path}?page=368934881474191034")).status_code == 200, path
