"""The foundation's promise, end to end: Rasa 3.6 -> rasa-sdk action server -> PostgreSQL, Redis tracker."""

import redis.asyncio as redis


async def test_hi_then_show_me_your_products_lists_the_demo_shop_with_prices_in_kes(shop, bot, sender):
    assert "Welcome" in await bot.say(sender, "hi")
    catalog = await bot.say(sender, "show me your products")
    assert "Here is what we have" in catalog
    assert "White Bread 400g (BREAD-400G) — KES 65" in catalog
    assert "*Beverages*" in catalog


async def test_add_to_cart_then_view_the_cart(shop, bot, sender):
    added = await bot.say(sender, "add 2 SUGAR-1KG")
    assert "Added 2 × Sugar 1kg to your cart. Cart total: KES 360." in added
    cart = await bot.say(sender, "show my cart")
    assert "2 × Sugar 1kg — KES 360" in cart and "Total: KES 360" in cart


async def test_the_conversation_is_kept_in_redis(shop, bot, sender, services, redis_key_prefix):
    await bot.say(sender, "hi")
    client = redis.Redis.from_url(services.redis_url)
    try:
        assert await client.llen(f"{redis_key_prefix}:session:{sender}:events") > 0
    finally:
        await client.aclose()
