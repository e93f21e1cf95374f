"""A form's questions: how often each was asked in a row, a way out after two unusable answers, and
the end of the form rather than a fourth time of asking. The same for every form."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

MAX_ASKS = 3
QUESTION, ASKED, LEFT = "question", "question_asked", "form_left"


def times_asked(tracker: Tracker, slot: str) -> int:
    """How many times in a row the question for `slot` was asked."""
    return int(tracker.get_slot(ASKED) or 0) if tracker.get_slot(QUESTION) == slot else 0


def ask(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, response: str, **values: Any) -> list[EventType]:
    """Ask the form's question; the third time in a row, with choices and a way out ("stop")."""
    times = times_asked(tracker, slot) + 1
    dispatcher.utter_message(response=response, **values)
    if times >= MAX_ASKS:
        dispatcher.utter_message(response="utter_way_out")
    return [SlotSet(QUESTION, slot), SlotSet(ASKED, times)]


def ask_silently(tracker: Tracker, slot: str) -> list[EventType]:
    """Count a question whose words this turn already said (a list of choices is the question)."""
    return [SlotSet(QUESTION, slot), SlotSet(ASKED, times_asked(tracker, slot) + 1)]


def leave_if_asked_enough(tracker: Tracker, events: list[EventType]) -> list[EventType]:
    """For a form's validation: end the form (its completion action sees `form_left`) when the question
    it waits on was asked three times and this message did not answer it either."""
    requested = tracker.get_slot("requested_slot")
    if not requested or times_asked(tracker, requested) < MAX_ASKS:
        return []
    answered = any(
        e.get("event") == "slot" and e.get("name") == requested and e.get("value") is not None for e in events
    )
    return [] if answered else [SlotSet("requested_slot", None), SlotSet(LEFT, True)]


def forget() -> list[EventType]:
    return [SlotSet(QUESTION, None), SlotSet(ASKED, 0), SlotSet(LEFT, None)]


def left(tracker: Tracker) -> bool:
    return bool(tracker.get_slot(LEFT))
