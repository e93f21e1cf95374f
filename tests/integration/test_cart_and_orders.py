"""The commerce services on real PostgreSQL: carts, orders, stock and who may see what."""

import asyncio

import pytest
from sqlalchemy import event, select, text, update

from actions.commerce import cart, catalog, orders
from actions.commerce.errors import (
    AmbiguousProduct,
    EmptyCart,
    InvalidQuantity,
    OrderNotCancellable,
    OrderNotFound,
    OutOfStock,
    ProductNotFound,
    UnknownTenant,
)
from actions.commerce.model import CustomerRef, OrderStatus
from actions.commerce.money import Money
from actions.db import tables as t
from tests.waiting import eventually

AMINA = CustomerRef("demo-shop", "254700000001")
BARAKA = CustomerRef("demo-shop", "254700000002")


async def stock_of(rt, sku):
    async with rt.sessions() as session:
        return await session.scalar(select(t.Product.stock).where(t.Product.sku == sku))


async def set_stock(rt, sku, stock):
    async with rt.sessions() as session, session.begin():
        await session.execute(update(t.Product).where(t.Product.sku == sku).values(stock=stock))


async def test_browses_by_category_and_searches_by_name(shop):
    categories = await catalog.categories(shop.uow(), "demo-shop")
    assert {"Dairy & Eggs", "Bakery", "Beverages"} <= {c.name for c in categories}
    dairy = await catalog.browse(shop.uow(), "demo-shop", "dairy-eggs")
    assert dairy and all(p.category == "dairy-eggs" for p in dairy)
    found = await catalog.search(shop.uow(), "demo-shop", "sugar")
    assert {p.sku for p in found} == {"SUGAR-1KG", "SUGAR-2KG"}
    assert found[0].price.currency == "KES"


async def test_an_unknown_shop_is_an_error(shop):
    with pytest.raises(UnknownTenant):
        await catalog.browse(shop.uow(), "no-such-shop")


async def test_adds_changes_and_removes_cart_lines(shop):
    added = await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 2)
    assert added.product.sku == "SUGAR-1KG"
    await cart.add(shop.uow(), AMINA, "white bread", 1)
    current = await cart.add(shop.uow(), AMINA, "sugar 1kg", 1)
    assert [(line.product.sku, line.quantity) for line in current.cart.lines] == [("SUGAR-1KG", 3), ("BREAD-400G", 1)]
    assert current.cart.total == Money(3 * 18000 + 6500, "KES")

    changed = await cart.change_quantity(shop.uow(), AMINA, "SUGAR-1KG", 1)
    assert changed.cart.quantity_of(changed.product.id) == 1
    removed = await cart.remove(shop.uow(), AMINA, "BREAD-400G")
    assert [line.product.sku for line in removed.cart.lines] == ["SUGAR-1KG"]
    assert (await cart.clear(shop.uow(), AMINA)).is_empty
    assert (await cart.view(shop.uow(), AMINA)).is_empty


async def test_each_customer_has_their_own_cart(shop):
    await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 2)
    assert (await cart.view(shop.uow(), BARAKA)).is_empty


async def test_refuses_unknown_ambiguous_and_impossible_products(shop):
    with pytest.raises(ProductNotFound):
        await cart.add(shop.uow(), AMINA, "caviar", 1)
    with pytest.raises(AmbiguousProduct) as caught:
        await cart.add(shop.uow(), AMINA, "sugar", 1)
    assert len(caught.value.candidates) == 2
    with pytest.raises(InvalidQuantity):
        await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 0)
    await set_stock(shop, "SUGAR-1KG", 2)
    with pytest.raises(OutOfStock) as caught:
        await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 3)
    assert caught.value.available == 2
    assert (await cart.view(shop.uow(), AMINA)).is_empty


async def test_placing_an_order_reserves_stock_and_empties_the_cart(shop):
    before = await stock_of(shop, "SUGAR-1KG")
    await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 2)
    await cart.add(shop.uow(), AMINA, "MILK-500ML", 3)
    order = await orders.place(shop.uow(), AMINA, delivery_location="Kilimani, Nairobi")
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.total == Money(2 * 18000 + 3 * 6500, "KES")
    assert len(order.number) == 6
    assert await stock_of(shop, "SUGAR-1KG") == before - 2
    assert (await cart.view(shop.uow(), AMINA)).is_empty
    with pytest.raises(EmptyCart):
        await orders.place(shop.uow(), AMINA)


