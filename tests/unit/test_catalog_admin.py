"""What staff change in the catalog from the admin pages: a product's fields, checked; a CSV, all or nothing."""

import pytest

from actions.commerce import cart, catalog, catalog_admin, orders
from actions.commerce.catalog_admin import InvalidProduct, ProductForm, StockMovedMeanwhile, checked
from actions.commerce.catalog_csv import CatalogFileError
from actions.commerce.errors import NotFound, OutOfStock, ProductNotFound
from actions.commerce.money import Money, MoneyError, parse_price
from tests.unit.shop_world import World

SUGAR = ProductForm("Sugar 1kg", "White sugar", "180", "10", "", True, stock_shown="10")


def form(**changed) -> ProductForm:
    return ProductForm(**{**SUGAR.__dict__, **changed})


# --- reading what staff typed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("120", "KES", 12000), ("120.50", "KES", 12050), ("120.5", "KES", 12050), (" 1,250 ", "KES", 125000),
     ("KES 99.99", "KES", 9999), ("0", "KES", 0), ("2500", "UGX", 2500), ("999999999999.99", "KES", 99999999999999)],
)  # fmt: skip
def test_a_typed_price_is_read_exactly_in_minor_units(typed, currency, minor):
    assert parse_price(typed, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("typed", "currency", "says"),
    [("abc", "KES", "not a price"), ("-5", "KES", "negative"), ("120.505", "KES", "more than 2 decimal places"),
     ("100.5", "UGX", "more than 0 decimal places"), ("", "KES", "not a price"), ("1e3", "KES", "not a price"),
     ("NaN", "KES", "not a price"), ("Infinity", "KES", "not a price"), ("1" * 13, "KES", "not a price"),
     ("12,34", "KES", "not a price"), ("١٢٠", "KES", "not a price"), ("0x10", "KES", "not a price")],
)  # fmt: skip
def test_a_price_that_is_not_one_is_refused_saying_why(typed, currency, says):
    with pytest.raises(MoneyError, match=says):
        parse_price(typed, currency)


def test_every_wrong_field_is_named_at_once():
    typed = form(name="  ", price="abc", stock="-1", image_url="http://example.com/a.jpg", description="a\x00b")
    with pytest.raises(InvalidProduct) as caught:
        checked(typed, "KES")
    assert set(caught.value.errors) == {"name", "price", "stock", "image_url", "description"}
    assert "https" in caught.value.errors["image_url"]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://", "https:///x.jpg", "ftp://x/y", "https://a b/c", "https://[x/y",
            "https://x/" + "a" * 500]
)  # fmt: skip
def test_a_photo_needs_an_https_address(url):
    with pytest.raises(InvalidProduct, match="image_url"):
        checked(form(image_url=url), "KES")


@pytest.mark.parametrize("stock", ["1.5", "ten", "1234567890", "", "+3", "٣"])
def test_stock_is_a_whole_number_of_zero_or_more(stock):
    with pytest.raises(InvalidProduct, match="stock"):
        checked(form(stock=stock), "KES")


def test_a_name_is_tidied_and_an_empty_photo_means_none():
    changes = checked(form(name="  Sugar   1kg ", image_url="  ", stock=" 7 "), "KES")
    assert (changes.name, changes.image_url, changes.stock) == ("Sugar 1kg", None, 7)


# --- editing a product --------------------------------------------------------------------------


async def test_an_edit_is_what_the_catalog_use_cases_return_next_and_is_audited():
    w = World()
    sugar = w.uow.committed.product("SUGAR-1KG", w.shop.id)
    done = await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form(price="185.50", stock="10"))
    assert "price changed" in done
    described = await catalog.describe(w.uow, "demo-shop", "SUGAR-1KG")
    assert described.price == Money(18550, "KES")
    [entry] = w.uow.committed.audit
    assert (entry.staff_user_id, entry.action, entry.subject) == (
        w.staff.user_id,
        "edit_product",
        f"product:{sugar.id}",
    )
    assert entry.details == {"sku": "SUGAR-1KG", "price": [18000, 18550], "description": ["", "White sugar"]}


async def test_a_hidden_product_is_not_offered_and_shown_again_when_made_visible():
    w = World()
    sugar = w.uow.committed.product("SUGAR-1KG", w.shop.id)
    await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form(visible=False))
    assert "SUGAR-1KG" not in {p.sku for p in await catalog.search(w.uow, "demo-shop", "sugar")}
    with pytest.raises(ProductNotFound):
        await cart.add(w.uow, w.who, "SUGAR-1KG", 1)
    await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form(visible=True))
    assert "SUGAR-1KG" in {p.sku for p in await catalog.search(w.uow, "demo-shop", "sugar")}


