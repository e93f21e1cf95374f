"""Staff's catalog changes on real PostgreSQL and Redis: what the bot's catalog use cases return next,
through the read cache; an upload with bad rows imports nothing."""

import pytest
from sqlalchemy import func, select

from actions.commerce import cart, catalog, catalog_admin, orders
from actions.commerce import staff as accounts
from actions.commerce.catalog_admin import ProductForm, StockMovedMeanwhile
from actions.commerce.catalog_csv import CatalogFileError, parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.commerce.errors import NotFound, OutOfStock
from actions.commerce.model import CustomerRef
from actions.commerce.money import Money
from actions.commerce.ports import StaffMember
from actions.db import cache, catalog_queries
from actions.db import tables as t


async def staff_of(rt, slug: str = "demo-shop") -> StaffMember:
    email = f"amina@{slug}.example"
    await accounts.set_staff(rt.uow(), slug, email, "Amina", "kahawa-chungu-42")
    async with rt.sessions() as session:
        user_id, tenant_id = (
            await session.execute(select(t.StaffUser.id, t.StaffUser.tenant_id).where(t.StaffUser.email == email))
        ).one()
    return StaffMember(user_id, tenant_id, email)


async def product_id(rt, sku: str, staff: StaffMember) -> int:
    async with rt.sessions() as session:
        query = select(t.Product.id).where(t.Product.sku == sku, t.Product.tenant_id == staff.tenant_id)
        return await session.scalar(query)


def sugar(**changed) -> ProductForm:
    typed = {"name": "Sugar 1kg", "description": "White sugar", "price": "180", "stock": "50", "image_url": "",
             "visible": True, "stock_shown": "50"}  # fmt: skip
    return ProductForm(**{**typed, **changed})


async def test_a_changed_price_is_what_the_cached_catalog_returns_next(shop):
    staff = await staff_of(shop)
    sugar_id = await product_id(shop, "SUGAR-1KG", staff)
    flour = await catalog.browse(shop.uow(), "demo-shop", "flour", limit=100)  # the bot's listing, now cached
    assert next(p.price for p in flour if p.sku == "SUGAR-1KG") == Money(18000, "KES")
    assert (await catalog.describe(shop.uow(), "demo-shop", "sugar 1kg")).price == Money(18000, "KES")
    async with shop.sessions() as session:
        before = await cache.version(session, staff.tenant_id)
    assert await shop.redis.keys(f"cache:{staff.tenant_id}:v{before}:*")

    await catalog_admin.edit_product(shop.uow(), staff, sugar_id, sugar(price="185.50"))

    async with shop.sessions() as session:
        assert await cache.version(session, staff.tenant_id) != before
    flour = await catalog.browse(shop.uow(), "demo-shop", "flour", limit=100)
    assert next(p.price for p in flour if p.sku == "SUGAR-1KG") == Money(18550, "KES")
    assert (await catalog.describe(shop.uow(), "demo-shop", "sugar 1kg")).price == Money(18550, "KES")
    async with shop.sessions() as session:
        entry = await session.scalar(select(t.AuditEntry).where(t.AuditEntry.subject == f"product:{sugar_id}"))
    assert (entry.action, entry.staff_user_id, entry.details) == (
        "edit_product",
        staff.user_id,
        {"sku": "SUGAR-1KG", "price": [18000, 18550]},
    )


async def test_a_hidden_product_leaves_every_way_the_bot_finds_products(shop):
    staff = await staff_of(shop)
    sugar_id = await product_id(shop, "SUGAR-1KG", staff)
    assert "SUGAR-1KG" in {p.sku for p in await catalog.mentioned(shop.uow(), "demo-shop", "sukari")}
    await catalog_admin.edit_product(shop.uow(), staff, sugar_id, sugar(visible=False))
    assert "SUGAR-1KG" not in {p.sku for p in await catalog.mentioned(shop.uow(), "demo-shop", "sukari")}
    assert "SUGAR-1KG" not in {p.sku for p in await catalog.browse(shop.uow(), "demo-shop", "flour", limit=100)}
    assert "SUGAR-1KG" not in {p.sku for p in await catalog.search(shop.uow(), "demo-shop", "sugar")}
    assert await catalog.by_skus(shop.uow(), "demo-shop", ["SUGAR-1KG"]) == []
    async with shop.sessions() as session:  # the staff's list still has it, marked hidden
        found = await catalog_queries.products(session, staff.tenant_id, "sugar 1kg", "", "hidden", 1)
        assert [(p.sku, p.visible) for p in found.rows] == [("SUGAR-1KG", False)]
        low = await catalog_queries.low_stock(session, staff.tenant_id, 1000)
        assert "SUGAR-1KG" not in {p.sku for p in low}


