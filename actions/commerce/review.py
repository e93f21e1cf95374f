"""Conversation review: the customers' messages the bot was unsure about, and adding one as a
training example in one step.

Read from the events of real conversations (Rasa's event dicts, from the live sessions and the
archive of finished ones), a message is listed when
- its intent's confidence was below the threshold (REVIEW_CONFIDENCE_BELOW),
- it fell back (`nlu_fallback`, or the turn ran a fallback action),
- the bot asked the same question again right after it (a form re-asking its slot), or
- a hand-off to a person followed it (when the customer plainly asked for a person, the message
  before that one is listed: what the bot had not helped with).
Messages are grouped by the intent the model guessed and de-duplicated by normalised text; a
message that is already a training example is not listed, so adding one takes it off the review.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from actions.commerce.errors import NotFound, Refused
from actions.commerce.language import LANGUAGES, detect_language
from actions.commerce.nlu_examples import TrainingSet, clean, normalised, with_example
from actions.commerce.phones import mask_phones
from actions.commerce.ports import Conversation, ConversationSource, TrainingData

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_two_stage_fallback", "utter_default"})
HANDOFF_ACTION = "action_handoff"
HANDOFF_INTENT = "talk_to_human"
# Actions a form runs while it asks its questions; anything else in the turn is a detour the bot took on purpose.
_FORM_STEPS = frozenset({"action_listen", "action_extract_slots", "action_validate_slot_mappings"})


class Reason(StrEnum):
    LOW_CONFIDENCE = "low confidence"
    FALLBACK = "fallback"
    ASKED_AGAIN = "asked again"
    HANDOFF = "hand-off"


@dataclass(frozen=True)
class Guess:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Unsure:
    """One message the bot was unsure about, where it was said."""

    text: str
    guess: Guess
    runners_up: tuple[Guess, ...]
    reasons: frozenset[Reason]
    at: datetime
    conversation: str  # masked


@dataclass
class Item:
    """A message to review: every time it (or the same words) was said."""

    id: str
    text: str  # as the customer wrote it the last time
    guess: Guess
    runners_up: tuple[Guess, ...]
    reasons: set[Reason]
    first_seen: datetime
    last_seen: datetime
    conversations: set[str] = field(default_factory=set)
    count: int = 0
    held_out: str | None = None  # the held-out file it is in: it can never be added

    @property
    def shown(self) -> str:
        return mask_phones(self.text)

    @property
    def language(self) -> str | None:
        return detect_language(self.text)


@dataclass(frozen=True)
class Group:
    intent: str  # what the model guessed
    items: list[Item]

    @property
    def count(self) -> int:
        return sum(item.count for item in self.items)


@dataclass(frozen=True)
class Added:
    item: Item
    intent: str
    language: str
    example: str
    file: str


# --- finding them ----------------------------------------------------------------------------------


def _guesses(parse_data: dict[str, Any]) -> tuple[Guess, tuple[Guess, ...], bool] | None:
    """The model's guess, the runners-up and whether it fell back; None for a message without an intent."""
    intent = parse_data.get("intent") or {}
    if not intent.get("name"):
        return None
    ranking = [
        Guess(r["name"], float(r.get("confidence") or 0.0))
        for r in parse_data.get("intent_ranking") or []
        if r.get("name") and r["name"] != FALLBACK_INTENT
    ]
    fell_back = intent["name"] == FALLBACK_INTENT
    # On a fallback, the guess is what the model would have said above the fallback threshold.
    guess = ranking[0] if fell_back and ranking else Guess(intent["name"], float(intent.get("confidence") or 0.0))
    return guess, tuple(g for g in ranking if g.intent != guess.intent)[:2], fell_back


def _question(event: dict[str, Any]) -> str | None:
    """The slot a form asks for in this event, if it asks one: its requested_slot or its utter_ask_/action_ask_."""
    kind = event.get("event")
    if kind == "slot" and event.get("name") == "requested_slot" and event.get("value"):
        return str(event["value"])
    name = (event.get("metadata") or {}).get("utter_action") if kind == "bot" else event.get("name")
    if kind in ("bot", "action") and isinstance(name, str):
        for prefix in ("utter_ask_", "action_ask_"):
            if name.startswith(prefix):
                return name.removeprefix(prefix)
    return None


@dataclass
class _Turn:
    message: dict[str, Any]
    pending: str | None  # the question waiting for an answer when the message came
    after: list[dict[str, Any]] = field(default_factory=list)

    def actions(self) -> list[str]:
        return [e.get("name") or "" for e in self.after if e.get("event") == "action"]

    def asked_again(self) -> bool:
        asked = {q for q in map(_question, self.after) if q}
        detours = [
            a
            for a in self.actions()
            if a not in _FORM_STEPS and not a.endswith("_form") and not a.startswith(("validate_", "action_ask_"))
        ]
        return self.pending is not None and self.pending in asked and not detours


def _ends_question(event: dict[str, Any]) -> bool:
    """The form got its answers, or stopped, or a new session began."""
    kind, name = event.get("event"), event.get("name")
    return (
        (kind == "slot" and name == "requested_slot")
        or (kind == "active_loop" and not name)
        or (kind == "action" and name == "action_session_start")
    )


def _turns(events: Iterable[dict[str, Any]]) -> Iterator[_Turn]:
    turn, pending = None, None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if turn is not None:
                yield turn
            turn = _Turn(event, pending)
        elif turn is not None:
            turn.after.append(event)
        if (question := _question(event)) is not None:
            pending = question
        elif _ends_question(event):
            pending = None
    if turn is not None:
        yield turn


