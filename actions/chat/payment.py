"""Paying for an order from the chat, and telling the customer how the payment ended."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.chat.tracker import customer, entity
from actions.commerce import payment_requests
from actions.commerce.errors import PaymentStillPending, PaymentUnavailable
from actions.commerce.model import Order
from actions.commerce.payments import Payment
from actions.commerce.phones import InvalidPhone, normalise_msisdn
from actions.observability import correlation

log = logging.getLogger("payments.gateway")

# The worker's notice of a payment update (its "reason" entity) -> the reply that explains it (domain.yml).
REPLIES = {
    "mpesa_paid": "utter_mpesa_paid",
    "card_paid": "utter_card_paid",
    "mpesa_cancelled": "utter_mpesa_cancelled",
    "mpesa_wrong_pin": "utter_mpesa_wrong_pin",
    "mpesa_insufficient_funds": "utter_mpesa_insufficient_funds",
    "mpesa_unreachable": "utter_mpesa_unreachable",
    "mpesa_expired": "utter_mpesa_expired",
    "expired": "utter_payment_expired",
    "paid_for_ended_order": "utter_paid_for_ended_order",
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
    rt = runtime.current()
    method = "card" if tracker.get_slot("payment_method") == "card" else "mpesa"
    phone = mpesa_number(tracker) if method == "mpesa" else None
    try:
        request = await payment_requests.request_payment(
            rt.uow(), rt.providers, customer(tracker), order, method, phone, rt.settings.check_policy
        )
    except PaymentStillPending:
        dispatcher.utter_message(response="utter_payment_still_pending", number=order.number)
        return
    except PaymentUnavailable as e:
        log.warning("order %s: payment not started: %s", order.number, e, extra={"order_id": order.id})
        dispatcher.utter_message(response="utter_payment_request_failed", number=order.number)
        return
    await started(rt, request.payment)
    if request.authorization_url:
        dispatcher.utter_message(
            response="utter_card_link", number=order.number, total=str(order.total), url=request.authorization_url
        )
    else:
        dispatcher.utter_message(
            response="utter_mpesa_prompt_sent", number=order.number, total=str(order.total), phone=phone
        )


async def started(rt: runtime.Runtime, payment: Payment) -> None:
    """Log the request, and remember the current correlation id for the callback and the worker's checks."""
    await correlation.remember_for_payment(rt.redis, payment)
    fields = {"payment_id": payment.id, "order_id": payment.order_id, "provider": payment.provider}
    log.info("payment %s requested from %s: %s", payment.id, payment.provider, payment.reference, extra=fields)


class ActionPaymentUpdate(Action):
    """Runs when the worker triggers EXTERNAL_payment_update: the payment for an order ended."""

    def name(self) -> str:
        return "action_payment_update"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        number = entity(tracker, "order_number")
        notice = entity(tracker, "reason") or ""
        dispatcher.utter_message(response=REPLIES.get(notice, "utter_payment_failed"), number=number)
        return [SlotSet("order_number", number)]
