"""A change staff make on the catalog page is what the bot says on the customer's next message: the
price it quotes and charges, and a hidden product no longer offered (Rasa, the action server and the
sidecar as separate processes, on one PostgreSQL and Redis)."""

from __future__ import annotations

from sqlalchemy import select

from actions.commerce import staff as accounts
from actions.db import tables as t
from tests.sidecar.test_admin import Staff

PASSWORD = "chapati-na-chai-9"
BREAD = {"name": "White Bread 400g", "description": "", "price": "65", "stock": "80", "image_url": "", "visible": "1"}


async def signed_in_staff(shop, stack) -> Staff:
    email = "zawadi@demo-shop.example"
    await accounts.set_staff(shop.uow(), "demo-shop", email, "Zawadi", PASSWORD)
    member = Staff(stack.process("sidecar").url)
    assert (await member.sign_in(email, PASSWORD)).status_code == 303
    return member


async def test_a_price_changed_on_the_page_is_the_price_the_bot_quotes_next(shop, stack, bot, sender):
    async with shop.sessions() as session:
        bread, description, stock = (
            await session.execute(
                select(t.Product.id, t.Product.description, t.Product.stock).where(t.Product.sku == "BREAD-400G")
            )
        ).one()
    assert "White Bread 400g (BREAD-400G) — KES 65" in await bot.say(sender, "show me your products")  # now cached
    member = await signed_in_staff(shop, stack)
    await member.get(f"/admin/catalog/products/{bread}")
    form = {**BREAD, "description": description, "stock": str(stock), "stock_shown": str(stock)}

    saved = await member.post(f"/admin/catalog/products/{bread}", **{**form, "price": "72.50"})
    assert saved.status_code == 303
    assert "White Bread 400g (BREAD-400G) — KES 72.50" in await bot.say(sender, "show me your products")
    assert "Added 2 × White Bread 400g to your cart. Cart total: KES 145." in await bot.say(sender, "add 2 BREAD-400G")

    hidden = {key: value for key, value in form.items() if key != "visible"}
    assert (await member.post(f"/admin/catalog/products/{bread}", **{**hidden, "price": "72.50"})).status_code == 303
    assert "BREAD-400G" not in await bot.say(sender, "show me your products")
    await member.http.aclose()
