"""SessionTrackerStore: a turn's cost is bounded by the current session, not the customer's history.

Rasa's RedisTrackerStore keeps a conversation as one JSON value that every turn reads, merges and
rewrites whole: 1.5 MB and 27 times slower per turn for a customer with 5,000 events. Here:

- the live session is a Redis list of events; a turn reads the list (this session only) and
  RPUSHes its new events;
- when a new session starts, the events of the sessions before it are copied to PostgreSQL
  (commerce.conversation_events, where staff and designers can read whole conversations) and
  dropped from Redis; the copy is idempotent (position is unique), so a crash between the two
  steps duplicates nothing;
- `retrieve_full_tracker` (Rasa's API for the whole conversation) joins the archive and the live list.

Slots carry over to a new session as with Rasa's stores: the new session starts in the tracker
that still holds the old one, and action_session_start sets them again.

Redis unreachable: reading or writing is retried for `outage_wait` seconds, then ContextUnavailable
is raised. Rasa's FailSafeTrackerStore would turn any error into an empty tracker and a reply
computed without the customer's cart or form; `_let_context_errors_through` stops that for this
error only, so the message fails instead (the WhatsApp channel then tells the customer the shop is
briefly unavailable, and Meta's redelivery or the customer's next message is answered in context).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Set, Text, Type

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, ConversationPaused, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from redis.exceptions import RedisError

from bot import logs
from bot.stores.archive import Archive
from bot.stores.connection import key_prefix, redis_from

log = logging.getLogger(__name__)

SESSION_START = "action_session_start"
# What the policies and the action server see of a session: its newest events (a turn adds about 10),
# after a prelude that restates what the older ones had set (slots, active form).
MAX_EVENT_HISTORY = 200


class ContextUnavailable(RuntimeError):
    """The conversation's state cannot be read or written now; nothing was answered from a guess."""


def _session_start_index(events: List[Event]) -> Optional[int]:
    """Where the last session begins: its action_session_start (or, failing that, its SessionStarted)."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, ActionExecuted) and event.action_name == SESSION_START:
            return index
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], SessionStarted):
            return index
    return None


@functools.cache
def _event_class(type_name: str) -> Optional[Type[Event]]:
    return Event.resolve_by_type(type_name)  # walks every Event subclass: once per type here, not per event


def _deserialise(rows: Iterable[dict]) -> List[Event]:
    """Rasa's events.deserialise_events, without looking the class up again for every event."""
    events = []
    for data in rows:
        cls = _event_class(data["event"])
        event = cls._from_parameters(data) if cls is not None else None
        if event is not None:
            events.append(event)
    return events


def _state_of(tracker: DialogueStateTracker, window: List[Event]) -> List[Event]:
    """Events that set a fresh tracker to `tracker`'s state (slots, active form, pause), dated just
    before the window they precede. They are never saved: they only stand for the older events."""
    at = window[0].timestamp - 0.001 if window else time.time()
    prelude: List[Event] = [
        SlotSet(name, slot.value, timestamp=at)
        for name, slot in tracker.slots.items()
        if slot.value != slot.initial_value
    ]
    if tracker.active_loop_name:
        prelude.append(ActiveLoop(tracker.active_loop_name, timestamp=at))
    if tracker.is_paused():
        prelude.append(ConversationPaused(timestamp=at))
    return prelude


LOADED = "_session_store_loaded"  # set on the trackers this store hands out


@dataclass
class _Loaded:
    count: int  # events of the live session in Redis when the tracker was read (or last saved)
    last: Optional[Event]  # the newest of them, as the object in tracker.events


def _mark(tracker: DialogueStateTracker, count: int) -> None:
    setattr(tracker, LOADED, _Loaded(count, tracker.events[-1] if tracker.events else None))


def _added_since_read(tracker: DialogueStateTracker) -> Optional[List[Event]]:
    """The events the turn added to a tracker this store read; None for any other tracker."""
    loaded: Optional[_Loaded] = getattr(tracker, LOADED, None)
    if loaded is None:
        return None
    events = list(tracker.events)
    if loaded.last is None:
        return events
    for index in range(len(events) - 1, -1, -1):
        if events[index] is loaded.last:
            return events[index + 1 :]
    raise ContextUnavailable(
        f"more than max_event_history events were added in one turn to {tracker.sender_id}; raise max_event_history"
    )