async def test_another_shops_product_is_not_found_and_nothing_changes():
    w = World()
    theirs = w.uow.committed.product("SUGAR-1KG", w.other_shop.id)
    with pytest.raises(NotFound):
        await catalog_admin.edit_product(w.uow, w.staff, theirs.id, form(price="1"))
    with pytest.raises(NotFound):
        await catalog_admin.product(w.uow, w.staff, theirs.id)
    assert (theirs.price, w.uow.committed.audit) == (Money(17500, "KES"), [])


async def test_bad_input_changes_nothing():
    w = World()
    sugar = w.uow.committed.product("SUGAR-1KG", w.shop.id)
    with pytest.raises(InvalidProduct):
        await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form(price="180.001", name="Cheap sugar"))
    assert (sugar.name, sugar.price, w.uow.commits, w.uow.committed.audit) == ("Sugar 1kg", Money(18000, "KES"), 0, [])


async def test_a_stock_left_as_shown_keeps_what_orders_took_meanwhile():
    w = World()
    sugar = w.uow.committed.product("SUGAR-1KG", w.shop.id)
    await w.order(("SUGAR-1KG", 3))  # while the form showed 10
    await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form(price="190", stock="10", stock_shown="10"))
    assert (w.stock("SUGAR-1KG"), w.uow.committed.product("SUGAR-1KG", w.shop.id).price.minor) == (7, 19000)


async def test_a_stock_typed_over_one_that_moved_meanwhile_is_refused():
    w = World()
    sugar = w.uow.committed.product("SUGAR-1KG", w.shop.id)
    await w.order(("SUGAR-1KG", 3))
    with pytest.raises(StockMovedMeanwhile, match="from 10 to 7") as caught:
        await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form(stock="25", stock_shown="10"))
    assert (caught.value.now, w.stock("SUGAR-1KG")) == (7, 7)
    await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form(stock="25", stock_shown="7"))
    assert w.stock("SUGAR-1KG") == 25


async def test_saving_an_unchanged_form_writes_nothing():
    w = World()
    sugar = w.uow.committed.product("SUGAR-1KG", w.shop.id)
    sugar.description = "White sugar"
    assert "Nothing to save" in await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form())
    assert (w.uow.commits, w.uow.committed.audit) == (0, [])


# --- uploading a CSV ----------------------------------------------------------------------------

HEADER = "sku,name,category,price,stock\n"


async def test_an_upload_with_bad_rows_imports_nothing_and_lists_every_one():
    w = World()
    text = (
        HEADER
        + "NEW-1,Tea,Drinks,120,5\nSUGAR-1KG,Sugar 1kg,Sugar,abc,5\nNEW-2,,Drinks,1,-2\nNEW-3,Salt,Spice,1,1\x00\n"
    )
    with pytest.raises(CatalogFileError) as caught:
        await catalog_admin.upload_catalog(w.uow, w.staff, text)
    assert {(e.line, e.column) for e in caught.value.errors} == {(3, "price"), (4, "name"), (4, "stock"), (5, "stock")}
    assert (w.uow.commits, w.uow.committed.audit) == (0, [])
    assert "NEW-1" not in {p.sku for p in w.uow.committed.products.values()}


async def test_an_upload_updates_by_sku_in_the_shops_currency_and_is_audited():
    w = World()
    text = HEADER + "SUGAR-1KG,Sugar 1kg,Groceries,199.50,40\nTEA-100G,Tea leaves 100g,Drinks,95,12\n"
    done = await catalog_admin.upload_catalog(w.uow, w.staff, text)
    assert (done.products, done.categories) == (2, 2)
    assert (await catalog.describe(w.uow, "demo-shop", "SUGAR-1KG")).price == Money(19950, "KES")
    assert (await catalog.describe(w.uow, "demo-shop", "TEA-100G")).stock == 12
    assert w.uow.committed.product("SUGAR-1KG", w.other_shop.id).price == Money(17500, "KES")
    [entry] = w.uow.committed.audit
    assert (entry.action, entry.tenant_id, entry.details) == (
        "upload_catalog",
        w.shop.id,
        {"products": 2, "categories": 2},
    )


async def test_a_product_hidden_after_it_was_put_in_a_cart_is_not_sold():
    w = World()
    sugar = w.uow.committed.product("SUGAR-1KG", w.shop.id)
    await cart.add(w.uow, w.who, "SUGAR-1KG", 2)
    await catalog_admin.edit_product(w.uow, w.staff, sugar.id, form(visible=False))
    with pytest.raises(OutOfStock):
        await orders.place(w.uow, w.who, "Kilimani")
    assert w.stock("SUGAR-1KG") == 10
