"""Adding to, showing and editing the cart."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.commerce import cart
from actions.commerce.errors import AmbiguousProduct, InvalidQuantity, OutOfStock, ProductNotFound
from actions.commerce.quantities import parse_quantity
from actions.conversation import cart_lines, customer, entity, product_line


class ActionAddToCart(Action):
    def name(self) -> str:
        return "action_add_to_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        product = entity(tracker, "product")
        if not product:
            dispatcher.utter_message(response="utter_ask_what_product")
            return []
        quantity = parse_quantity(entity(tracker, "quantity")) or 1
        try:
            updated = await cart.add(runtime.current().uow(), customer(tracker), product, quantity)
        except ProductNotFound:
            dispatcher.utter_message(response="utter_product_not_found", product=product)
        except AmbiguousProduct as e:
            options = "\n".join(product_line(p) for p in e.candidates)
            dispatcher.utter_message(response="utter_product_ambiguous", product=product, options=options)
        except OutOfStock as e:
            dispatcher.utter_message(response="utter_out_of_stock", product=e.product.name, available=e.available)
        except InvalidQuantity as e:
            dispatcher.utter_message(response="utter_invalid_quantity", quantity=e.quantity)
        else:
            dispatcher.utter_message(
                response="utter_added_to_cart",
                quantity=quantity,
                product=updated.product.name,
                total=str(updated.cart.total),
            )
        return []


class ActionShowCart(Action):
    def name(self) -> str:
        return "action_show_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        current = await cart.view(runtime.current().uow(), customer(tracker))
        if current.is_empty:
            dispatcher.utter_message(response="utter_cart_empty")
        else:
            dispatcher.utter_message(response="utter_cart", lines=cart_lines(current), total=str(current.total))
        return []
