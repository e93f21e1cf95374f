"""Context that survives: a restart of every process, an expired session, and the merchant a chat belongs to."""

import json

import pytest
import redis.asyncio as redis
from sqlalchemy import select, update

from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.db import tables as t
from devstack.model import ensure_model
from devstack.processes import rasa_environment, start_action_server, start_rasa_server
from devstack.services import Services, start_redis, stop_redis
from tests.e2e.conftest import Bot


async def test_redis_stopping_mid_checkout_loses_nothing_and_a_restart_of_everything_neither(
    shop, services, database_url, tmp_path, sender
):
    """Own Redis, action server and Rasa server. Redis stops in the middle of a checkout: the message
    sent meanwhile is not answered from an empty conversation; once Redis is back the checkout goes
    on where it was. Then every process stops and starts again between two messages."""
    model = ensure_model(quiet=True)

    def start_all() -> tuple[Bot, Services]:
        redis_url, _ = start_redis(tmp_path / "redis")
        stack = Services(database_url, redis_url)
        actions = start_action_server(stack, tmp_path / "logs")
        rasa = start_rasa_server(model, rasa_environment(stack, f"{actions.url}/webhook", "restart"), tmp_path / "logs")
        return Bot(rasa, actions), stack

    def stop_all(bot: Bot) -> None:
        bot.rasa.stop()
        bot.actions.stop()
        stop_redis(tmp_path / "redis")

    first, _ = start_all()
    try:
        await first.say(sender, "habari")
        assert "Nimeongeza 2 × Sugar 1kg" in await first.say(sender, "nataka mbili SUGAR-1KG")
        assert "Tukuletee wapi?" in await first.say(sender, "nataka kulipa")
        events_before = len((await first.tracker(sender))["events"])

        stop_redis(tmp_path / "redis")
        assert await first.say(sender, "Kasarani, karibu na stage") == ""  # no reply guessed without the cart

        start_redis(tmp_path / "redis")  # the same port, the append-only file
        assert len((await first.tracker(sender))["events"]) == events_before  # nothing lost, nothing half-written
        assert "Utalipa vipi" in await first.say(sender, "Kasarani, karibu na stage")  # the form goes on
        assert await first.slot(sender, "delivery_location") == "Kasarani, karibu na stage"
    finally:
        stop_all(first)

    second, _ = start_all()
    try:
        assert await second.slot(sender, "language") == "sw"
        reply = await second.say(sender, "kikapu changu")
        assert "Kikapu chako" in reply and "2 × Sugar 1kg" in reply
    finally:
        stop_all(second)


async def age_conversation(redis_url: str, key: str, hours: float) -> None:
    """Make every event of the live session (a Redis list, bot/stores/tracker.py) `hours` older,
    as if the customer went quiet."""
    client = redis.Redis.from_url(redis_url)
    try:
        events = [json.loads(raw) for raw in await client.lrange(key, 0, -1)]
        assert events, f"no live session at {key}"
        for event in events:
            event["timestamp"] -= hours * 3600
        async with client.pipeline(transaction=True) as pipe:
            await pipe.delete(key).rpush(key, *(json.dumps(e) for e in events)).execute()
    finally:
        await client.aclose()


async def test_a_new_session_after_an_hour_keeps_the_language_and_the_cart(
    shop, bot, services, redis_key_prefix, sender
):
    await bot.say(sender, "habari")
    await bot.say(sender, "nataka mbili SUGAR-1KG")
    await age_conversation(services.redis_url, f"{redis_key_prefix}:session:{sender}:events", hours=2)

    reply = await bot.say(sender, "kikapu changu")
    assert "Kikapu chako" in reply and "2 × Sugar 1kg" in reply
    events = (await bot.tracker(sender))["events"]
    assert sum(e["event"] == "session_started" for e in events) == 2
    assert await bot.slot(sender, "language") == "sw"
    assert await bot.slot(sender, "tenant") == "demo-shop"
    async with shop.sessions() as session:  # the first session moved to PostgreSQL, whole and in order
        archived = (
            await session.scalars(
                select(t.ConversationEvent.event_type)
                .where(t.ConversationEvent.conversation_id == sender)
                .order_by(t.ConversationEvent.position)
            )
        ).all()
    assert archived[:2] == ["action", "session_started"] and archived.count("session_started") == 1
    assert [e["event"] for e in events[: len(archived)]] == archived


@pytest.fixture
async def second_shop(shop):
    rows = parse_catalog("sku,name,category,price,stock\nSUKUMA-1,Sukuma Wiki bunch,Vegetables,30,50\n", "KES")
    await import_catalog(shop.uow(), "mama-mboga", "Mama Mboga", "KES", rows)
    async with shop.sessions() as session, session.begin():
        await session.execute(
            update(t.Tenant).where(t.Tenant.slug == "mama-mboga").values(whatsapp_phone_number_id="106540352242922")
        )
    return shop


async def test_the_whatsapp_number_a_chat_comes_to_chooses_the_shop(second_shop, bot, sender):
    reply = await bot.say(sender, "hi", metadata={"phone_number_id": "106540352242922"})
    assert "Mama Mboga" in reply
    catalog = await bot.say(sender, "show me your products")
    assert "Sukuma Wiki bunch" in catalog and "Sugar" not in catalog
    assert await bot.slot(sender, "tenant") == "mama-mboga"


async def test_without_channel_metadata_a_chat_belongs_to_the_demo_shop(shop, bot, sender):
    assert "Demo Shop" in await bot.say(sender, "hi")
    assert await bot.slot(sender, "tenant") == "demo-shop"
