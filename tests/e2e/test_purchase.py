"""A whole purchase up to the payment step, in English and in Swahili, through Rasa's REST channel."""

from sqlalchemy import select

from actions.db import tables as t


async def orders_of(rt, sender):
    async with rt.sessions() as session:
        rows = await session.execute(
            select(t.Order.number, t.Order.status, t.Order.total_minor, t.Order.delivery_location)
            .join(t.Customer, t.Customer.id == t.Order.customer_id)
            .where(t.Customer.external_id == sender)
        )
        return rows.all()


async def test_a_whole_purchase_in_english(shop, bot, sender):
    assert "Welcome" in await bot.say(sender, "hi")
    assert "KES" in await bot.say(sender, "show me your products")
    assert "Added 2 × Sugar 1kg" in await bot.say(sender, "add 2 SUGAR-1KG")

    assert "Which one do you mean?" in await bot.say(sender, "i want bread")
    assert "How many" in await bot.say(sender, '/inform{"product": "BREAD-400G"}')
    assert "Added 3 × White Bread 400g" in await bot.say(sender, "3")

    reply = await bot.say(sender, "checkout")
    assert "Total: KES 555" in reply and "Where should we deliver?" in reply
    assert "How would you like to pay" in await bot.say(sender, "Kilimani, near Yaya Centre")
    assert "Which M-Pesa number" in await bot.say(sender, "mpesa")
    reply = await bot.say(sender, "0712 345 678")
    assert "Please confirm your order" in reply and "254712345678" in reply and "Kilimani" in reply
    assert await orders_of(shop, sender) == []  # nothing is placed before the customer says yes

    reply = await bot.say(sender, "yes")
    [(number, _, total, location)] = await orders_of(shop, sender)
    assert f"Order {number} placed: KES 555. Check your phone (254712345678)" in reply
    assert (total, location) == (55500, "Kilimani, near Yaya Centre")
    assert "Your cart is empty" in await bot.say(sender, "my cart")

    await bot.wait_for_reply(sender, f"Payment received for order {number}")
    assert (await orders_of(shop, sender))[0][1] == "paid"
    assert f"{number} — KES 555 — paid" in await bot.say(sender, "where is my order?")


async def test_a_whole_purchase_in_swahili(shop, bot, sender):
    assert "Karibu" in await bot.say(sender, "habari")
    assert "Hizi ndizo bidhaa zetu" in await bot.say(sender, "nionyeshe bidhaa")
    assert "Nimeongeza 2 × Sugar 2kg" in await bot.say(sender, "nataka mbili SUGAR-2KG")
    reply = await bot.say(sender, "nataka kulipa")
    assert "Jumla: KES 700" in reply and "Tukuletee wapi?" in reply
    assert "Utalipa vipi" in await bot.say(sender, "Kasarani, karibu na stage")
    assert "namba gani ya M-Pesa" in await bot.say(sender, "lipa na mpesa")
    assert "Tafadhali thibitisha oda yako" in await bot.say(sender, "0712345678")
    reply = await bot.say(sender, "ndio")
    [(number, _, _, location)] = await orders_of(shop, sender)
    assert f"Oda {number} imewekwa" in reply and "Angalia simu yako" in reply
    assert location == "Kasarani, karibu na stage"
    assert await bot.slot(sender, "language") == "sw"
    await bot.wait_for_reply(sender, f"Malipo ya oda {number} yamepokelewa")


async def test_paying_by_card_skips_the_mpesa_number(shop, bot, sender):
    await bot.say(sender, "add 1 SUGAR-1KG")
    await bot.say(sender, "checkout")
    await bot.say(sender, "Westlands")
    reply = await bot.say(sender, "/pay_card")
    assert "Please confirm your order" in reply and "card" in reply
    reply = await bot.say(sender, "yes")
    assert "Pay by card here: http://127.0.0.1:" in reply and "/paystack/checkout/" in reply
    [(number, *_)] = await orders_of(shop, sender)
    await bot.wait_for_reply(sender, f"Payment received for order {number}")
    assert (await orders_of(shop, sender))[0][1] == "paid"


async def test_saying_no_at_the_confirmation_places_nothing_and_keeps_the_cart(shop, bot, sender):
    await bot.say(sender, "add 1 SUGAR-1KG")
    await bot.say(sender, "checkout")
    await bot.say(sender, "Westlands")
    await bot.say(sender, "/pay_card")
    reply = await bot.say(sender, "no")
    assert "cart is still there" in reply
    assert await orders_of(shop, sender) == []
    assert "1 × Sugar 1kg" in await bot.say(sender, "my cart")


async def test_checkout_with_an_empty_cart_says_so(shop, bot, sender):
    assert "Your cart is empty" in await bot.say(sender, "checkout")
    assert await bot.slot(sender, "requested_slot") is None
