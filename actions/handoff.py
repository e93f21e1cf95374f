"""Handing a conversation to a person: the bot stays quiet until staff resume it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_handoff")
        # Rasa records every later message but predicts nothing until a "resume" event
        # (`python -m actions.cli handback <conversation>` or, later, the admin pages).
        return [ConversationPaused()]
