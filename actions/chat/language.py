"""Which language a customer writes in, so replies follow it.

Rasa calls `action_validate_slot_mappings` after every message; its `extract_language`
sets the `language` slot (which chooses each reply's variation in domain.yml) when the
message is clearly English or Swahili/Sheng, or when the customer asks for a language.
Short or mixed messages ("2", "ok", "Kilimani") change nothing, so the chat keeps its language.
The detector itself is plain Python in actions/commerce/language.py (the conversation review uses it too).
The same action notes the customer's message and language with the customer (`reminders.heard_from`):
WhatsApp's 24-hour window for a cart reminder runs from it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from actions import runtime
from actions.chat.tracker import customer, entity, intent
from actions.commerce import reminders
from actions.commerce.language import LANGUAGES, detect_language

log = logging.getLogger(__name__)


class ActionValidateSlotMappings(ValidationAction):
    """Fills the slots whose mapping is `custom` and that have an `extract_<slot>` method here."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if not (intent(tracker) or "").startswith("EXTERNAL_"):
            language = next((e["value"] for e in events if e.get("name") == "language"), None)
            await _heard_from(tracker, language or tracker.get_slot("language"))
        return events

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


async def _heard_from(tracker: Tracker, language: str | None) -> None:
    """Noted for the cart reminders; a turn never fails for it (the worst is a reminder not sent)."""
    written = next((e.get("timestamp") for e in reversed(tracker.events) if e.get("event") == "user"), None)
    now = datetime.now(UTC)
    at = min(datetime.fromtimestamp(written, UTC), now) if isinstance(written, int | float) else now
    try:
        await reminders.heard_from(runtime.current().uow(), customer(tracker), at, language)
    except Exception:  # the database or the shop: whatever it is, the customer's turn goes on
        log.warning("customer's message not noted for reminders", exc_info=True)
