"""The start of every conversation session: which merchant it belongs to, and what carries over."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.commerce.shops import tenant_for_conversation

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
        rt = runtime.current()
        tenant = await tenant_for_conversation(
            rt.uow(),
            rt.settings.default_tenant,
            whatsapp_number=metadata.get("phone_number_id"),
            slug=metadata.get("tenant") or tracker.get_slot("tenant"),
        )
        carried = [
            SlotSet(name, value)
            for name, value in tracker.current_slot_values().items()
            if value is not None and name not in NOT_CARRIED and name not in ("tenant", "shop_name")
        ]
        return [
            SessionStarted(),
            *carried,
            SlotSet("tenant", tenant.slug),
            SlotSet("shop_name", tenant.name),
            ActionExecuted("action_listen"),
        ]
