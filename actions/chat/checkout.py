"""Checkout: confirm the cart, collect delivery and payment details, confirm, place the order."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.chat import questions
from actions.chat.payment import ask_for_payment
from actions.chat.phrases import phrase
from actions.chat.tracker import cart_lines, customer, entity, intent, slot_before_latest_message
from actions.commerce import cart, catalog, orders
from actions.commerce.errors import EmptyCart, OutOfStock
from actions.commerce.phones import InvalidPhone, normalise_msisdn

MAX_FAILED_ATTEMPTS = 3
PAYMENT_INTENTS = {"pay_mpesa", "pay_card"}
PRODUCT_INTENTS = {"add_to_cart", "search_product", "product_details"}


async def place_read_as_product(tracker: Tracker) -> str | None:
    """The customer's answer to "where should we deliver?" when the NLU took the place for a product
    ("Kariakoo", "Mwenge stage"): a product word that names nothing the shop sells, with no quantity.
    None for anything else: a product of the shop is a detour, and the form asks again after it."""
    if slot_before_latest_message(tracker, "requested_slot") != "delivery_location":
        return None
    if intent(tracker) not in PRODUCT_INTENTS or not entity(tracker, "product") or entity(tracker, "quantity"):
        return None
    text = " ".join((tracker.latest_message.get("text") or "").split())
    if await catalog.mentioned(runtime.current().uow(), customer(tracker).tenant, text):
        return None
    return text


class ActionStartCheckout(Action):
    def name(self) -> str:
        return "action_start_checkout"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        rt, who = runtime.current(), customer(tracker)
        current = await cart.view(rt.uow(), who)
        if current.is_empty:
            unpaid = [o for o in await orders.mine(rt.uow(), who, limit=1) if o.can_be_cancelled]
            if unpaid and intent(tracker) in PAYMENT_INTENTS:
                await ask_for_payment(dispatcher, tracker, unpaid[0])  # "pay with mpesa" again after a failure
            else:
                dispatcher.utter_message(response="utter_checkout_cart_empty")
            return [SlotSet("checkout_ready", False)]
        dispatcher.utter_message(response="utter_checkout_summary", lines=cart_lines(current), total=str(current.total))
        events = [
            SlotSet("checkout_ready", True),
            SlotSet("delivery_location", None),
            SlotSet("order_confirmed", None),
            SlotSet("failed_attempts", 0),
            *questions.forget(),
        ]
        if intent(tracker) not in PAYMENT_INTENTS:
            events.append(SlotSet("payment_method", None))  # "lipa na mpesa" starts checkout with M-Pesa chosen
        return events


CHECKOUT_SLOTS = ("delivery_location", "order_confirmed", "checkout_ready")


class ValidateCheckoutForm(FormValidationAction):
    def name(self) -> str:
        return "validate_checkout_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        return events + questions.leave_if_asked_enough(tracker, events)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot("payment_method") == "card":
            return [slot for slot in domain_slots if slot != "mpesa_phone"]
        return domain_slots

    def _failed(self, slot: str, response: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict:
        """Say what was wrong; after three wrong answers in a row, offer help or a person instead."""
        failures = int(tracker.get_slot("failed_attempts") or 0) + 1
        if failures >= MAX_FAILED_ATTEMPTS:
            dispatcher.utter_message(response="utter_too_many_attempts")
            failures = 0
        else:
            dispatcher.utter_message(response=response)
        return {slot: None, "failed_attempts": failures}

    async def validate_delivery_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:  # cleared by action_start_checkout, not an answer
            return {}
        text = " ".join(str(value or "").split())
        if len(text) < 3 or len(text) > 300 or not any(ch.isalpha() for ch in text):
            return self._failed("delivery_location", "utter_invalid_location", dispatcher, tracker)
        return {"delivery_location": text, "failed_attempts": 0}

    async def validate_payment_method(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}
        if value not in ("mpesa", "card"):
            return self._failed("payment_method", "utter_invalid_payment_method", dispatcher, tracker)
        return {"payment_method": value, "failed_attempts": 0}

    async def validate_mpesa_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}
        try:
            return {"mpesa_phone": normalise_msisdn(str(value or "")), "failed_attempts": 0}
        except InvalidPhone:
            return self._failed("mpesa_phone", "utter_invalid_phone", dispatcher, tracker)


def whatsapp_number(tracker: Tracker) -> str | None:
    """The customer's own number, when WhatsApp shows it (some customers hide theirs)."""
    for metadata in (tracker.latest_message.get("metadata"), tracker.get_slot("session_started_metadata")):
        try:
            return normalise_msisdn(str((metadata or {}).get("wa_id") or ""))
        except InvalidPhone:
            continue
    return None


