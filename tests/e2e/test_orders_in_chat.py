"""Order status, cancellation and payment state for the customer's own orders only."""

from actions.commerce import cart, orders
from actions.commerce.model import CustomerRef


async def place_order(rt, sender):
    who = CustomerRef("demo-shop", sender)
    await cart.add(rt.uow(), who, "SUGAR-1KG", 1)
    return await orders.place(rt.uow(), who, "Kilimani")


async def test_where_is_my_order_lists_the_customers_orders(shop, bot, sender):
    order = await place_order(shop, sender)
    reply = await bot.say(sender, "where is my order")
    assert order.number in reply and "waiting for payment" in reply


async def test_another_customers_order_number_is_not_found(shop, bot, sender):
    other = await place_order(shop, "254799999999")
    await bot.say(sender, "hi")
    reply = await bot.say(sender, f"cancel order {other.number}")
    assert f"can't find order {other.number}" in reply
    reply = await bot.say(sender, f"where is my order {other.number}")
    assert "can't find" in reply


async def test_cancelling_the_latest_unpaid_order(shop, bot, sender):
    order = await place_order(shop, sender)
    assert f"Order {order.number} is cancelled" in await bot.say(sender, "cancel my order")
    assert "no unpaid order" in await bot.say(sender, "cancel my order")


async def test_did_my_payment_go_through_tells_the_current_state(shop, bot, sender):
    order = await place_order(shop, sender)
    reply = await bot.say(sender, "did my payment go through?")
    assert order.number in reply and "waiting for payment" in reply
