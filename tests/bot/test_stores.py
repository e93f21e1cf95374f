"""The tracker store and the lock store of bot/stores/, on real Redis and PostgreSQL."""

import asyncio
import json
import random
import time
from urllib.parse import urlparse

import pytest
from rasa.core.lock_store import LockError
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from redis import Redis

from bot.stores.lock import TicketLockStore
from bot.stores.tracker import ContextUnavailable, SessionTrackerStore
from devstack.services import free_port
from tests.bot.conftest import ROOT
from tests.waiting import eventually

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def redis_config(redis_url, key_prefix, **extra):
    redis = urlparse(redis_url)
    return {"host": redis.hostname, "port": redis.port or 6379, "db": int(redis.path.strip("/") or 0),
            "key_prefix": key_prefix, **extra}  # fmt: skip


@pytest.fixture
def store(redis_url, key_prefix, archive_url):
    config = redis_config(redis_url, key_prefix)
    return SessionTrackerStore(DOMAIN, config.pop("host"), archive_url=archive_url, **config)


def session(start: float, turns: int = 3, language: str | None = None):
    """One conversation session as Rasa records it: the session start, then `turns` exchanges."""
    t = start
    events = [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t + 0.001)]
    if language:
        events.append(SlotSet("language", language, timestamp=t + 0.002))
    events.append(ActionExecuted("action_listen", timestamp=t + 0.003))
    for n in range(turns):
        t += 10
        events += [
            UserUttered(f"message {n}", {"name": "greet", "confidence": 1.0}, timestamp=t),
            ActionExecuted("utter_greet", timestamp=t + 0.1),
            BotUttered(f"reply {n}", timestamp=t + 0.2),
            ActionExecuted("action_listen", timestamp=t + 0.3),
        ]
    return events


def tracker_of(sender, events):
    return DialogueStateTracker.from_events(sender, events, DOMAIN.slots)


def plain_redis(store):
    where = store.redis.connection_pool.connection_kwargs
    return Redis(host=where["host"], port=where["port"], db=where["db"])


def live_length(store, sender):
    return plain_redis(store).llen(store._live(sender))


def test_a_turn_appends_its_events_and_rereads_only_the_session(store):
    async def scenario():
        first = session(1000.0, turns=2)
        await store.save(tracker_of("c1", first))
        tracker = await store.retrieve("c1")
        assert [e.as_dict() for e in tracker.events] == [e.as_dict() for e in first]
        turn = [UserUttered("again", timestamp=2000.0), ActionExecuted("action_listen", timestamp=2000.1)]
        for event in turn:
            tracker.update(event)
        await store.save(tracker)
        assert live_length(store, "c1") == len(first) + 2
        return await store.retrieve("c1")

    again = asyncio.run(scenario())
    assert again.latest_message.text == "again"


def test_a_new_session_moves_the_old_one_to_postgres_and_keeps_the_slots(store):
    async def scenario():
        old = session(1000.0, turns=2, language="sw")
        tracker = tracker_of("c2", old)
        await store.save(tracker)
        tracker = await store.retrieve("c2")
        new = session(9000.0, turns=1)
        new.insert(2, SlotSet("language", tracker.get_slot("language"), timestamp=9000.002))  # carried over
        for event in new:
            tracker.update(event)
        await store.save(tracker)
        return await store.retrieve("c2"), await store.retrieve_full_tracker("c2"), old, new

    current, full, old, new = asyncio.run(scenario())
    assert [e.as_dict() for e in current.events] == [e.as_dict() for e in new]  # only this session
    assert current.get_slot("language") == "sw"
    assert [e.as_dict() for e in full.events] == [e.as_dict() for e in old + new]  # every event, in order
    assert live_length(store, "c2") == len(new)


def test_a_returning_customer_costs_what_a_new_one_costs(store):
    """100 earlier sessions: the live list holds one session; the archive holds the rest."""

    async def scenario():
        tracker = tracker_of("c3", session(0.0, turns=12))
        await store.save(tracker)
        for n in range(1, 100):
            tracker = await store.retrieve("c3")
            for event in session(n * 10_000.0, turns=12):
                tracker.update(event)
            await store.save(tracker)
        return await store.retrieve_full_tracker("c3")

    full = asyncio.run(scenario())
    assert len(full.events) == 100 * len(session(0.0, turns=12))
    assert live_length(store, "c3") == len(session(0.0, turns=12))


def test_when_redis_is_unreachable_the_store_fails_instead_of_answering_from_nothing(archive_url, key_prefix):
    dead = SessionTrackerStore(DOMAIN, "127.0.0.1", port=free_port(), key_prefix=key_prefix,
                               archive_url=archive_url, outage_wait=0.3)  # fmt: skip
    wrapped = FailSafeTrackerStore(dead)  # how Rasa's agent wraps every store

    async def scenario():
        with pytest.raises(ContextUnavailable):
            await wrapped.retrieve("c4")
        with pytest.raises(ContextUnavailable):
            await wrapped.retrieve_full_tracker("c4")
        with pytest.raises(ContextUnavailable):
            await wrapped.save(tracker_of("c4", session(0.0)))

    asyncio.run(scenario())


# --- the lock store -------------------------------------------------------------------------------


def lock_store(redis_url, key_prefix, **extra):
    config = redis_config(redis_url, key_prefix, **extra)
    return TicketLockStore(url=config.pop("host"), **config)


