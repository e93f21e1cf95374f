"""Handing a conversation to a person: the bot stays quiet until staff resume it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.chat.cart import forget_item
from actions.chat.checkout import forget_checkout
from actions.chat.tracker import customer
from actions.commerce import handoffs


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        await handoffs.ask_for_person(
            runtime.current().uow(), customer(tracker), tracker.latest_message.get("text") or ""
        )
        dispatcher.utter_message(response="utter_handoff")
        # Rasa records every later message but predicts nothing until a "resume" event: staff press
        # "Hand back to the bot" in the admin pages (or run `python -m actions.cli handback <conversation>`).
        return [*forget_item(), *forget_checkout(), ConversationPaused()]  # nothing half-done is left behind
