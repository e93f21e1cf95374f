"""Checkout validation, order placing and the session start, from tracker fixtures on the real database."""

import pytest
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet
from sqlalchemy import select, update

from actions.chat.cart import ActionAddToCart, ActionShowCart
from actions.chat.catalog import ActionProductDetails, ActionSearchProducts
from actions.chat.checkout import (
    ActionAskMpesaPhone,
    ActionForgetCheckout,
    ActionPlaceOrder,
    ActionStartCheckout,
    ValidateCheckoutForm,
    place_read_as_product,
)
from actions.chat.handoff import ActionHandoff
from actions.chat.language import ActionValidateSlotMappings
from actions.chat.session import ActionSessionStart
from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.commerce.errors import UnknownTenant
from actions.db import tables as t

DOMAIN = {"slots": {}, "forms": {"checkout_form": {"required_slots": ["delivery_location"]}}}


async def test_a_phone_number_is_normalised_for_mpesa(shop, tracker, dispatcher):
    result = await ValidateCheckoutForm().validate_mpesa_phone(
        "0712 345 678", dispatcher, tracker("checkout_phone"), {}
    )
    assert result == {"mpesa_phone": "254712345678", "failed_attempts": 0}
    assert dispatcher.messages == []


async def test_a_phone_number_with_letters_is_refused_and_counted(shop, tracker, dispatcher):
    result = await ValidateCheckoutForm().validate_mpesa_phone(
        "07I2 345 678", dispatcher, tracker("checkout_phone"), {}
    )
    assert result == {"mpesa_phone": None, "failed_attempts": 1}
    assert dispatcher.messages[0]["response"] == "utter_invalid_phone"


async def test_the_third_wrong_answer_offers_help_or_a_person(shop, tracker, dispatcher):
    two_failures = tracker("checkout_phone", slots={"failed_attempts": 2, "tenant": "demo-shop"})
    result = await ValidateCheckoutForm().validate_mpesa_phone("12", dispatcher, two_failures, {})
    assert result == {"mpesa_phone": None, "failed_attempts": 0}
    assert dispatcher.messages[0]["response"] == "utter_too_many_attempts"


async def test_card_payments_skip_the_mpesa_number(shop, tracker, dispatcher):
    card = tracker("checkout_phone", slots={"payment_method": "card"})
    slots = ["delivery_location", "payment_method", "mpesa_phone", "order_confirmed"]
    assert "mpesa_phone" not in await ValidateCheckoutForm().required_slots(slots, dispatcher, card, {})


async def test_checkout_with_an_empty_cart_is_not_ready(shop, tracker, dispatcher):
    events = await ActionStartCheckout().run(dispatcher, tracker("checkout_phone"), {})
    assert events == [SlotSet("checkout_ready", False)]
    assert dispatcher.messages[0]["response"] == "utter_checkout_cart_empty"


async def test_a_confirmed_checkout_places_the_order_even_when_mpesa_cannot_be_reached(shop, tracker, dispatcher):
    """Without M-Pesa settings (as here) the order is kept and the customer told how to try again."""
    buyer = tracker("add_two_sugar", slots={"product": "SUGAR-1KG", "quantity": "2", "tenant": "demo-shop"})
    await ActionAddToCart().run(dispatcher, buyer, {})
    confirmed = tracker(
        "add_two_sugar",
        slots={
            "tenant": "demo-shop",
            "delivery_location": "Kilimani",
            "payment_method": "mpesa",
            "mpesa_phone": "254712345678",
            "order_confirmed": True,
        },
    )
    placed = type(dispatcher)()
    events = await ActionPlaceOrder().run(placed, confirmed, {})
    [message] = placed.messages
    assert message["response"] == "utter_payment_request_failed"
    assert SlotSet("order_number", message["number"]) in events
    async with shop.sessions() as session:
        status = await session.scalar(select(t.Order.status).where(t.Order.number == message["number"]))
    assert status == "pending_payment"


async def test_an_unconfirmed_checkout_places_nothing(shop, tracker, dispatcher):
    declined = tracker("add_two_sugar", slots={"tenant": "demo-shop", "order_confirmed": False})
    await ActionPlaceOrder().run(dispatcher, declined, {})
    assert dispatcher.messages[0]["response"] == "utter_order_not_confirmed"