async def test_staff_cannot_reach_another_shops_product(shop):
    rows = parse_catalog("sku,name,category,price,stock\nSUGAR-1KG,Sugar 1kg,Sugar,175,9\n", "KES")
    await import_catalog(shop.uow(), "other-shop", "Other Shop", "KES", rows)
    staff, theirs = await staff_of(shop), await staff_of(shop, "other-shop")
    their_sugar = await product_id(shop, "SUGAR-1KG", theirs)
    with pytest.raises(NotFound):
        await catalog_admin.edit_product(shop.uow(), staff, their_sugar, sugar(price="1"))
    async with shop.sessions() as session:
        assert await session.scalar(select(t.Product.price_minor).where(t.Product.id == their_sugar)) == 17500
        listed = await catalog_queries.products(session, staff.tenant_id, "sugar", "", "all", 1)
    assert their_sugar not in {p.id for p in listed.rows}


async def test_a_stock_typed_over_an_order_placed_meanwhile_is_refused(shop):
    staff = await staff_of(shop)
    sugar_id = await product_id(shop, "SUGAR-1KG", staff)
    async with shop.uow() as uow:
        assert await uow.catalog.reserve(sugar_id, 2)
        await uow.commit()
    with pytest.raises(StockMovedMeanwhile):
        await catalog_admin.edit_product(shop.uow(), staff, sugar_id, sugar(stock="60", stock_shown="50"))
    await catalog_admin.edit_product(shop.uow(), staff, sugar_id, sugar(price="181", stock="50", stock_shown="50"))
    async with shop.sessions() as session:
        row = (
            await session.execute(select(t.Product.stock, t.Product.price_minor).where(t.Product.id == sugar_id))
        ).one()
    assert tuple(row) == (48, 18100)


async def test_an_upload_with_bad_rows_imports_nothing_and_lists_every_bad_row(shop):
    staff = await staff_of(shop)
    async with shop.sessions() as session:
        before = (await session.execute(select(t.Product.sku, t.Product.price_minor).order_by(t.Product.sku))).all()
    text = (
        "sku,name,category,price,stock\n"
        "SUGAR-1KG,Sugar 1kg,Flour & Grains,1,1\n"
        "TEA-1,Tea,Drinks,12.345,3\n"
        "TEA-2,,Drinks,10,x\n"
        "TEA-3,Tea,Drinks,99999999999999999,1\n"
    )
    with pytest.raises(CatalogFileError) as caught:
        await catalog_admin.upload_catalog(shop.uow(), staff, text)
    assert [(e.line, e.column) for e in caught.value.errors] == [(3, "price"), (4, "name"), (4, "stock"), (5, "price")]
    async with shop.sessions() as session:
        after = (await session.execute(select(t.Product.sku, t.Product.price_minor).order_by(t.Product.sku))).all()
        audit = await session.scalar(select(func.count()).select_from(t.AuditEntry))
    assert (after, audit) == (before, 0)

    done = await catalog_admin.upload_catalog(
        shop.uow(), staff, "sku,name,category,price,stock\nTEA-1,Tea,Drinks,120,3\n"
    )
    assert (done.products, done.categories) == (1, 1)
    assert (await catalog.describe(shop.uow(), "demo-shop", "TEA-1")).price == Money(12000, "KES")


async def test_a_product_hidden_after_it_was_put_in_a_cart_is_not_sold(shop):
    staff, who = await staff_of(shop), CustomerRef("demo-shop", "254700000123")
    sugar_id = await product_id(shop, "SUGAR-1KG", staff)
    await cart.add(shop.uow(), who, "SUGAR-1KG", 2)
    await catalog_admin.edit_product(shop.uow(), staff, sugar_id, sugar(visible=False))
    with pytest.raises(OutOfStock):
        await orders.place(shop.uow(), who, "Kilimani")
    async with shop.sessions() as session:
        assert await session.scalar(select(t.Product.stock).where(t.Product.id == sugar_id)) == 50
