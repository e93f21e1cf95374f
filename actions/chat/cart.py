"""Adding to, showing and editing the cart."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.chat import questions
from actions.chat.tracker import (
    MAX_CHOICES,
    SHOWN,
    cart_lines,
    customer,
    entity,
    intent,
    product_buttons,
    product_lines,
    slot_before_latest_message,
    slot_set_since_latest_message,
)
from actions.commerce import cart, catalog
from actions.commerce.errors import AmbiguousProduct, InvalidQuantity, OutOfStock, ProductNotFound
from actions.commerce.mentions import Pick, pick_from_shown
from actions.commerce.model import MAX_QUANTITY
from actions.commerce.quantities import parse_quantity, read_amounts

ITEM_SLOTS = ("product", "quantity", "product_options")
ADDING = ("add_to_cart", "inform")  # intents whose words may name the product and the quantity


class ValidateAddItemForm(FormValidationAction):
    """The product must be one we sell (one of them, if the name fits several); the quantity 1-99.

    Which product is read from the customer's whole message against the shop's catalog; a size in it
    ("400g", "kilo mbili") picks among the product's sizes and is never a quantity."""

    def name(self) -> str:
        return "validate_add_item_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        return events + questions.leave_if_asked_enough(tracker, events)

    async def extract_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """A pick from the list just shown ("nipe mbili za ya kwanza"), over a product word an earlier
        search left in the slot; else the product from the catalog when the NLU marked none: "add 2
        <any brand>" names it all the same."""
        said = tracker.latest_message.get("text") or ""
        if intent(tracker) not in ADDING:
            # "sugar 1kg" after "Which one do you mean?" answers it, whatever the NLU made of the words.
            named = await _named_among_offered(tracker, said)
            return {"product": named} if named else {}
        picked = await _picked_from_shown(tracker, said)
        if picked is not None:
            return {"product": picked.product.sku, **({"quantity": str(picked.quantity)} if picked.quantity else {})}
        if tracker.get_slot("product"):
            return {}
        if await catalog.mentioned(runtime.current().uow(), customer(tracker).tenant, said):
            return {"product": said}
        return {}

    async def extract_quantity(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """The count the message gives, read by the domain (a number with a unit is a size, not a count)."""
        if intent(tracker) not in ADDING or slot_set_since_latest_message(tracker, "quantity"):
            return {}
        said = tracker.latest_message.get("text") or ""
        picked = await _picked_from_shown(tracker, said)
        if picked is not None:  # "the second one": a pronoun, not a count; "2 of those": a count
            return {"quantity": str(picked.quantity)} if picked.quantity else {}
        amounts = read_amounts(said)
        if amounts.quantity is not None:
            return {"quantity": str(amounts.quantity)}
        if amounts.size is not None and asking_to_add(tracker) and tracker.get_slot("product"):
            return {"quantity": "1"}  # "unga wa mahindi kilo mbili": one packet of the 2kg
        return {}

    async def validate_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # rasa-sdk shows each validator the slots the others returned, so the options stay set
        # until the item is added or dropped: the quantity's validator sees the same choice.
        chosen = offered_choice(tracker)
        if chosen:  # "2" after "Which one do you mean?": the second product offered
            return {"product": chosen}
        if value in (tracker.get_slot("product_options") or []):  # one of them by name (extract_product)
            return {"product": value}
        said = tracker.latest_message.get("text") or ""
        if intent(tracker) not in ADDING or (tracker.get_slot("product_options") and said.strip().isdigit()):
            # A question in the middle ("mandazi iko?") is answered by its own rule and never fills the
            # item; a number that is not on the list offered is not a product either.
            return {"product": None}
        try:
            product = await catalog.describe(runtime.current().uow(), customer(tracker).tenant, str(value), said)
        except ProductNotFound:
            dispatcher.utter_message(response="utter_product_not_found", product=str(value))
            return {"product": None, "product_options": None}
        except AmbiguousProduct as e:
            if questions.times_asked(tracker, "product") >= questions.MAX_ASKS:
                return {"product": None}  # asked three times: the form is left, not asked a fourth
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
        said = tracker.latest_message.get("text") or ""
        if intent(tracker) not in ADDING:  # a number in a question ("onions 1kg iko?") is no answer to "how many?"
            return {"quantity": slot_before_latest_message(tracker, "quantity")}
        from_this_message = str(value).casefold() in said.casefold()
        amounts = read_amounts(said) if from_this_message else None
        if amounts is not None and amounts.size is not None and amounts.quantity is None and asking_to_add(tracker):
            quantity = 1  # the NLU took the size's number for a count: "kilo mbili" is one 2kg packet
        elif amounts is not None and amounts.quantity is not None:
            quantity = amounts.quantity
        else:
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
            return questions.ask_silently(tracker, "product")
        return questions.ask(dispatcher, tracker, "product", "utter_ask_product")


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
        return questions.ask(dispatcher, tracker, "quantity", "utter_ask_quantity", product=name)


class ActionAddToCart(Action):
    """Runs when add_item_form is complete: product and quantity are validated."""

    def name(self) -> str:
        return "action_add_to_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if questions.left(tracker):
            dispatcher.utter_message(response="utter_form_left")
            return forget_item()
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
        return forget_item()


class ActionPickFromShown(Action):
    """An answer when no question is open: "the second one", "ya kwanza", "2 of those" after a list
    starts adding that product (the add-item form asks only what is still missing); anything else
    is not understood."""

    def name(self) -> str:
        return "action_pick_from_shown"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        picked = await _picked_from_shown(tracker, tracker.latest_message.get("text") or "")
        if picked is None:
            dispatcher.utter_message(response="utter_default")
            return []
        quantity = [SlotSet("quantity", str(picked.quantity))] if picked.quantity else []
        return [SlotSet("product", picked.product.sku), *quantity, FollowupAction("add_item_form")]


class ActionForgetItem(Action):
    """After the customer gave up on an item: its product and quantity must not be reused later."""

    def name(self) -> str:
        return "action_forget_item"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return forget_item()


def asking_to_add(tracker: Tracker) -> bool:
    """The customer's own request to add ("nataka unga kilo mbili"), not an answer to the form's
    "which one?" or "how many?" (then no question is open yet)."""
    text = (tracker.latest_message.get("text") or "").lstrip()
    opening = tracker.get_slot("requested_slot") is None
    return intent(tracker) == "add_to_cart" and opening and not text.startswith("/")


def forget_item() -> list[EventType]:
    return [*(SlotSet(slot, None) for slot in ITEM_SLOTS), *questions.forget()]


async def _named_among_offered(tracker: Tracker, said: str) -> str | None:
    """The product offered by "Which one do you mean?" that the message names ("sugar 1kg", "the 1kg
    one", "ya pili"), while that question is open."""
    skus = tracker.get_slot("product_options") or []
    if tracker.get_slot("requested_slot") != "product" or not skus:
        return None
    offered = await catalog.by_skus(runtime.current().uow(), customer(tracker).tenant, skus)
    picked = pick_from_shown(said, offered)
    return picked.product.sku if picked else None


async def _picked_from_shown(tracker: Tracker, said: str) -> Pick | None:
    """ "the second one", "ya kwanza", "2 of those": a product from the list the bot showed last."""
    skus = tracker.get_slot(SHOWN) or []
    if not skus:
        return None
    return pick_from_shown(said, await catalog.by_skus(runtime.current().uow(), customer(tracker).tenant, skus))


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