def test_twenty_messages_on_two_servers_are_served_one_at_a_time_in_ticket_order(redis_url, key_prefix):
    async def scenario():
        servers = [lock_store(redis_url, key_prefix), lock_store(redis_url, key_prefix)]
        served, inside = [], []

        async def message(n):
            async with servers[n % 2].lock("c5") as lock:
                inside.append(n)
                assert len(inside) == 1, "two messages of one conversation ran at once"
                served.append(lock.now_serving)
                await asyncio.sleep(random.uniform(0, 0.02))
                inside.remove(n)

        await asyncio.gather(*(message(n) for n in range(20)))
        return served

    served = asyncio.run(scenario())
    assert served == sorted(served) and len(set(served)) == 20


def test_a_slow_turn_keeps_its_lock_and_a_crashed_server_frees_it(redis_url, key_prefix):
    async def scenario():
        store = lock_store(redis_url, key_prefix, lock_lifetime=0.3)
        order = []
        slow_has_it = asyncio.Event()

        async def next_one_waits():
            """The next message took its ticket (the conversation's counter in Redis): it waits behind this one."""
            return int(await store.redis.get(store._keys("c6")["next"]) or 0) == 2

        async def slow():
            async with store.lock("c6"):
                order.append("slow starts")
                slow_has_it.set()
                await eventually(next_one_waits)
                await asyncio.sleep(1.0)  # three lifetimes, the next one waiting all along: kept alive
                order.append("slow ends")

        async def next_one():
            await slow_has_it.wait()
            async with store.lock("c6"):
                order.append("next")

        await asyncio.gather(slow(), next_one())
        crashed = await store.issue("c7")  # a server took a ticket and died: nobody keeps it alive
        started = time.monotonic()
        async with store.lock("c7") as lock:
            waited = time.monotonic() - started
        return order, crashed, lock.now_serving, waited

    order, crashed, served, waited = asyncio.run(scenario())
    assert order == ["slow starts", "slow ends", "next"]
    assert served == crashed + 1 and 0.2 < waited < 2.0


def test_a_task_holding_a_conversation_goes_through_its_own_lock_and_nobody_elses(redis_url, key_prefix):
    """The WhatsApp channel holds the ticket while Rasa's agent, inside, asks the lock store (another
    instance) for the same conversation: it goes straight through. Another task, even one started while
    the ticket is held (it copies the context), waits its turn."""

    async def scenario():
        channel, rasa = lock_store(redis_url, key_prefix), lock_store(redis_url, key_prefix)
        order = []

        async def another_message():
            async with rasa.lock("c9"):
                order.append("another message")

        async with channel.lock("c9"):
            async with rasa.lock("c9"):
                order.append("the turn")
            waiting = asyncio.ensure_future(another_message())
            await eventually(lambda: rasa.redis.exists(rasa._keys("c9")["alive"] + "2"), what="the other ticket")
            tickets = int(await channel.redis.get(channel._keys("c9")["next"]))
            order.append("turn ends")
        await waiting
        async with rasa.lock("c10"):  # another conversation, in the same task: a ticket of its own
            pass
        return order, tickets

    order, tickets = asyncio.run(asyncio.wait_for(scenario(), 15))  # a lock waiting on itself never ends
    assert order == ["the turn", "turn ends", "another message"]
    assert tickets == 2  # the channel's (1) and the other message's (2): none for the turn inside


def test_without_redis_no_lock_is_pretended(key_prefix):
    async def scenario():
        store = TicketLockStore(url="127.0.0.1", port=free_port(), key_prefix=key_prefix)
        with pytest.raises(LockError):
            async with store.lock("c8"):
                pass

    asyncio.run(scenario())


def test_events_are_stored_as_rasa_writes_them(store):
    asyncio.run(store.save(tracker_of("c9", session(5.0, turns=1))))
    raw = plain_redis(store).lindex(store._live("c9"), 0)
    assert json.loads(raw)["event"] == "action" and json.loads(raw)["name"] == "action_session_start"


def test_late_in_a_long_session_rasa_sees_the_newest_events_and_the_whole_state(redis_url, key_prefix, archive_url):
    config = redis_config(redis_url, key_prefix, max_event_history=40)
    store = SessionTrackerStore(DOMAIN, config.pop("host"), archive_url=archive_url, **config)

    async def scenario():
        await store.save(tracker_of("c10", session(0.0, turns=1, language="sw")))
        for n in range(30):  # thirty more turns in the same session
            tracker = await store.retrieve("c10")
            for event in [
                UserUttered(f"more {n}", timestamp=100.0 + n),
                ActionExecuted("action_listen", timestamp=100.5 + n),
            ]:
                tracker.update(event)
            await store.save(tracker)
            await store.save(tracker)  # saved twice: nothing is written twice
        return await store.retrieve("c10"), await store.retrieve_full_tracker("c10")

    late, full = asyncio.run(scenario())
    # What the policies and the action server get: a prelude restating the older events, then the newest 40.
    prelude = [e for e in late.events if isinstance(e, SlotSet)]
    assert len(late.events) == 40 + len(prelude) and prelude == [SlotSet("language", "sw")]
    assert late.get_slot("language") == "sw"  # set in the session's first events, long out of that window
    policies_view, _ = list(late.generate_all_prior_trackers())[-1]
    assert policies_view.get_slot("language") == "sw"  # the dialogue states rebuilt from the window have it too
    assert late.latest_message.text == "more 29"
    assert len(full.events) == live_length(store, "c10") == len(session(0.0, turns=1, language="sw")) + 60