def _same(stored: Optional[bytes], event: Event) -> bool:
    if stored is None:
        return False
    data = json.loads(stored)
    return data.get("event") == event.type_name and data.get("timestamp") == event.timestamp


def live_key(prefix: str, sender_id: str) -> str:
    """The Redis list of a conversation's live session; `prefix` is the store's key_prefix."""
    return f"{prefix}:session:{sender_id}:events"


async def answered_message_ids(redis: Any, prefix: str, sender_id: str, newest: int = MAX_EVENT_HISTORY) -> Set[str]:
    """The channel's ids of the user messages among the newest events of the live session: the messages
    whose turn was saved. Read straight from Redis by the WhatsApp channel, for a burst taken again
    after its server died (a saved turn is not run twice)."""
    ids: Set[str] = set()
    for raw in await redis.lrange(live_key(prefix, sender_id), -newest, -1):
        event = json.loads(raw)
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            ids.update(str(i) for i in metadata.get("whatsapp_message_ids") or [])
            ids.update([str(event["message_id"])] if event.get("message_id") else [])
    return ids


class SessionTrackerStore(TrackerStore):
    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        **config: Any,
    ) -> None:
        super().__init__(domain, event_broker, **config)
        logs.install()  # conversation ids are phone numbers: masked in every log line
        self.redis = redis_from({**config, "url": host})
        self.key_prefix = key_prefix(config)
        self.prefix = f"{self.key_prefix}:session"
        self.outage_wait = float(config.get("outage_wait") or 8.0)
        self.max_event_history = int(config.get("max_event_history") or MAX_EVENT_HISTORY)
        self.archive = Archive(config.get("archive_url") or "")

    def _live(self, sender_id: str) -> str:
        return live_key(self.key_prefix, sender_id)

    def _archived(self, sender_id: str) -> str:
        return f"{self.prefix}:{sender_id}:archived"  # how many events of this conversation are in PostgreSQL

    async def _redis(self, operation: str, call):
        """Run a Redis call, retrying while Redis is away for up to `outage_wait` seconds."""
        deadline = time.monotonic() + self.outage_wait
        wait = 0.1
        while True:
            try:
                return await call()
            except RedisError as e:
                if time.monotonic() + wait > deadline:
                    raise ContextUnavailable(f"conversation state unavailable ({operation}): {e}") from e
                log.warning("tracker store: Redis unavailable (%s), retrying in %.1f s: %s", operation, wait, e)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 1.0)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The current session, as Rasa needs it to answer: its newest `max_event_history` events after
        a short prelude (SlotSet, ActiveLoop) that restates what the older ones had set, so the
        policies and the action server get a bounded tracker whose states are still right."""
        stored = await self._redis("read", lambda: self.redis.lrange(self._live(sender_id), 0, -1))
        if not stored:
            return None
        events = _deserialise(json.loads(e) for e in stored)
        older, window = events[: -self.max_event_history], events[-self.max_event_history :]
        prelude = (
            _state_of(DialogueStateTracker.from_events(sender_id, older, self.domain.slots), window) if older else []
        )
        tracker = DialogueStateTracker.from_events(sender_id, prelude + window, self.domain.slots)
        _mark(tracker, len(stored))
        return tracker

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        """Every event of the conversation: the archived sessions, then the live one."""
        archived = await self.archive.events(conversation_id)
        stored = await self._redis("read", lambda: self.redis.lrange(self._live(conversation_id), 0, -1))
        events = archived + [json.loads(e) for e in stored]
        if not events:
            return None
        return DialogueStateTracker.from_events(conversation_id, _deserialise(events), self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append what the turn added; when a new session started, archive the ones before it."""
        await self.stream_events(tracker)
        new = _added_since_read(tracker)
        if new is None:  # a tracker this store did not read: a new conversation, or Rasa replaced the events
            await self._save_whole(tracker)
            return
        start = _session_start_index(new)
        if start is None:
            if new:
                rows = [json.dumps(e.as_dict()) for e in new]
                await self._redis("write", lambda: self.redis.rpush(self._live(tracker.sender_id), *rows))
            _mark(tracker, getattr(tracker, LOADED).count + len(new))
            return
        # A new session began in this turn: the stored session (and anything before the start) is archived.
        stored = await self._redis("read", lambda: self.redis.lrange(self._live(tracker.sender_id), 0, -1))
        finished = [json.loads(e) for e in stored] + [e.as_dict() for e in new[:start]]
        await self._start_session(tracker.sender_id, finished, new[start:])
        _mark(tracker, len(new) - start)

    async def _save_whole(self, tracker: DialogueStateTracker) -> None:
        events = list(tracker.events)
        live = self._live(tracker.sender_id)

        async def stored_state():
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.llen(live).lindex(live, -1)
                return await pipe.execute()

        count, last = await self._redis("read", stored_state)
        continuing = count == 0 or (len(events) >= count and _same(last, events[count - 1]))
        start = _session_start_index(events) or 0
        if continuing and start < count:
            rows = [json.dumps(e.as_dict()) for e in events[count:]]
            if rows:
                await self._redis("write", lambda: self.redis.rpush(live, *rows))
        else:
            finished = [e.as_dict() for e in events[:start]] if continuing else []
            await self._start_session(tracker.sender_id, finished, events[start:])
        _mark(tracker, len(events) - (0 if continuing and start < count else start))

    async def _start_session(self, sender_id: str, finished: List[dict], session: List[Event]) -> None:
        """Archive the finished events (idempotently, by position), then make `session` the live list."""
        live, archived_key = self._live(sender_id), self._archived(sender_id)
        archived = int(await self._redis("read", lambda: self.redis.get(archived_key)) or 0)
        if finished:
            await self.archive.append(sender_id, archived, finished)
        rows = [json.dumps(e.as_dict()) for e in session]

        async def replace_live():
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(live)
                if rows:
                    pipe.rpush(live, *rows)
                pipe.set(archived_key, archived + len(finished))
                await pipe.execute()

        await self._redis("write", replace_live)

    async def keys(self) -> Iterable[Text]:
        suffix, found = ":events", []
        async for key in self.redis.scan_iter(match=f"{self.prefix}:*{suffix}"):
            name = key.decode() if isinstance(key, bytes) else key
            found.append(name[len(self.prefix) + 1 : -len(suffix)])
        return found


