"""Adding to, showing and editing the cart."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.chat.tracker import (
    MAX_CHOICES,
    cart_lines,
    customer,
    entity,
    product_buttons,
    product_lines,
    slot_before_latest_message,
    slot_set_since_latest_message,
)
from actions.commerce import cart, catalog
from actions.commerce.errors import AmbiguousProduct, InvalidQuantity, OutOfStock, ProductNotFound
from actions.commerce.model import MAX_QUANTITY
from actions.commerce.quantities import parse_quantity


class ValidateAddItemForm(FormValidationAction):
    """The product must be one we sell (one of them, if the name fits several); the quantity 1-99."""

    def name(self) -> str:
        return "validate_add_item_form"

    async def validate_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # rasa-sdk shows each validator the slots the others returned, so the options stay set
        # until the item is added or dropped: the quantity's validator sees the same choice.
        chosen = offered_choice(tracker)
        if chosen:  # "2" after "Which one do you mean?": the second product offered
            return {"product": chosen}
        said = tracker.latest_message.get("text") or ""
        try:
            product = await catalog.describe(runtime.current().uow(), customer(tracker).tenant, str(value), said)
        except ProductNotFound:
            dispatcher.utter_message(response="utter_product_not_found", product=str(value))
            return {"product": None, "product_options": None}
        except AmbiguousProduct as e:
            dispatcher.utter_message(
                response="utter_product_ambiguous",
                options=product_lines(tracker, e.candidates),
                buttons=product_buttons(e.candidates),
            )
            return {"product": None, "product_options": [p.sku for p in e.candidates[:MAX_CHOICES]]}
        return {"product": product.sku, "product_options": None}

    async def validate_quantity(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        chosen = offered_choice(tracker)
        if chosen:  # the number picked a product, it is not a quantity
            return {"quantity": slot_before_latest_message(tracker, "quantity"), "product": chosen}
        quantity = parse_quantity(str(value))
        if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
            dispatcher.utter_message(response="utter_invalid_quantity")
            return {"quantity": None}
        return {"quantity": str(quantity)}


def offered_choice(tracker: Tracker) -> str | None:
    """The product a bare number picks from the list just offered ("2": the second one)."""
    options = tracker.get_slot("product_options") or []
    text = (tracker.latest_message.get("text") or "").strip().rstrip(".")
    if tracker.get_slot("requested_slot") == "product" and text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1]
    return None


class ActionAskProduct(Action):
    """The form's question for the product, unless this turn already offered products to choose
    from: then the choice is the last message (rasa shell shows it as a menu)."""

    def name(self) -> str:
        return "action_ask_product"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if slot_set_since_latest_message(tracker, "product_options"):
            return []
        dispatcher.utter_message(response="utter_ask_product")
        return []


class ActionAskQuantity(Action):
    """How many of the product, by its name ("Sugar 1kg"), not the SKU the slot holds."""

    def name(self) -> str:
        return "action_ask_quantity"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        sku = str(tracker.get_slot("product") or "")
        try:
            name = (await catalog.describe(runtime.current().uow(), customer(tracker).tenant, sku)).name
        except (ProductNotFound, AmbiguousProduct):
            name = sku
        dispatcher.utter_message(response="utter_ask_quantity", product=name)
        return []


class ActionAddToCart(Action):
    """Runs when add_item_form is complete: product and quantity are validated."""

    def name(self) -> str:
        return "action_add_to_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        product = tracker.get_slot("product")
        quantity = parse_quantity(tracker.get_slot("quantity")) or 1
        if not product:
            dispatcher.utter_message(response="utter_ask_product")
            return []
        try:
            updated = await cart.add(runtime.current().uow(), customer(tracker), product, quantity)
        except OutOfStock as e:
            dispatcher.utter_message(response="utter_out_of_stock", product=e.product.name, available=e.available)
        except InvalidQuantity:
            dispatcher.utter_message(response="utter_invalid_quantity")
        except (ProductNotFound, AmbiguousProduct):
            dispatcher.utter_message(response="utter_product_not_found", product=product)
        else:
            dispatcher.utter_message(
                response="utter_added_to_cart",
                quantity=quantity,
                product=updated.product.name,
                total=str(updated.cart.total),
            )
        return [SlotSet("product", None), SlotSet("quantity", None), SlotSet("product_options", None)]


class ActionForgetItem(Action):
    """After the customer gave up on an item: its product and quantity must not be reused later."""

    def name(self) -> str:
        return "action_forget_item"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return [SlotSet("product", None), SlotSet("quantity", None), SlotSet("product_options", None)]


class ActionRemoveFromCart(Action):
    def name(self) -> str:
        return "action_remove_from_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        query = entity(tracker, "product")
        if not query:
            await ActionShowCart().run(dispatcher, tracker, domain)
            dispatcher.utter_message(response="utter_ask_product")
            return []
        who = customer(tracker)
        current = await cart.view(runtime.current().uow(), who)
        in_cart = [line.product for line in current.lines]
        matches = [p for p in in_cart if query.casefold() in p.name.casefold() or query.upper() == p.sku]
        if len(matches) != 1:
            response = "utter_not_in_cart" if not matches else "utter_product_ambiguous"
            dispatcher.utter_message(response=response, product=query, options=product_lines(tracker, matches))
            return []
        updated = await cart.remove(runtime.current().uow(), who, matches[0].sku)
        dispatcher.utter_message(response="utter_removed_from_cart", product=updated.product.name)
        if updated.cart.is_empty:
            dispatcher.utter_message(response="utter_cart_empty")
        else:
            dispatcher.utter_message(
                response="utter_cart", lines=cart_lines(updated.cart), total=str(updated.cart.total)
            )
        return [SlotSet("product", None)]


class ActionShowCart(Action):
    def name(self) -> str:
        return "action_show_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        current = await cart.view(runtime.current().uow(), customer(tracker))
        if current.is_empty:
            dispatcher.utter_message(response="utter_cart_empty")
        else:
            dispatcher.utter_message(response="utter_cart", lines=cart_lines(current), total=str(current.total))
        return []


class ActionClearCart(Action):
    def name(self) -> str:
        return "action_clear_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        await cart.clear(runtime.current().uow(), customer(tracker))
        dispatcher.utter_message(response="utter_cart_cleared")
        return []
