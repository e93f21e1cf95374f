"""A customer's own orders: where they are, cancelling an unpaid one, whether the payment arrived, and the
shop's news of one (packed, on its way, delivered, cancelled)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.chat.phrases import phrase
from actions.chat.tracker import customer, entity, order_line, order_number
from actions.commerce import orders
from actions.commerce.errors import NothingToCancel, OrderNotCancellable, OrderNotFound, PaymentStillPending
from actions.commerce.model import OrderNotice

# The worker's notice of an order's step (its "order_status" entity) -> the reply that tells it (domain.yml).
STEP_REPLIES = {
    OrderNotice.PACKED: "utter_order_packed",
    OrderNotice.OUT_FOR_DELIVERY: "utter_order_out_for_delivery",
    OrderNotice.DELIVERED: "utter_order_delivered",
    OrderNotice.CANCELLED: "utter_order_cancelled_by_shop",
    OrderNotice.CANCELLED_REFUND: "utter_order_cancelled_refund",
}


class ActionOrderStatus(Action):
    def name(self) -> str:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        uow, who = runtime.current().uow(), customer(tracker)
        number = order_number(tracker)
        if number:
            try:
                found = [await orders.find(uow, who, number)]
            except OrderNotFound:
                dispatcher.utter_message(response="utter_order_not_found", number=number.upper())
                return []
        else:
            found = await orders.mine(uow, who, limit=3)
        if not found:
            dispatcher.utter_message(response="utter_no_orders")
            return []
        dispatcher.utter_message(response="utter_orders", orders="\n".join(order_line(tracker, o) for o in found))
        return []


class ActionCancelOrder(Action):
    def name(self) -> str:
        return "action_cancel_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        number = order_number(tracker)
        try:
            order = await orders.cancel(runtime.current().uow(), customer(tracker), number)
        except NothingToCancel:
            dispatcher.utter_message(response="utter_nothing_to_cancel")
        except OrderNotFound:
            dispatcher.utter_message(response="utter_order_not_found", number=(number or "").upper())
        except OrderNotCancellable as e:
            status = phrase(tracker, e.status.value)
            dispatcher.utter_message(response="utter_order_not_cancellable", number=e.number, status=status)
        except PaymentStillPending as e:  # its M-Pesa prompt may still be answered: paid, or declined first
            dispatcher.utter_message(response="utter_cancel_wait_for_prompt", number=e.number)
        else:
            dispatcher.utter_message(response="utter_order_cancelled", number=order.number)
        return []


class ActionPaymentStatus(Action):
    """Whether an order's money arrived, told by the order's status (paid once its payment is)."""

    def name(self) -> str:
        return "action_payment_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        uow, who = runtime.current().uow(), customer(tracker)
        number = order_number(tracker) or tracker.get_slot("order_number")
        try:
            found = [await orders.find(uow, who, number)] if number else await orders.mine(uow, who, limit=1)
        except OrderNotFound:
            found = await orders.mine(uow, who, limit=1)
        if not found:
            dispatcher.utter_message(response="utter_no_orders")
            return []
        order = found[0]
        dispatcher.utter_message(
            response="utter_payment_state",
            number=order.number,
            total=str(order.total),
            status=phrase(tracker, order.status.value),
        )
        return []


class ActionOrderUpdate(Action):
    """Runs when the worker triggers EXTERNAL_order_update: staff moved the customer's order on."""

    def name(self) -> str:
        return "action_order_update"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        number = entity(tracker, "order_number")
        reply = STEP_REPLIES.get(entity(tracker, "order_status") or "")
        if reply is None:  # a notice this version does not know: say where the order is instead
            await ActionOrderStatus().run(dispatcher, tracker, domain)
            return []
        dispatcher.utter_message(response=reply, number=number, reason=(entity(tracker, "reason") or "").rstrip("."))
        return [SlotSet("order_number", number)]
