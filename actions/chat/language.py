"""Which language a customer writes in, so replies follow it.

Rasa calls `action_validate_slot_mappings` after every message; its `extract_language`
sets the `language` slot (which chooses each reply's variation in domain.yml) when the
message is clearly English or Swahili/Sheng, or when the customer asks for a language.
Short or mixed messages ("2", "ok", "Kilimani") change nothing, so the chat keeps its language.
The detector itself is plain Python in actions/commerce/language.py (the conversation review uses it too).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from actions.chat.tracker import entity, intent
from actions.commerce.language import LANGUAGES, detect_language


class ActionValidateSlotMappings(ValidationAction):
    """Fills the slots whose mapping is `custom` and that have an `extract_<slot>` method here."""

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if (intent(tracker) or "").startswith("EXTERNAL_"):
            return {}  # a message from the worker, not words of the customer's
        if intent(tracker) == "change_language":
            asked = entity(tracker, "language")
            return {"language": asked} if asked in LANGUAGES else {}
        detected = detect_language(tracker.latest_message.get("text") or "")
        return {"language": detected} if detected else {}
