import copy
import json
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

TRACKERS = Path(__file__).parent / "trackers"


@pytest.fixture
def tracker():
    """Build a Tracker from a JSON fixture, optionally replacing the latest message's entities."""

    def build(
        name: str, entities: list[dict] | None = None, slots: dict | None = None, text: str | None = None, **overrides
    ) -> Tracker:
        state = json.loads((TRACKERS / f"{name}.json").read_text())
        if text is not None:
            state["latest_message"]["text"] = text
        if entities is not None:
            state["latest_message"]["entities"] = copy.deepcopy(entities)
        state["slots"].update(slots or {})
        state.update(overrides)
        return Tracker.from_dict(state)

    return build


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
