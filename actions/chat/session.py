"""The start of every conversation session: which merchant it belongs to, and what carries over."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.commerce import inbox
from actions.commerce.errors import UnknownTenant
from actions.commerce.shops import tenant_for_conversation

log = logging.getLogger(__name__)

# Per-session state that must not leak into the next session.
NOT_CARRIED = {
    "requested_slot",
    "session_started_metadata",
    "order_confirmed",
    "failed_attempts",
    "checkout_ready",
    "product",
    "quantity",
    "product_options",
    "shown",
    "question",
    "question_asked",
    "form_left",
}


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        metadata = tracker.get_slot("session_started_metadata") or {}
        rt, number = runtime.current(), metadata.get("phone_number_id")
        try:
            tenant = await tenant_for_conversation(
                rt.uow(),
                rt.settings.default_tenant,
                whatsapp_number=number,
                slug=metadata.get("tenant") or tracker.get_slot("tenant"),
            )
        except UnknownTenant:
            if not number:
                raise
            # Never served as another shop: paused, nothing is said until a later session finds its shop.
            # The channel refuses such messages before a turn (bot/whatsapp/shops.py); this is the second line.
            log.warning("session not started: no shop owns WhatsApp phone_number_id %s", number)
            return [ConversationPaused()]
        carried = [
            SlotSet(name, value)
            for name, value in tracker.current_slot_values().items()
            if value is not None and name not in NOT_CARRIED and name not in ("tenant", "shop_name")
        ]
        # A new session unpauses the conversation; one still waiting for a person stays with staff.
        waiting = await inbox.waiting_for_person(rt.uow(), tenant.id, tracker.sender_id)
        return [
            SessionStarted(),
            *carried,
            SlotSet("tenant", tenant.slug),
            SlotSet("shop_name", tenant.name),
            ActionExecuted("action_listen"),
            *([ConversationPaused()] if waiting else []),
        ]
