"""Any shop's catalog is understood at run time, and a customer can always finish or leave.

The brand-name shop (tests/catalogs/brand-shop.csv) is a catalog no training example mentions."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.db import tables as t
from tests.walks import cart_reader

BRAND_SHOP = Path(__file__).resolve().parents[1] / "catalogs" / "brand-shop.csv"
NUMBER_ID = "209876543210987"


@pytest.fixture
async def brand_shop(shop):
    rows = parse_catalog(BRAND_SHOP.read_text(), "KES")
    await import_catalog(shop.uow(), "brand-shop", "Duka la Brand", "KES", rows)
    async with shop.sessions() as session, session.begin():
        await session.execute(
            update(t.Tenant).where(t.Tenant.slug == "brand-shop").values(whatsapp_phone_number_id=NUMBER_ID)
        )
    return shop


async def cart_of(rt, sender: str) -> list[tuple[str, int]]:
    return sorted((await cart_reader(rt.sessions)(sender)).items())


def new_sender() -> str:
    return f"2547{uuid.uuid4().int % 10**8:08d}"


async def checkout(bot, sender: str, words: dict[str, str]) -> str:
    """Checkout with M-Pesa in the words of one language; the reply to the final yes."""
    await bot.say(sender, words["checkout"])
    await bot.say(sender, words["where"])
    await bot.say(sender, "mpesa")
    await bot.say(sender, "0712345678")
    return await bot.say(sender, words["yes"])


async def test_a_brand_name_shop_is_searched_filled_and_checked_out_in_english(brand_shop, bot):
    sender = new_sender()
    assert "Duka la Brand" in await bot.say(sender, "hi", metadata={"phone_number_id": NUMBER_ID})
    found = await bot.say(sender, "do you have kasuku?")
    assert "Kasuku Cooking Fat 1kg" in found
    assert await cart_of(brand_shop, sender) == []  # a question never changes the cart
    assert "Added 2 × Kabras Sugar 2kg" in await bot.say(sender, "add 2 kabras sugar 2kg")
    placed = await checkout(bot, sender, {"checkout": "checkout", "where": "Westlands, near Sarit", "yes": "yes"})
    assert "placed" in placed
    async with brand_shop.sessions() as session:
        [(total,)] = (
            await session.execute(
                select(t.Order.total_minor)
                .join(t.Customer, t.Customer.id == t.Order.customer_id)
                .where(t.Customer.external_id == sender)
            )
        ).all()
    assert total == 2 * 34000


async def test_a_brand_name_shop_is_searched_filled_and_checked_out_in_swahili(brand_shop, bot):
    sender = new_sender()
    await bot.say(sender, "habari", metadata={"phone_number_id": NUMBER_ID})
    assert "Tuzo Milk" in await bot.say(sender, "mna tuzo?")
    assert await cart_of(brand_shop, sender) == []
    added = await bot.say(sender, "nataka tuzo lita moja mbili")
    assert "Nimeongeza 2 × Tuzo Milk 1L" in added
    placed = await checkout(bot, sender, {"checkout": "nataka kulipa", "where": "Kawangware stage", "yes": "ndio"})
    assert "imewekwa" in placed


async def test_a_size_in_the_name_picks_the_product_and_never_counts_as_the_quantity(shop, bot):
    sender = new_sender()
    await bot.say(sender, "hi")
    assert "Added 2 × White Bread 400g" in await bot.say(sender, "add 2 white bread 400g")
    await bot.say(sender, "habari")
    assert "Nimeongeza 1 × Unga wa Mahindi" in await bot.say(sender, "nataka unga wa mahindi kilo mbili")
    assert await cart_of(shop, sender) == [("Unga wa Mahindi (Maize Flour) 2kg", 1), ("White Bread 400g", 2)]


async def test_a_customer_inside_the_add_item_form_can_look_check_out_and_leave(shop, bot):
    sender = new_sender()
    await bot.say(sender, "hi")
    await bot.say(sender, "add 1 SUGAR-1KG")
    question = await bot.say(sender, "add sugar")  # which sugar? the form asks
    assert "Sugar 1kg" in question and "Sugar 2kg" in question
    assert "1 × Sugar 1kg" in await bot.say(sender, "my cart")
    assert "Where should we deliver" in await bot.say(sender, "checkout")
    assert (await bot.tracker(sender))["active_loop"].get("name") == "checkout_form"
    stopped = await bot.say(sender, "acha")
    assert (await bot.tracker(sender))["active_loop"].get("name") is None
    later = [await bot.say(sender, text) for text in ("my cart", "asante")]
    for reply in (stopped, *later):
        assert "Which one do you mean" not in reply and "Unamaanisha ipi" not in reply
        assert "Where should we deliver" not in reply and "Tukuletee wapi" not in reply
    assert await cart_of(shop, sender) == [("Sugar 1kg", 1)]


async def test_the_same_question_is_never_asked_a_fourth_time(shop, bot):
    sender = new_sender()
    await bot.say(sender, "hi")
    await bot.say(sender, "add 1 SUGAR-1KG")
    asked = [await bot.say(sender, "checkout")]
    asked += [await bot.say(sender, text) for text in ("my cart", "what can you do", "show me your products")]
    questions = [reply for reply in asked if "Where should we deliver" in reply]
    assert len(questions) == 3
    assert "Or choose" in questions[-1]  # after two answers it could not use, a way out
    assert (await bot.tracker(sender))["active_loop"].get("name") is None