def _typed(message: dict[str, Any]) -> bool:
    """Words a customer typed: not a button's payload, not the worker's message through Rasa's API."""
    text = (message.get("text") or "").strip()
    intent = ((message.get("parse_data") or {}).get("intent") or {}).get("name") or ""
    return bool(text) and not text.startswith("/") and not intent.startswith("EXTERNAL_")


def unsure_messages(conversation: Conversation, below: float, since: datetime | None = None) -> Iterator[Unsure]:
    """The messages of one conversation the bot was unsure about, oldest first."""
    earliest = since.timestamp() if since else float("-inf")
    previous: _Turn | None = None
    for turn in _turns(conversation.events):
        if not _typed(turn.message):
            continue
        guessed = _guesses(turn.message.get("parse_data") or {})
        if guessed is None:
            continue
        guess, _, fell_back = guessed
        reasons = set()
        if guess.confidence < below:
            reasons.add(Reason.LOW_CONFIDENCE)
        if fell_back or FALLBACK_ACTIONS.intersection(turn.actions()):
            reasons.add(Reason.FALLBACK)
        if turn.asked_again():
            reasons.add(Reason.ASKED_AGAIN)
        listed = turn
        if HANDOFF_ACTION in turn.actions():
            if guess.intent == HANDOFF_INTENT and guess.confidence >= below and not reasons:
                listed = previous  # "a person please": the message before is what the bot did not help with
            reasons.add(Reason.HANDOFF)
        if listed is not None and reasons and float(listed.message.get("timestamp") or 0) >= earliest:
            yield _unsure(conversation, listed, reasons)
        previous = turn


def _unsure(conversation: Conversation, turn: _Turn, reasons: set[Reason]) -> Unsure:
    guess, runners_up, _ = _guesses(turn.message["parse_data"])  # a typed message with an intent: see above
    text, moment = turn.message["text"].strip(), _moment(turn.message)
    return Unsure(text, guess, runners_up, frozenset(reasons), moment, mask_phones(conversation.id))


def _moment(event: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(event.get("timestamp") or 0), UTC)


_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def since(text: str, now: datetime) -> datetime | None:
    """'7d', '12h', '30m', '2w' before `now`; 'all' for no limit. ValueError for anything else."""
    text = text.strip().lower()
    if text == "all":
        return None
    if not re.fullmatch(r"\d{1,4}[mhdw]", text):
        raise ValueError(f"{text!r} is not a time like 7d, 12h, 30m, 2w or all")
    return now - int(text[:-1]) * _UNITS[text[-1]]


def item_id(text: str) -> str:
    return hashlib.sha256(normalised(text).encode()).hexdigest()[:8]


def grouped(found: Iterable[Unsure], training: TrainingSet, limit: int | None = None) -> list[Group]:
    """By guessed intent, the same words once with a count; the most frequent first. Messages that
    are training examples already are left out."""
    items: dict[str, Item] = {}
    seen: set[tuple[str, datetime, str]] = set()  # a message listed for two turns (its own, a hand-off's) counts once
    for unsure in sorted(found, key=lambda u: u.at):
        key = normalised(unsure.text)
        if not key or key in training.trained:
            continue
        if (unsure.conversation, unsure.at, key) in seen:
            items[key].reasons |= unsure.reasons
            continue
        seen.add((unsure.conversation, unsure.at, key))
        item = items.get(key)
        if item is None:
            item = items[key] = Item(
                item_id(unsure.text), unsure.text, unsure.guess, unsure.runners_up, set(), unsure.at, unsure.at
            )
            item.held_out = training.held_out.get(key)
        item.text, item.guess, item.runners_up, item.last_seen = unsure.text, unsure.guess, unsure.runners_up, unsure.at
        item.reasons |= unsure.reasons
        item.conversations.add(unsure.conversation)
        item.count += 1
    ranked = sorted(items.values(), key=lambda i: (-i.count, -i.last_seen.timestamp()))[:limit]
    groups: dict[str, list[Item]] = {}
    for item in ranked:
        groups.setdefault(item.guess.intent, []).append(item)
    return sorted((Group(intent, found) for intent, found in groups.items()), key=lambda g: (-g.count, g.intent))


# --- the use cases ---------------------------------------------------------------------------------


async def review(
    conversations: ConversationSource,
    training: TrainingData,
    below: float,
    since: datetime | None = None,
    tenant: str | None = None,
    limit: int | None = None,
) -> list[Group]:
    """What the bot was unsure about in the conversations since `since` (of one shop, if given)."""
    known = await training.current()
    found = [
        unsure
        for conversation in await conversations.since(since)
        if tenant is None or conversation.tenant == tenant
        for unsure in unsure_messages(conversation, below, since)
    ]
    return grouped(found, known, limit)


async def add_example(
    conversations: ConversationSource,
    training: TrainingData,
    below: float,
    message_id: str,
    intent: str,
    language: str | None = None,
    tenant: str | None = None,
    since: datetime | None = None,
) -> Added:
    """Add a message of the review (since `since`) to the intent's examples in data/nlu/<language>.yml
    (the language the message is in, unless given). NotFound for an id not in it; Refused says why not."""
    groups = await review(conversations, training, below, since, tenant)
    item = next((i for g in groups for i in g.items if i.id == message_id), None)
    if item is None:
        raise NotFound(f"no message {message_id!r} is waiting in the review (already added, or never listed)")
    language = language or item.language
    if language not in LANGUAGES:
        raise Refused(f"say which training file the message belongs in: {' or '.join(LANGUAGES)}")
    example = clean(item.text)
    (await training.current()).check(example, intent)
    file = await training.change(language, lambda document, file: with_example(document, intent, example, file))
    return Added(item, intent, language, example, file)
