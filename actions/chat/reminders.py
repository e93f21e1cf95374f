"""Abandoned-cart reminders in the chat: the worker's reminder, and the customer's "no more reminders"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.chat.tracker import cart_lines, customer, entity
from actions.commerce import cart, reminders
from actions.commerce.language import LANGUAGES


class ActionCartReminder(Action):
    """Runs when the worker triggers EXTERNAL_cart_reminder: the cart as it is now, with a way out.
    The reply's language is the conversation's `language` slot; the worker sends the language stored
    with the customer too, which wins when the two differ (a conversation whose tracker was lost)."""

    def name(self) -> str:
        return "action_cart_reminder"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        stored = entity(tracker, "language")
        if stored in LANGUAGES and stored != tracker.get_slot("language"):
            # Rasa words this action's replies with the slots it was called with: set the language, run again.
            return [SlotSet("language", stored), FollowupAction(self.name())]
        current = await cart.view(runtime.current().uow(), customer(tracker))
        if not current.is_empty:  # emptied since the job was queued: nothing to remind of
            dispatcher.utter_message(
                response="utter_cart_reminder", lines=cart_lines(current), total=str(current.total)
            )
        return []


class ActionStopReminders(Action):
    """ "Stop reminders" (the reminder's button, or said), or "stop" right after a reminder (data/rules.yml)."""

    def name(self) -> str:
        return "action_stop_reminders"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        await reminders.stop(runtime.current().uow(), customer(tracker), datetime.now(UTC))
        dispatcher.utter_message(response="utter_reminders_off")
        return []
