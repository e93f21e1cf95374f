"""Browsing and searching the shop."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.commerce import catalog
from actions.conversation import customer, entity, product_line

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
                text = "\n".join(product_line(p) for p in products)
                dispatcher.utter_message(response="utter_category_products", category=category, products=text)
                return []
        sections = []
        for cat in await catalog.categories(uow, shop):
            products = await catalog.browse(uow, shop, cat.slug, limit=PER_CATEGORY)
            more = f"\n  …and {cat.products - len(products)} more" if cat.products > len(products) else ""
            sections.append(f"*{cat.name}*\n" + "\n".join(product_line(p) for p in products) + more)
        dispatcher.utter_message(response="utter_catalog", catalog="\n\n".join(sections))
        return []


class ActionSearchProducts(Action):
    def name(self) -> str:
        return "action_search_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        query = entity(tracker, "product") or entity(tracker, "category")
        if not query:
            dispatcher.utter_message(response="utter_ask_what_product")
            return []
        products = await catalog.search(runtime.current().uow(), customer(tracker).tenant, query)
        if not products:
            dispatcher.utter_message(response="utter_product_not_found", product=query)
            return []
        text = "\n".join(product_line(p) for p in products)
        dispatcher.utter_message(response="utter_search_results", product=query, products=text)
        return []
