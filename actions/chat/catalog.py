"""Browsing, searching and asking about products."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.chat.checkout import place_read_as_product
from actions.chat.phrases import phrase
from actions.chat.tracker import customer, entity, product_lines, shown
from actions.commerce import catalog
from actions.commerce.errors import AmbiguousProduct, ProductNotFound

PER_CATEGORY = 4


class ActionShowCatalog(Action):
    def name(self) -> str:
        return "action_show_catalog"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        shop = customer(tracker).tenant
        category = entity(tracker, "category")
        uow = runtime.current().uow()
        if category:
            products = await catalog.browse(uow, shop, category, limit=catalog.PAGE_SIZE)
            if products:
                lines = product_lines(tracker, products)
                dispatcher.utter_message(response="utter_category_products", category=category, products=lines)
                return [shown(products)]
        sections = []
        for cat in await catalog.categories(uow, shop):
            products = await catalog.browse(uow, shop, cat.slug, limit=PER_CATEGORY)
            hidden = cat.products - len(products)
            more = "\n  " + phrase(tracker, "more", count=hidden) if hidden > 0 else ""
            sections.append(f"*{cat.name}*\n{product_lines(tracker, products)}{more}")
        dispatcher.utter_message(response="utter_catalog", catalog="\n\n".join(sections))
        return []


class ActionSearchProducts(Action):
    def name(self) -> str:
        return "action_search_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        place = await place_read_as_product(tracker)
        if place:  # the answer to "where should we deliver?": the checkout form takes it next
            return [SlotSet("delivery_location", place)]
        said = tracker.latest_message.get("text") or ""
        query = entity(tracker, "product") or entity(tracker, "category") or ""
        products = await catalog.search(runtime.current().uow(), customer(tracker).tenant, query, said=said)
        if not products and not query:
            dispatcher.utter_message(response="utter_ask_product")
            return []
        if not products:
            dispatcher.utter_message(response="utter_product_not_found", product=query)
            return []
        lines = product_lines(tracker, products)
        dispatcher.utter_message(response="utter_search_results", product=query or products[0].name, products=lines)
        return [shown(products)]


class ActionProductDetails(Action):
    def name(self) -> str:
        return "action_product_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        place = await place_read_as_product(tracker)
        if place:
            return [SlotSet("delivery_location", place)]
        said = tracker.latest_message.get("text") or ""
        tenant = customer(tracker).tenant
        query = entity(tracker, "product") or ""
        if not query and not (said and await catalog.mentioned(runtime.current().uow(), tenant, said)):
            query = tracker.get_slot("product") or ""  # "how much is it?": the product talked about before
        if not query and not said:
            dispatcher.utter_message(response="utter_ask_product")
            return []
        try:
            product = await catalog.describe(runtime.current().uow(), tenant, query or said, said)
        except ProductNotFound:
            if not query:
                dispatcher.utter_message(response="utter_ask_product")
            else:
                dispatcher.utter_message(response="utter_product_not_found", product=query)
            return []
        except AmbiguousProduct as e:
            options = product_lines(tracker, e.candidates)
            dispatcher.utter_message(response="utter_product_ambiguous", options=options)
            return [shown(e.candidates)]
        availability = (
            f"{phrase(tracker, 'in_stock')}: {product.stock}" if product.in_stock else phrase(tracker, "out_of_stock")
        )
        dispatcher.utter_message(
            response="utter_product_details",
            name=product.name,
            sku=product.sku,
            price=str(product.price),
            description=product.description or "",
            availability=availability,
            **({"image": product.image_url} if product.image_url else {}),  # on WhatsApp, a photo after the text
        )
        return [shown([product])]