async def test_a_session_starts_in_the_default_shop_and_carries_the_customers_slots(shop, tracker, dispatcher):
    events = await ActionSessionStart().run(dispatcher, tracker("session_start"), {})
    assert events[0] == SessionStarted() and events[-1] == ActionExecuted("action_listen")
    assert SlotSet("tenant", "demo-shop") in events and SlotSet("shop_name", "Demo Shop") in events
    assert SlotSet("language", "sw") in events and SlotSet("delivery_location", "Kilimani") in events
    assert not any(e.get("name") == "requested_slot" for e in events)


async def test_a_session_on_a_merchants_whatsapp_number_belongs_to_that_merchant(shop, tracker, dispatcher):
    rows = parse_catalog("sku,name,category,price,stock\nSUKUMA-1,Sukuma Wiki bunch,Vegetables,30,50\n", "KES")
    await import_catalog(shop.uow(), "mama-mboga", "Mama Mboga", "KES", rows)  # a second shop, not the default
    async with shop.sessions() as session, session.begin():
        await session.execute(
            update(t.Tenant).where(t.Tenant.slug == "mama-mboga").values(whatsapp_phone_number_id="106540352242922")
        )
    on_whatsapp = tracker("session_start", slots={"session_started_metadata": {"phone_number_id": "106540352242922"}})
    events = await ActionSessionStart().run(dispatcher, on_whatsapp, {})
    assert SlotSet("tenant", "mama-mboga") in events and SlotSet("shop_name", "Mama Mboga") in events
    assert SlotSet("tenant", "demo-shop") not in events


async def test_a_session_on_a_whatsapp_number_no_shop_owns_does_not_start(shop, tracker, dispatcher, caplog):
    nobodys = tracker("session_start", slots={"session_started_metadata": {"phone_number_id": "999000111"}})
    assert await ActionSessionStart().run(dispatcher, nobodys, {}) == [ConversationPaused()]  # nothing is said
    assert dispatcher.messages == []
    assert "no shop owns WhatsApp phone_number_id 999000111" in caplog.text


async def test_on_whatsapp_a_conversation_without_a_shop_is_never_served_as_the_default_shop(shop, tracker, dispatcher):
    on_whatsapp = [{"event": "user", "text": "my cart", "input_channel": "whatsapp", "parse_data": {}}]
    with pytest.raises(UnknownTenant):
        await ActionShowCart().run(dispatcher, tracker("session_start", events=on_whatsapp), {})
    in_the_shell = [{"event": "user", "text": "my cart", "input_channel": "cmdline", "parse_data": {}}]
    await ActionShowCart().run(dispatcher, tracker("session_start", events=in_the_shell), {})
    assert dispatcher.messages[0]["response"] == "utter_cart_empty"


async def test_handing_off_pauses_the_conversation_and_puts_it_on_the_staff_list(shop, tracker, dispatcher):
    asking = tracker("show_products", latest_message={"text": "I want to talk to a person", "intent": {"name": "x"}})
    events = await ActionHandoff().run(dispatcher, asking, {})
    assert events[-1] == ConversationPaused()
    assert {e["name"]: e["value"] for e in events[:-1]}["product"] is None  # nothing half-done is left behind
    assert dispatcher.messages[0]["response"] == "utter_handoff"
    await ActionHandoff().run(dispatcher, asking, {})  # asking twice: still one entry
    async with shop.sessions() as session:
        waiting = (await session.execute(select(t.Handoff.conversation_id, t.Handoff.reason))).all()
    assert waiting == [(asking.sender_id, "I want to talk to a person")]


async def test_a_new_session_of_a_conversation_waiting_for_a_person_stays_paused(shop, tracker, dispatcher):
    starting = tracker("session_start")
    assert ConversationPaused() not in await ActionSessionStart().run(dispatcher, starting, {})
    asking = tracker(
        "show_products", sender_id=starting.sender_id, latest_message={"text": "a person please", "intent": {}}
    )
    await ActionHandoff().run(dispatcher, asking, {})
    events = await ActionSessionStart().run(dispatcher, starting, {})  # an hour of silence: a new session
    assert events[0] == SessionStarted() and events[-1] == ConversationPaused()  # the bot stays quiet


