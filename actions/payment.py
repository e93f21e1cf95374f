"""Paying for an order from the chat, and telling the customer how the payment ended."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.commerce.model import Order
from actions.commerce.phones import InvalidPhone, normalise_msisdn
from actions.commerce.shoppers import tenant_of
from actions.conversation import customer, entity
from actions.payments import gateway

log = logging.getLogger("payments.chat")

# The worker's reason for a payment update -> the reply that explains it (domain.yml).
REPLIES = {
    "mpesa_paid": "utter_mpesa_paid",
    "card_paid": "utter_card_paid",
    "mpesa_cancelled": "utter_mpesa_cancelled",
    "mpesa_wrong_pin": "utter_mpesa_wrong_pin",
    "mpesa_insufficient_funds": "utter_mpesa_insufficient_funds",
    "mpesa_unreachable": "utter_mpesa_unreachable",
    "mpesa_expired": "utter_mpesa_expired",
    "expired": "utter_payment_expired",
}


def mpesa_number(tracker: Tracker) -> str | None:
    """The number checkout collected, else the WhatsApp sender's own number."""
    for candidate in (tracker.get_slot("mpesa_phone"), tracker.sender_id):
        try:
            return normalise_msisdn(candidate or "")
        except InvalidPhone:
            continue
    return None


async def ask_for_payment(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> None:
    """Send the M-Pesa prompt or the card link for an order, and tell the customer what to do next."""
    rt, who = runtime.current(), customer(tracker)
    async with rt.uow() as uow:
        if await uow.payments.pending_for_order(order.id):
            dispatcher.utter_message(response="utter_payment_still_pending", number=order.number)
            return
        tenant = await tenant_of(uow, who.tenant)
    phone = mpesa_number(tracker)
    try:
        if tracker.get_slot("payment_method") == "card":
            request = await gateway.request_card(rt, who.external_id, order)
            dispatcher.utter_message(
                response="utter_card_link", number=order.number, total=str(order.total), url=request.authorization_url
            )
        elif phone is None:
            raise gateway.PaymentUnavailable("no M-Pesa number for this customer")
        else:
            await gateway.request_mpesa(rt, tenant, order, phone)
            dispatcher.utter_message(
                response="utter_mpesa_prompt_sent", number=order.number, total=str(order.total), phone=phone
            )
    except gateway.PaymentUnavailable as e:
        log.warning("order %s: payment not started: %s", order.number, e, extra={"order_id": order.id})
        dispatcher.utter_message(response="utter_payment_request_failed", number=order.number)


class ActionPaymentUpdate(Action):
    """Runs when the worker triggers EXTERNAL_payment_update: the payment for an order ended."""

    def name(self) -> str:
        return "action_payment_update"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        number = entity(tracker, "order_number")
        reason = entity(tracker, "reason") or ""
        dispatcher.utter_message(response=REPLIES.get(reason, "utter_payment_failed"), number=number)
        return [SlotSet("order_number", number)]
