"""The cart reminder's actions on a real database: the customer's messages are noted, the reminder shows
the cart with a way out, and "stop reminders" turns them off for that customer."""

from datetime import UTC, datetime, timedelta

from rasa_sdk.events import FollowupAction, SlotSet
from sqlalchemy import select, update

from actions.chat.cart import ActionAddToCart
from actions.chat.language import ActionValidateSlotMappings
from actions.chat.reminders import ActionCartReminder, ActionStopReminders
from actions.commerce import reminders
from actions.db import tables as t

SUGAR = {"product": "SUGAR-1KG", "quantity": "2"}
DOMAIN = {"slots": {"language": {"type": "categorical", "mappings": [{"type": "custom"}]}}}


async def customer_row(shop, external_id):
    async with shop.sessions() as session:
        return (await session.execute(select(t.Customer).where(t.Customer.external_id == external_id))).scalar_one()


async def test_every_message_of_the_customer_is_noted_with_its_language(shop, tracker, dispatcher):
    said = datetime.now(UTC) - timedelta(seconds=30)
    swahili = tracker(
        "show_products",
        latest_message={"text": "nionyeshe bidhaa zenu", "intent": {"name": "browse_catalog"}},
        events=[{"event": "user", "timestamp": said.timestamp(), "text": "nionyeshe bidhaa zenu"}],
    )
    events = await ActionValidateSlotMappings().run(dispatcher, swahili, DOMAIN)
    assert {"event": "slot", "name": "language", "value": "sw", "timestamp": None} in events
    row = await customer_row(shop, swahili.sender_id)
    assert (row.language, abs(row.last_message_at - said) < timedelta(seconds=1)) == ("sw", True)


async def test_the_workers_own_message_is_not_the_customers(shop, tracker, dispatcher):
    external = tracker("show_products", latest_message={"text": "", "intent": {"name": "EXTERNAL_cart_reminder"}})
    await ActionValidateSlotMappings().run(dispatcher, external, DOMAIN)
    async with shop.sessions() as session:
        assert await session.scalar(select(t.Customer.last_message_at)) is None


async def test_the_reminder_shows_the_cart_with_a_way_out(shop, tracker, dispatcher):
    await ActionAddToCart().run(dispatcher, tracker("add_two_sugar", slots=SUGAR), {})
    reminded = tracker("add_two_sugar", latest_message={"text": "", "intent": {"name": "EXTERNAL_cart_reminder"}})
    dispatcher.messages.clear()
    await ActionCartReminder().run(dispatcher, reminded, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_cart_reminder"
    assert "2 × Sugar" in message["lines"] and message["total"] == "KES 360"


async def test_an_emptied_cart_is_not_reminded_of(shop, tracker, dispatcher):
    await ActionCartReminder().run(dispatcher, tracker("show_products"), {})
    assert dispatcher.messages == []


async def test_stop_reminders_turns_them_off_for_that_customer_only(shop, tracker, dispatcher):
    await ActionAddToCart().run(dispatcher, tracker("add_two_sugar", slots=SUGAR), {})
    stopping = tracker("add_two_sugar", latest_message={"text": "acha", "intent": {"name": "stop"}})
    dispatcher.messages.clear()
    await ActionStopReminders().run(dispatcher, stopping, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_reminders_off"]
    assert (await customer_row(shop, stopping.sender_id)).reminders_off_at is not None

    long_ago = datetime.now(UTC) - timedelta(hours=5)
    async with shop.sessions() as session, session.begin():
        await session.execute(update(t.Tenant).values(cart_reminders=True, cart_reminder_minutes=60))
        await session.execute(update(t.Cart).values(updated_at=long_ago))
        await session.execute(update(t.Customer).values(last_message_at=long_ago))
    assert await reminders.sweep(shop.uow(), datetime.now(UTC)) == 0


async def test_a_conversation_that_lost_its_language_is_reminded_in_the_stored_one(shop, tracker, dispatcher):
    reminder = {
        "text": "",
        "intent": {"name": "EXTERNAL_cart_reminder"},
        "entities": [{"entity": "language", "value": "sw"}],
    }
    lost = tracker("show_products", latest_message=reminder, slots={"language": "en"})
    events = await ActionCartReminder().run(dispatcher, lost, {})
    assert events == [SlotSet("language", "sw"), FollowupAction("action_cart_reminder")]
    assert dispatcher.messages == []  # said on the second run, in Swahili
    await ActionAddToCart().run(dispatcher, tracker("show_products", slots=SUGAR), {})
    dispatcher.messages.clear()
    again = tracker("show_products", latest_message=reminder, slots={"language": "sw"})
    assert await ActionCartReminder().run(dispatcher, again, {}) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_cart_reminder"]
