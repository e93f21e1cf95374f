"""Filling a cart, placing, listing and cancelling orders: the use cases over the in-memory fakes."""

from datetime import timedelta

import pytest

from actions.commerce import cart, orders, settlement
from actions.commerce.errors import (
    AmbiguousProduct,
    EmptyCart,
    InvalidQuantity,
    NothingToCancel,
    OrderNotCancellable,
    OrderNotFound,
    OutOfStock,
    PaymentStillPending,
    ProductNotFound,
    UnknownTenant,
)
from actions.commerce.model import CustomerRef, OrderStatus
from actions.commerce.money import Money
from actions.commerce.payments import Notice, PaymentStatus
from tests.unit.shop_world import World, event

NEIGHBOUR = CustomerRef("demo-shop", "254700000002")


async def test_adding_a_product_puts_it_in_the_customers_cart_at_its_price():
    w = World()
    update = await cart.add(w.uow, w.who, "sugar 1kg", 2)
    assert update.product.sku == "SUGAR-1KG"
    assert [(line.product.sku, line.quantity) for line in update.cart.lines] == [("SUGAR-1KG", 2)]
    assert update.cart.total == Money(36000, "KES")
    assert (await cart.view(w.uow, w.who)) == update.cart


async def test_adding_more_than_the_stock_is_refused_and_leaves_the_cart_as_it_was():
    w = World()
    with pytest.raises(OutOfStock) as refused:
        await cart.add(w.uow, w.who, "EGGS-TRAY", 4)
    assert refused.value.available == 3
    assert (await cart.view(w.uow, w.who)).is_empty


async def test_what_is_already_in_the_cart_counts_against_the_stock():
    w = World()
    await cart.add(w.uow, w.who, "EGGS-TRAY", 2)
    with pytest.raises(OutOfStock):
        await cart.add(w.uow, w.who, "EGGS-TRAY", 2)
    assert (await cart.view(w.uow, w.who)).quantity_of(w.uow.committed.product("EGGS-TRAY").id) == 2


@pytest.mark.parametrize("quantity", [0, -1, 100])
async def test_a_quantity_outside_one_to_ninety_nine_is_refused(quantity):
    w = World()
    with pytest.raises(InvalidQuantity):
        await cart.add(w.uow, w.who, "MILK-500ML", quantity)
    assert w.uow.committed.carts == {}


async def test_adding_up_past_ninety_nine_of_one_product_is_refused_even_with_stock_to_spare():
    w = World()
    await cart.add(w.uow, w.who, "MILK-500ML", 60)
    with pytest.raises(InvalidQuantity) as refused:
        await cart.add(w.uow, w.who, "MILK-500ML", 40)
    assert refused.value.quantity == 100
    assert (await cart.view(w.uow, w.who)).lines[0].quantity == 60


async def test_an_unknown_product_is_not_found_and_a_vague_name_is_ambiguous():
    w = World()
    with pytest.raises(ProductNotFound):
        await cart.add(w.uow, w.who, "caviar")
    with pytest.raises(AmbiguousProduct) as ambiguous:
        await cart.add(w.uow, w.who, "sugar")
    assert sorted(p.sku for p in ambiguous.value.candidates) == ["SUGAR-1KG", "SUGAR-2KG"]


async def test_a_customer_of_an_unknown_shop_is_refused():
    w = World()
    with pytest.raises(UnknownTenant):
        await cart.add(w.uow, CustomerRef("no-such-shop", "2547"), "SUGAR-1KG")


async def test_each_customer_has_their_own_cart():
    w = World()
    await cart.add(w.uow, w.who, "SUGAR-1KG", 1)
    assert (await cart.view(w.uow, NEIGHBOUR)).is_empty
    assert not (await cart.view(w.uow, w.who)).is_empty


async def test_changing_a_quantity_sets_it_checks_the_stock_and_zero_removes_the_line():
    w = World()
    await cart.add(w.uow, w.who, "EGGS-TRAY", 1)
    assert (await cart.change_quantity(w.uow, w.who, "EGGS-TRAY", 3)).cart.lines[0].quantity == 3
    with pytest.raises(OutOfStock):
        await cart.change_quantity(w.uow, w.who, "EGGS-TRAY", 4)
    assert (await cart.remove(w.uow, w.who, "EGGS-TRAY")).cart.is_empty


async def test_placing_an_order_reserves_its_stock_and_empties_the_cart():
    w = World()
    order = await w.order(("SUGAR-1KG", 2), ("EGGS-TRAY", 3))
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.total == Money(2 * 18000 + 3 * 45000, "KES")
    assert sorted((line.sku, line.quantity) for line in order.lines) == [("EGGS-TRAY", 3), ("SUGAR-1KG", 2)]
    assert (w.stock("SUGAR-1KG"), w.stock("EGGS-TRAY")) == (8, 0)
    assert (await cart.view(w.uow, w.who)).is_empty
    assert await orders.find(w.uow, w.who, order.number.lower()) == order


async def test_an_empty_cart_cannot_be_ordered():
    w = World()
    with pytest.raises(EmptyCart):
        await orders.place(w.uow, w.who)
    assert w.uow.committed.orders == {}