async def test_the_language_follows_what_the_customer_writes(shop, tracker, dispatcher):
    swahili = tracker("show_products", latest_message={"text": "nionyeshe bidhaa zenu", "intent": {"name": "x"}})
    assert await ActionValidateSlotMappings().extract_language(dispatcher, swahili, {}) == {"language": "sw"}
    neutral = tracker("show_products", latest_message={"text": "Kilimani", "intent": {"name": "inform"}})
    assert await ActionValidateSlotMappings().extract_language(dispatcher, neutral, {}) == {}


async def test_asking_for_a_language_wins_over_the_words_used(shop, tracker, dispatcher):
    asked = tracker(
        "show_products",
        latest_message={
            "text": "ongea kizungu tafadhali",
            "intent": {"name": "change_language"},
            "entities": [{"entity": "language", "value": "en"}],
        },
    )
    assert await ActionValidateSlotMappings().extract_language(dispatcher, asked, {}) == {"language": "en"}


async def test_on_whatsapp_the_customers_own_number_is_one_tap_away(tracker, dispatcher):
    on_whatsapp = tracker("checkout_phone", slots={"session_started_metadata": {"wa_id": "254712345678"}})
    await ActionAskMpesaPhone().run(dispatcher, on_whatsapp, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_mpesa_phone"
    assert message["buttons"] == [{"title": "Use 0712 345 678", "payload": '/inform{"phone_number": "254712345678"}'}]


async def test_a_customer_whose_number_is_hidden_or_foreign_has_to_type_one(tracker, dispatcher):
    for wa_id in ("US.13491208655302741918", "2348031234567", None):
        asked = type(dispatcher)()
        hidden = tracker("checkout_phone", slots={"session_started_metadata": {"wa_id": wa_id}})
        await ActionAskMpesaPhone().run(asked, hidden, {})
        assert asked.messages[0]["response"] == "utter_ask_mpesa_phone"
        assert asked.messages[0]["buttons"] == []


def asked_where_to_deliver(tracker, text: str, intent: str, entities: list[dict]):
    """The checkout had asked "where should we deliver?", and the customer answered `text`."""
    events = [
        {"event": "active_loop", "name": "checkout_form"},
        {"event": "slot", "name": "requested_slot", "value": "delivery_location"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": entities}},
    ]
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities}
    return tracker("checkout_phone", text=text, events=events, latest_message=latest)


def product_entity(text: str, value: str) -> list[dict]:
    return [{"entity": "product", "value": value, "start": text.index(value), "end": text.index(value) + len(value)}]


@pytest.mark.parametrize("text", ["Kariakoo", "Mwenge stage", "kwa Gikomba"])
@pytest.mark.parametrize("intent", ["add_to_cart", "search_product", "product_details"])
async def test_a_place_the_nlu_took_for_a_product_answers_where_to_deliver(shop, tracker, dispatcher, text, intent):
    answered = asked_where_to_deliver(tracker, text, intent, product_entity(text, text.split()[-1]))
    action = {"add_to_cart": ActionForgetCheckout, "search_product": ActionSearchProducts}.get(
        intent, ActionProductDetails
    )()
    events = await action.run(dispatcher, answered, {})
    assert SlotSet("delivery_location", text) in events
    assert dispatcher.messages == []  # no "we don't have Kariakoo": the form asks its next question


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("add sugar", [{"entity": "product", "value": "sugar", "start": 4, "end": 9}]),  # a product of the shop
        (
            "2 Kariakoo",
            [
                {"entity": "product", "value": "Kariakoo", "start": 2, "end": 10},
                {"entity": "quantity", "value": "2", "start": 0, "end": 1},
            ],
        ),
        ("nataka", []),  # no product word at all
    ],
)
async def test_a_product_of_the_shop_or_a_count_is_not_taken_for_the_place(shop, tracker, dispatcher, text, entities):
    assert await place_read_as_product(asked_where_to_deliver(tracker, text, "add_to_cart", entities)) is None
