"""Conversations stored the way the Rasa server stores them, for the conversation review's tests: the
project's tracker store (bot/stores/tracker.py) run in the Rasa environment saves a customer's first
session (archived to commerce.conversation_events when the second starts) and the live second one.
Plus a copy of the training files to add examples to, so the repository's own are never changed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from devstack.paths import RASA_VENV, ROOT

SAVE = """
import asyncio, json, sys
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from bot.stores.tracker import SessionTrackerStore

given = json.loads(sys.argv[1])
domain = Domain.load("domain.yml")
store = SessionTrackerStore(domain, given["host"], port=given["port"], db=given["db"],
                            key_prefix=given["prefix"], archive_url=given["archive_url"])

def session(start, tenant, text, intent, confidence, runner_up):
    ranking = [{"name": intent, "confidence": confidence}, {"name": runner_up, "confidence": 1 - confidence}]
    return [
        ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start + 0.001),
        SlotSet("tenant", tenant, timestamp=start + 0.002), ActionExecuted("action_listen", timestamp=start + 0.003),
        UserUttered(text, {"name": intent, "confidence": confidence}, parse_data={"intent_ranking": ranking},
                    timestamp=start + 1),
        ActionExecuted("action_search_products", timestamp=start + 1.1),
        ActionExecuted("action_listen", timestamp=start + 1.2),
    ]

async def main():
    first, second = given["sessions"]
    await store.save(DialogueStateTracker.from_events(given["conversation"], session(*first), domain.slots))
    tracker = await store.retrieve(given["conversation"])
    for event in session(*second):
        tracker.update(event)
    await store.save(tracker)  # a new session: the first moves to PostgreSQL

asyncio.run(main())
"""


def save_two_sessions(
    redis_url: str, key_prefix: str, database_url: str, conversation: str, first: list, second: list
) -> None:
    """Each session: [start (seconds since 1970), tenant, text, intent, confidence, runner-up intent]."""
    redis = urlparse(redis_url)
    given = {
        "host": redis.hostname or "127.0.0.1",
        "port": redis.port or 6379,
        "db": int((redis.path or "/0").strip("/") or 0),
        "prefix": key_prefix,
        "archive_url": database_url,
        "conversation": conversation,
        "sessions": [first, second],
    }
    python = str(RASA_VENV / "bin" / "python")
    subprocess.run([python, "-c", SAVE, json.dumps(given)], cwd=ROOT, check=True, capture_output=True, timeout=120)


def training_copy(folder: Path) -> Path:
    """domain.yml, data/nlu/ and tests/nlu/ copied under `folder`, which is returned."""
    shutil.copy(ROOT / "domain.yml", folder / "domain.yml")
    for part in ("data/nlu", "tests/nlu"):
        shutil.copytree(ROOT / part, folder / part)
    return folder