async def test_when_stock_ran_out_since_adding_the_order_is_refused_and_no_stock_is_taken():
    w = World()
    await cart.add(w.uow, w.who, "SUGAR-1KG", 2)
    await cart.add(w.uow, w.who, "EGGS-TRAY", 3)
    await w.order(("EGGS-TRAY", 2), who=NEIGHBOUR)  # the neighbour is faster: one tray left
    with pytest.raises(OutOfStock) as refused:
        await orders.place(w.uow, w.who)
    assert (refused.value.product.sku, refused.value.available) == ("EGGS-TRAY", 1)
    assert (w.stock("SUGAR-1KG"), w.stock("EGGS-TRAY")) == (10, 1)  # the sugar reserved first went back
    assert len((await cart.view(w.uow, w.who)).lines) == 2  # the cart is kept to change
    assert len(w.uow.committed.orders) == 1


async def test_cancelling_an_order_gives_its_stock_back_once():
    w = World()
    order = await w.order(("EGGS-TRAY", 2))
    cancelled = await orders.cancel(w.uow, w.who, order.number)
    assert cancelled.status is OrderStatus.CANCELLED
    assert w.uow.order(order.id).status is OrderStatus.CANCELLED
    assert w.stock("EGGS-TRAY") == 3
    with pytest.raises(OrderNotCancellable) as again:
        await orders.cancel(w.uow, w.who, order.number)
    assert again.value.status is OrderStatus.CANCELLED
    assert w.stock("EGGS-TRAY") == 3


async def test_cancelling_without_a_number_cancels_the_latest_unpaid_order():
    w = World()
    first = await w.order(("SUGAR-1KG", 1))
    w.uow.advance(minutes=1)
    latest = await w.order(("SUGAR-2KG", 1))
    assert (await orders.cancel(w.uow, w.who)).number == latest.number
    assert w.uow.order(first.id).status is OrderStatus.PENDING_PAYMENT


async def test_a_paid_order_cannot_be_cancelled_and_keeps_its_stock():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2))
    await settlement.record(w.uow, event(payment))
    with pytest.raises(OrderNotCancellable) as refused:
        await orders.cancel(w.uow, w.who, order.number)
    assert refused.value.status is OrderStatus.PAID
    assert w.stock("EGGS-TRAY") == 1
    with pytest.raises(NothingToCancel):
        await orders.cancel(w.uow, w.who)


async def test_an_order_is_not_cancelled_while_its_m_pesa_prompt_can_still_be_answered():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2))
    for number in (order.number, None):
        with pytest.raises(PaymentStillPending) as refused:
            await orders.cancel(w.uow, w.who, number)
        assert refused.value.number == order.number
    assert (w.uow.order(order.id).status, w.stock("EGGS-TRAY")) == (OrderStatus.PENDING_PAYMENT, 1)
    await settlement.record(w.uow, w.callback(payment, 1032))  # the customer declined the prompt
    assert (await orders.cancel(w.uow, w.who, order.number)).status is OrderStatus.CANCELLED
    assert w.stock("EGGS-TRAY") == 3


async def test_a_pending_card_link_does_not_hold_the_order():
    w = World()
    order, _ = await w.pending_payment(("EGGS-TRAY", 2), provider="paystack")
    assert (await orders.cancel(w.uow, w.who, order.number)).status is OrderStatus.CANCELLED


async def test_another_customers_order_is_not_found_and_not_cancelled():
    w = World()
    order = await w.order(("SUGAR-1KG", 1), who=NEIGHBOUR)
    with pytest.raises(OrderNotFound):
        await orders.cancel(w.uow, w.who, order.number)
    with pytest.raises(OrderNotFound):
        await orders.find(w.uow, w.who, order.number)
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT


async def test_a_customers_orders_are_listed_newest_first_and_never_anothers():
    w = World()
    older = await w.order(("SUGAR-1KG", 1))
    w.uow.advance(minutes=5)
    newer = await w.order(("SUGAR-2KG", 1))
    await w.order(("MILK-500ML", 1), who=NEIGHBOUR)
    assert [o.number for o in await orders.mine(w.uow, w.who)] == [newer.number, older.number]


async def test_an_unpaid_order_nobody_is_paying_for_expires_after_the_window_and_its_stock_returns():
    w = World()
    abandoned = await w.order(("EGGS-TRAY", 2))
    paying, _ = await w.pending_payment(("SUGAR-1KG", 3))
    assert await orders.expire_abandoned(w.uow, older_than=timedelta(minutes=60)) == []  # still inside the window
    w.uow.advance(hours=2)
    assert await orders.expire_abandoned(w.uow, older_than=timedelta(minutes=60)) == [abandoned.id]
    assert w.uow.order(abandoned.id).status is OrderStatus.EXPIRED
    assert w.uow.order(paying.id).status is OrderStatus.PENDING_PAYMENT  # its payment is still pending
    assert (w.stock("EGGS-TRAY"), w.stock("SUGAR-1KG")) == (3, 7)
    assert await orders.expire_abandoned(w.uow, older_than=timedelta(minutes=60)) == []  # and only once


async def test_an_order_with_a_pending_payment_never_expires_however_old_until_its_payment_ends():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2))
    w.uow.advance(hours=30)
    assert await orders.expire_abandoned(w.uow, older_than=timedelta(minutes=60)) == []
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    await settlement.record(w.uow, event(payment, PaymentStatus.FAILED, notice=Notice.MPESA_FAILED))
    assert await orders.expire_abandoned(w.uow, older_than=timedelta(minutes=60)) == [order.id]


async def test_an_order_whose_prompt_failed_waits_so_the_customer_can_pay_again():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 1))
    await settlement.record(w.uow, event(payment, PaymentStatus.FAILED, notice=None))
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    assert w.stock("EGGS-TRAY") == 2