def local_format(msisdn: str) -> str:
    """254712345678 -> 0712 345 678, the way Kenyans write their numbers."""
    return f"0{msisdn[3:6]} {msisdn[6:9]} {msisdn[9:]}"


class ActionAskMpesaPhone(Action):
    """Asks for the M-Pesa number. On WhatsApp the customer's own number is one tap away; a customer
    whose number is hidden has to type one, so a push never goes to a guessed number."""

    def name(self) -> str:
        return "action_ask_mpesa_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        own = whatsapp_number(tracker)
        buttons = (
            [
                {
                    "title": phrase(tracker, "use_number", phone=local_format(own)),
                    "payload": f'/inform{{"phone_number": "{own}"}}',
                }
            ]
            if own
            else []
        )
        return questions.ask(dispatcher, tracker, "mpesa_phone", "utter_ask_mpesa_phone", buttons=buttons)


class ActionAskOrderConfirmed(Action):
    """The last question before anything is charged: the whole order, then yes or no."""

    def name(self) -> str:
        return "action_ask_order_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        current = await cart.view(runtime.current().uow(), customer(tracker))
        method = tracker.get_slot("payment_method")
        payment = (
            phrase(tracker, "mpesa", phone=tracker.get_slot("mpesa_phone"))
            if method == "mpesa"
            else phrase(tracker, "card")
        )
        return questions.ask(
            dispatcher,
            tracker,
            "order_confirmed",
            "utter_ask_order_confirmed",
            lines=cart_lines(current),
            total=str(current.total),
            location=tracker.get_slot("delivery_location"),
            payment=payment,
            buttons=[
                {"title": "Ndio" if tracker.get_slot("language") == "sw" else "Yes", "payload": "/affirm"},
                {"title": "Hapana" if tracker.get_slot("language") == "sw" else "No", "payload": "/deny"},
            ],
        )


class ActionAskDeliveryLocation(Action):
    def name(self) -> str:
        return "action_ask_delivery_location"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return questions.ask(dispatcher, tracker, "delivery_location", "utter_ask_delivery_location")


class ActionAskPaymentMethod(Action):
    def name(self) -> str:
        return "action_ask_payment_method"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return questions.ask(dispatcher, tracker, "payment_method", "utter_ask_payment_method")


class ActionForgetCheckout(Action):
    """After the customer left the checkout: its answers must not be reused by the next one."""

    def name(self) -> str:
        return "action_forget_checkout"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        place = await place_read_as_product(tracker)
        if place:  # not a new item after all: the answer, and the checkout goes on
            return [SlotSet("delivery_location", place), FollowupAction("checkout_form")]
        return forget_checkout()


def forget_checkout() -> list[EventType]:
    return [*(SlotSet(slot, None) for slot in CHECKOUT_SLOTS), SlotSet("failed_attempts", 0), *questions.forget()]


class ActionPlaceOrder(Action):
    """Runs when checkout_form is complete: the order is placed (stock reserved) and its payment asked for."""

    def name(self) -> str:
        return "action_place_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        reset = [
            SlotSet("order_confirmed", None),
            SlotSet("checkout_ready", None),
            SlotSet("failed_attempts", 0),
            *questions.forget(),
        ]
        if questions.left(tracker):
            dispatcher.utter_message(response="utter_form_left")
            return reset
        if not tracker.get_slot("order_confirmed"):
            dispatcher.utter_message(response="utter_order_not_confirmed")
            return reset
        try:
            order = await orders.place(
                runtime.current().uow(), customer(tracker), tracker.get_slot("delivery_location")
            )
        except EmptyCart:
            dispatcher.utter_message(response="utter_checkout_cart_empty")
            return reset
        except OutOfStock as e:
            dispatcher.utter_message(response="utter_order_failed_stock", product=e.product.name, available=e.available)
            return reset
        await ask_for_payment(dispatcher, tracker, order)
        return [*reset, SlotSet("order_number", order.number)]
