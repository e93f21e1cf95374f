"""endpoints.yml and domain.yml as Rasa 3.6 reads them: Redis stores from the environment, sessions."""

import asyncio
from urllib.parse import urlparse

import pytest
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.stores.lock import TicketLockStore
from bot.stores.tracker import SessionTrackerStore
from tests.bot.conftest import ROOT


@pytest.fixture
def endpoints(monkeypatch, redis_url, key_prefix, archive_url):
    redis = urlparse(redis_url)
    monkeypatch.setenv("REDIS_HOST", redis.hostname)
    monkeypatch.setenv("REDIS_PORT", str(redis.port or 6379))
    monkeypatch.setenv("REDIS_DB", redis.path.strip("/") or "0")
    monkeypatch.setenv("REDIS_PASSWORD", redis.password or "")
    monkeypatch.setenv("REDIS_KEY_PREFIX", key_prefix)
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("DATABASE_URL", archive_url)
    return AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))


@pytest.fixture
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


def test_sessions_last_an_hour_and_keep_slots(domain):
    assert domain.session_config.session_expiration_time == 60
    assert domain.session_config.carry_over_slots is True


def test_the_tracker_store_is_ours_from_the_environment_and_keeps_a_conversation(endpoints, domain, key_prefix):
    store = TrackerStore.create(endpoints.tracker_store, domain)
    assert isinstance(store, SessionTrackerStore)  # not Rasa's silent fallback to an in-memory store
    assert store.prefix == f"{key_prefix}:session"
    tracker = DialogueStateTracker.from_events(
        "254700000009", [UserUttered("hi"), SlotSet("tenant", "demo-shop")], slots=domain.slots
    )
    asyncio.run(store.save(tracker))
    again = asyncio.run(TrackerStore.create(endpoints.tracker_store, domain).retrieve("254700000009"))
    assert again.get_slot("tenant") == "demo-shop"
    assert again.latest_message.text == "hi"


def test_the_lock_store_is_ours_from_the_environment(endpoints, key_prefix):
    store = LockStore.create(endpoints.lock_store)
    assert isinstance(store, TicketLockStore)
    assert store.prefix == f"{key_prefix}:lock"

    async def twice():
        return [await store.issue("254700000009"), await store.issue("254700000009")]

    first, second = asyncio.run(twice())
    assert second == first + 1