def _let_context_errors_through() -> None:
    """Rasa wraps every tracker store in FailSafeTrackerStore, which answers a failed read with an
    empty tracker and sends a failed write to memory. With this store an error fails the message
    instead; other stores keep Rasa's behaviour."""
    if getattr(FailSafeTrackerStore, "_duka_patched", False):
        return
    original = FailSafeTrackerStore.retrieve, FailSafeTrackerStore.retrieve_full_tracker, FailSafeTrackerStore.save

    async def retrieve(self: FailSafeTrackerStore, sender_id: Text) -> Optional[DialogueStateTracker]:
        if isinstance(self._tracker_store, SessionTrackerStore):
            return await self._tracker_store.retrieve(sender_id)
        return await original[0](self, sender_id)

    async def retrieve_full_tracker(self: FailSafeTrackerStore, sender_id: Text) -> Optional[DialogueStateTracker]:
        if isinstance(self._tracker_store, SessionTrackerStore):
            return await self._tracker_store.retrieve_full_tracker(sender_id)
        return await original[1](self, sender_id)

    async def save(self: FailSafeTrackerStore, tracker: DialogueStateTracker) -> None:
        if isinstance(self._tracker_store, SessionTrackerStore):
            return await self._tracker_store.save(tracker)
        return await original[2](self, tracker)

    FailSafeTrackerStore.retrieve = retrieve
    FailSafeTrackerStore.retrieve_full_tracker = retrieve_full_tracker
    FailSafeTrackerStore.save = save
    FailSafeTrackerStore._duka_patched = True


_let_context_errors_through()
