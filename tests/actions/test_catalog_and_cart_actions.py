"""Actions are data in, data out: a tracker from a fixture, the real database, the responses asserted."""

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import update

from actions.chat.cart import ActionAddToCart, ActionAskProduct, ActionAskQuantity, ActionShowCart, ValidateAddItemForm
from actions.chat.catalog import ActionProductDetails, ActionSearchProducts, ActionShowCatalog
from actions.db import tables as t


async def test_the_catalog_lists_products_with_prices_in_kes(shop, tracker, dispatcher):
    events = await ActionShowCatalog().run(dispatcher, tracker("show_products"), {})
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_catalog"
    catalog = message["catalog"]
    assert "*Bakery*" in catalog and "*Dairy & Eggs*" in catalog
    assert "White Bread 400g (BREAD-400G) — KES 65" in catalog


async def test_a_category_shows_only_its_products(shop, tracker, dispatcher):
    show_dairy = tracker("show_products", entities=[{"entity": "category", "value": "dairy & eggs"}])
    await ActionShowCatalog().run(dispatcher, show_dairy, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_category_products"
    assert "Fresh Milk 500ml" in message["products"] and "Bread" not in message["products"]


async def test_adding_to_the_cart_uses_the_quantity_and_reports_the_total(shop, tracker, dispatcher):
    filled = tracker("add_two_sugar", slots={"product": "SUGAR-1KG", "quantity": "2"})
    events = await ActionAddToCart().run(dispatcher, filled, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_added_to_cart"
    assert (message["quantity"], message["product"], message["total"]) == (2, "Sugar 1kg", "KES 360")
    assert events == [
        SlotSet("product", None),
        SlotSet("quantity", None),
        SlotSet("product_options", None),
        SlotSet("question", None),  # the form's question count starts again for the next item
        SlotSet("question_asked", 0),
        SlotSet("form_left", None),
    ]

    shown = type(dispatcher)()
    await ActionShowCart().run(shown, tracker("add_two_sugar"), {})
    assert shown.messages[0]["response"] == "utter_cart"
    assert "2 × Sugar 1kg — KES 360" in shown.messages[0]["lines"]


async def test_quantity_words_in_swahili_are_understood(shop, tracker, dispatcher):
    form = ValidateAddItemForm()
    assert await form.validate_quantity("mbili", dispatcher, tracker("add_two_sugar"), {}) == {"quantity": "2"}
    assert await form.validate_quantity("tatu", dispatcher, tracker("add_two_sugar"), {}) == {"quantity": "3"}
    assert dispatcher.messages == []


async def test_an_impossible_quantity_is_asked_again(shop, tracker, dispatcher):
    result = await ValidateAddItemForm().validate_quantity("many", dispatcher, tracker("add_two_sugar"), {})
    assert result == {"quantity": None}
    assert dispatcher.messages[0]["response"] == "utter_invalid_quantity"


async def test_an_ambiguous_product_asks_which_one_with_a_choice_each(shop, tracker, dispatcher):
    said = tracker("add_two_sugar", text="add 2 sugar")
    result = await ValidateAddItemForm().validate_product("sugar", dispatcher, said, {})
    assert result == {"product": None, "product_options": ["SUGAR-1KG", "SUGAR-2KG"]}
    [message] = dispatcher.messages
    assert message["response"] == "utter_product_ambiguous"
    assert "SUGAR-1KG" in message["options"] and "SUGAR-2KG" in message["options"]
    assert [b["payload"] for b in message["buttons"]] == [
        '/inform{"product": "SUGAR-1KG"}',
        '/inform{"product": "SUGAR-2KG"}',
    ]


async def test_a_product_named_in_swahili_words_of_its_name_is_found(shop, tracker, dispatcher):
    result = await ValidateAddItemForm().validate_product("mahindi", dispatcher, tracker("add_two_sugar"), {})
    assert result == {"product": "UNGA-2KG", "product_options": None}


async def test_an_unknown_product_says_so_and_changes_nothing(shop, tracker, dispatcher):
    result = await ValidateAddItemForm().validate_product("caviar", dispatcher, tracker("add_two_sugar"), {})
    assert result == {"product": None, "product_options": None}
    assert dispatcher.messages[0]["response"] == "utter_product_not_found"
    shown = type(dispatcher)()
    await ActionShowCart().run(shown, tracker("add_two_sugar"), {})
    assert shown.messages[0]["response"] == "utter_cart_empty"


async def test_search_finds_products_by_name(shop, tracker, dispatcher):
    rice = [{"entity": "product", "value": "rice"}]
    await ActionSearchProducts().run(dispatcher, tracker("show_products", entities=rice), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_search_results"
    assert "Pishori Rice 1kg" in message["products"] and "Long Grain Rice 2kg" in message["products"]


async def test_a_category_can_be_named_by_its_first_word(shop, tracker, dispatcher):
    await ActionShowCatalog().run(
        dispatcher, tracker("show_products", entities=[{"entity": "category", "value": "Dairy"}]), {}
    )
    assert dispatcher.messages[0]["response"] == "utter_category_products"
    assert "Butter 250g" in dispatcher.messages[0]["products"]


async def test_a_product_with_a_photo_is_described_with_it(shop, tracker, dispatcher):
    async with shop.sessions() as session, session.begin():
        photo = "https://cdn.example.com/sugar-2kg.jpg"
        await session.execute(update(t.Product).where(t.Product.sku == "SUGAR-2KG").values(image_url=photo))
    about = tracker("show_products", entities=[{"entity": "product", "value": "SUGAR-2KG"}])
    await ActionProductDetails().run(dispatcher, about, {})
    [message] = dispatcher.messages
    assert (message["response"], message["name"], message["image"]) == ("utter_product_details", "Sugar 2kg", photo)

    without = type(dispatcher)()
    await ActionProductDetails().run(
        without, tracker("show_products", entities=[{"entity": "product", "value": "SUGAR-1KG"}]), {}
    )
    assert without.messages[0]["image"] is None


async def test_the_words_around_an_ambiguous_name_pick_the_product(shop, tracker, dispatcher):
    # NLU marked only "sugar" (or only "500ml"): the rest of the message tells the products apart.
    form = ValidateAddItemForm()
    result = await form.validate_product("sugar", dispatcher, tracker("add_two_sugar", text="sugar 1kg"), {})
    assert result == {"product": "SUGAR-1KG", "product_options": None}
    said = tracker("add_two_sugar", text="add 3 fresh milk 500ml")
    assert (await form.validate_product("500ml", dispatcher, said, {}))["product"] == "MILK-500ML"
    assert dispatcher.messages == []


def choosing(tracker, text: str):
    """The customer answers "Which one do you mean?" (Sugar 1kg, Sugar 2kg) after asking for 3 sugar."""
    return tracker(
        "add_two_sugar",
        text=text,
        entities=[{"entity": "quantity", "value": text}],
        slots={"requested_slot": "product", "product_options": ["SUGAR-1KG", "SUGAR-2KG"], "quantity": text},
        events=[
            {"event": "slot", "name": "quantity", "value": "3"},
            {"event": "user", "text": text},
            {"event": "slot", "name": "product", "value": text},  # the candidates extracted from "2"
            {"event": "slot", "name": "quantity", "value": text},
        ],
    )


async def test_a_number_after_which_one_picks_that_product_and_keeps_the_quantity(shop, tracker, dispatcher):
    form = ValidateAddItemForm()
    # The form's whole validation, as rasa-sdk runs it: each validator sees what the other returned.
    domain = {"forms": {"add_item_form": {"required_slots": ["product", "quantity"]}}}
    result = await form.get_validation_events(dispatcher, choosing(tracker, "2"), domain)
    assert {e["name"]: e["value"] for e in result} == {"product": "SUGAR-2KG", "quantity": "3"}
    # A number past the list is not a choice: it is looked up like any other answer.
    assert (await form.validate_quantity("7", dispatcher, choosing(tracker, "7"), {})) == {"quantity": "7"}
    assert dispatcher.messages == []


async def test_the_product_question_waits_when_this_turn_offered_a_choice(tracker, dispatcher):
    offered = tracker(
        "add_two_sugar",
        events=[
            {"event": "user", "text": "add 2 sugar"},
            {"event": "slot", "name": "product_options", "value": ["SUGAR-1KG", "SUGAR-2KG"]},
        ],
    )
    await ActionAskProduct().run(dispatcher, offered, {})
    assert dispatcher.messages == []

    later = tracker(
        "add_two_sugar",
        events=[
            {"event": "slot", "name": "product_options", "value": ["SUGAR-1KG", "SUGAR-2KG"]},
            {"event": "user", "text": "show my cart"},
        ],
    )
    await ActionAskProduct().run(dispatcher, later, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_product"]


async def test_the_quantity_question_names_the_product(shop, tracker, dispatcher):
    await ActionAskQuantity().run(dispatcher, tracker("add_two_sugar", slots={"product": "SUGAR-1KG"}), {})
    [message] = dispatcher.messages
    assert (message["response"], message["product"]) == ("utter_ask_quantity", "Sugar 1kg")


@pytest.mark.parametrize(
    ("remembered", "said", "name"),
    [
        ("sugar 1kg", "how much is the maize flour", "Unga wa Mahindi (Maize Flour) 2kg"),
        ("SUGAR-1KG", "tell me about the maziwa lala", "Mala (Fermented Milk) 500ml"),
        ("sugar 1kg", "how much is it?", "Sugar 1kg"),  # this message names nothing: the product talked about
    ],
)
async def test_a_product_talked_about_before_never_outranks_the_one_this_message_names(
    shop, tracker, dispatcher, remembered, said, name
):
    asked = tracker("show_products", text=said, slots={"product": remembered})  # the NLU marked no product
    await ActionProductDetails().run(dispatcher, asked, {})
    assert (dispatcher.messages[0]["response"], dispatcher.messages[0]["name"]) == ("utter_product_details", name)
