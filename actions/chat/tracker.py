"""What every action needs from a tracker, and how results become chat text."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import runtime
from actions.chat.phrases import phrase
from actions.commerce.errors import UnknownTenant
from actions.commerce.model import Cart, CustomerRef, Order, Product, order_number_in

TENANT_SLOT = "tenant"
WHATSAPP = "whatsapp"  # the input channel's name (bot/channels/whatsapp.py)
SHOWN = "shown"  # the SKUs of the last product list the bot showed, so "the second one" can pick from it


def customer(tracker: Tracker) -> CustomerRef:
    """The merchant (set at session start) and this conversation's customer. Only a conversation that
    is not on WhatsApp (rasa shell, the dev REST channel) falls back to the default shop: a WhatsApp
    number whose shop was not found is never served as the demo shop."""
    tenant = tracker.get_slot(TENANT_SLOT)
    if not tenant and tracker.get_latest_input_channel() == WHATSAPP:
        raise UnknownTenant(f"whatsapp:{tracker.sender_id.partition(':')[0]}")
    return CustomerRef(tenant=tenant or runtime.current().settings.default_tenant, external_id=tracker.sender_id)


def intent(tracker: Tracker) -> str | None:
    """The intent of the customer's latest message, as NLU read it."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def entity(tracker: Tracker, name: str) -> str | None:
    return next(tracker.get_latest_entity_values(name), None)


def _latest_message_at(tracker: Tracker) -> int | None:
    return next((i for i in range(len(tracker.events) - 1, -1, -1) if tracker.events[i].get("event") == "user"), None)


def _last_value(events: list[dict], slot: str) -> Any:
    return next((e.get("value") for e in reversed(events) if e.get("event") == "slot" and e.get("name") == slot), None)


def slot_before_latest_message(tracker: Tracker, slot: str) -> Any:
    """A slot's value as it was before the customer's latest message (and this turn) changed it."""
    at = _latest_message_at(tracker)
    return None if at is None else _last_value(tracker.events[:at], slot)


def slot_set_since_latest_message(tracker: Tracker, slot: str) -> Any:
    """The value this turn gave the slot (None if this turn did not set it)."""
    at = _latest_message_at(tracker)
    return _last_value(tracker.events if at is None else tracker.events[at + 1 :], slot)


def order_number(tracker: Tracker) -> str | None:
    """The order number the customer gave: the entity, else one written in the message."""
    return entity(tracker, "order_number") or order_number_in(tracker.latest_message.get("text", ""))


def product_line(tracker: Tracker, product: Product) -> str:
    stock = "" if product.in_stock else f" ({phrase(tracker, 'out_of_stock')})"
    return f"• {product.name} ({product.sku}) — {product.price}{stock}"


def product_lines(tracker: Tracker, products: list[Product]) -> str:
    return "\n".join(product_line(tracker, p) for p in products)


MAX_CHOICES = 10  # a WhatsApp list holds at most 10 rows


def shown(products: list[Product]) -> SlotSet:
    """Remember a list just shown, in its order."""
    return SlotSet(SHOWN, [p.sku for p in products[:MAX_CHOICES]])


def product_buttons(products: list[Product]) -> list[dict]:
    """One choice per product; on WhatsApp they become list rows, in rasa shell numbered choices."""
    return [{"title": p.name[:24], "payload": f'/inform{{"product": "{p.sku}"}}'} for p in products[:MAX_CHOICES]]


def cart_lines(cart: Cart) -> str:
    return "\n".join(f"• {line.quantity} × {line.product.name} — {line.line_total}" for line in cart.lines)


def order_line(tracker: Tracker, order: Order) -> str:
    return f"• {order.number} — {order.total} — {phrase(tracker, order.status.value)}"