async def test_an_order_fails_whole_when_one_line_is_out_of_stock(shop):
    await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 2)
    await cart.add(shop.uow(), AMINA, "MILK-500ML", 3)
    await set_stock(shop, "MILK-500ML", 1)
    sugar_before = await stock_of(shop, "SUGAR-1KG")
    with pytest.raises(OutOfStock) as caught:
        await orders.place(shop.uow(), AMINA)
    assert caught.value.available == 1
    assert await stock_of(shop, "SUGAR-1KG") == sugar_before
    assert len((await cart.view(shop.uow(), AMINA)).lines) == 2
    assert await orders.mine(shop.uow(), AMINA) == []


async def sessions_waiting_for_a_lock(rt) -> int:
    """What PostgreSQL shows of this database's sessions: how many wait for a lock (a new snapshot each time)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    async with rt.sessions() as session:
        return await session.scalar(text(query))


async def test_two_customers_racing_for_the_last_unit_get_exactly_one_order(shop):
    await cart.add(shop.uow(), AMINA, "EGGS-TRAY", 1)
    await cart.add(shop.uow(), BARAKA, "EGGS-TRAY", 1)
    await set_stock(shop, "EGGS-TRAY", 1)

    # Hold the product row in a transaction so both orders are in flight at the same time.
    async with shop.sessions() as blocker, blocker.begin():
        await blocker.execute(select(t.Product).where(t.Product.sku == "EGGS-TRAY").with_for_update())
        racing = [asyncio.create_task(orders.place(shop.uow(), who)) for who in (AMINA, BARAKA)]

        async def both_wait() -> bool:
            return await sessions_waiting_for_a_lock(shop) == 2

        await eventually(both_wait, what="both orders to wait for the row lock")
        assert not any(task.done() for task in racing), "both orders must be waiting on the row lock"
    results = await asyncio.gather(*racing, return_exceptions=True)

    placed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, OutOfStock)]
    assert len(placed) == 1 and len(refused) == 1
    assert await stock_of(shop, "EGGS-TRAY") == 0


async def test_customers_see_and_cancel_only_their_own_orders(shop):
    await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 2)
    order = await orders.place(shop.uow(), AMINA)
    assert [o.number for o in await orders.mine(shop.uow(), AMINA)] == [order.number]
    assert await orders.mine(shop.uow(), BARAKA) == []
    with pytest.raises(OrderNotFound):
        await orders.find(shop.uow(), BARAKA, order.number)
    with pytest.raises(OrderNotFound):
        await orders.cancel(shop.uow(), BARAKA, order.number)
    assert (await orders.find(shop.uow(), AMINA, order.number.lower())).number == order.number


async def test_cancelling_an_unpaid_order_releases_its_stock(shop):
    before = await stock_of(shop, "SUGAR-1KG")
    await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 2)
    order = await orders.place(shop.uow(), AMINA)
    cancelled = await orders.cancel(shop.uow(), AMINA, order.number)
    assert cancelled.status == OrderStatus.CANCELLED
    assert await stock_of(shop, "SUGAR-1KG") == before
    with pytest.raises(OrderNotCancellable):
        await orders.cancel(shop.uow(), AMINA, order.number)
    assert await stock_of(shop, "SUGAR-1KG") == before


async def test_a_paid_order_cannot_be_cancelled(shop):
    await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 1)
    order = await orders.place(shop.uow(), AMINA)
    async with shop.sessions() as session, session.begin():
        await session.execute(update(t.Order).where(t.Order.id == order.id).values(status="paid"))
    with pytest.raises(OrderNotCancellable):
        await orders.cancel(shop.uow(), AMINA, order.number)


async def count_queries(rt, coro):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(rt.engine.sync_engine, "before_cursor_execute", record)
    try:
        result = await coro
    finally:
        event.remove(rt.engine.sync_engine, "before_cursor_execute", record)
    return result, len(statements)


async def test_listing_orders_costs_the_same_queries_for_one_order_or_many(shop):
    await cart.add(shop.uow(), AMINA, "SUGAR-1KG", 1)
    await orders.place(shop.uow(), AMINA)
    one, queries_for_one = await count_queries(shop, orders.mine(shop.uow(), AMINA))
    for sku in ("MILK-500ML", "BREAD-400G", "EGGS-6", "TEA-500G"):
        await cart.add(shop.uow(), AMINA, sku, 2)
        await cart.add(shop.uow(), AMINA, "SALT-1KG", 1)
        await orders.place(shop.uow(), AMINA)
    many, queries_for_many = await count_queries(shop, orders.mine(shop.uow(), AMINA))
    assert (len(one), len(many)) == (1, 5)
    assert all(order.lines for order in many)
    assert queries_for_many == queries_for_one
