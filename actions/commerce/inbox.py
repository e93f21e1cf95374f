"""The staff inbox: a conversation waiting for a person, read whole; staff replies, delivered into the
customer's chat by the worker; a shop's canned replies in English and Swahili.

The bot stays quiet while a conversation waits for a person (Rasa's pause, actions/chat/handoff.py and
session.py); staff replies reach the customer through Rasa as the bot's messages, so they are in the
conversation's events and go out on the customer's channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from actions.commerce.errors import NotFound, Refused
from actions.commerce.language import LANGUAGES
from actions.commerce.ports import (
    CannedReply,
    Conversations,
    ConversationSource,
    Handoff,
    StaffMember,
    StaffReply,
    UnitOfWork,
)

MAX_REPLY = 4096  # one WhatsApp text message
MAX_TITLE = 80
HISTORY = 400  # archived events shown before the live session: a long-time customer's page stays small
STAFF_REPLY = "staff_reply"  # the metadata key of a delivered staff reply in the conversation's events
EXTERNAL = "EXTERNAL_"


@dataclass(frozen=True)
class Line:
    """One message of a conversation as staff read it."""

    who: str  # "customer", "bot" or "staff"
    text: str
    at: float | None  # seconds since 1970; None for a staff reply not yet sent
    by: str = ""  # the staff member, for staff lines
    sending: bool = False  # a staff reply the worker has not delivered yet
    choices: tuple[str, ...] = ()  # the buttons the bot offered


@dataclass(frozen=True)
class Thread:
    handoff: Handoff
    lines: list[Line]  # oldest first
    language: str  # the customer's, for canned replies
    canned: list[CannedReply]


def transcript(events: list[dict[str, Any]], pending: list[StaffReply]) -> list[Line]:
    """The customer's, the bot's and staff's messages, oldest first; replies not yet delivered last."""
    lines, delivered = [], set()
    for event in events:
        kind, text = event.get("event"), event.get("text")
        if kind == "user" and text and not _external(event):
            lines.append(Line("customer", text, event.get("timestamp")))
        elif kind == "bot":
            staff = (event.get("metadata") or {}).get(STAFF_REPLY)
            if isinstance(staff, dict):
                delivered.add(staff.get("id"))
                lines.append(Line("staff", text or "", event.get("timestamp"), by=str(staff.get("by") or "")))
            elif text or _choices(event):
                lines.append(Line("bot", text or "", event.get("timestamp"), choices=_choices(event)))
    waiting = [r for r in pending if r.id not in delivered]
    return lines + [Line("staff", r.text, None, by=r.staff_name, sending=True) for r in waiting]


def _external(event: dict[str, Any]) -> bool:
    intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
    return intent.startswith(EXTERNAL) or str(event.get("text") or "").startswith("EXTERNAL: ")


def _choices(event: dict[str, Any]) -> tuple[str, ...]:
    buttons = (event.get("data") or {}).get("buttons") or []
    return tuple(str(b.get("title")) for b in buttons if isinstance(b, dict) and b.get("title"))


def language_of(events: list[dict[str, Any]]) -> str:
    """The customer's language, from the conversation's `language` slot; English if it has none."""
    values = [e.get("value") for e in events if e.get("event") == "slot" and e.get("name") == "language"]
    return next((v for v in reversed(values) if v in LANGUAGES), "en")


async def _handoff(uow: UnitOfWork, staff: StaffMember, handoff_id: int) -> Handoff:
    handoff = await uow.handoffs.get(handoff_id)
    if handoff is None or handoff.tenant_id != staff.tenant_id:
        raise NotFound(f"conversation {handoff_id}")
    return handoff


async def thread(uow: UnitOfWork, source: ConversationSource, staff: StaffMember, handoff_id: int) -> Thread:
    """A hand-off's whole conversation for its shop's staff; NotFound for another shop's."""
    async with uow:
        handoff = await _handoff(uow, staff, handoff_id)
        pending = await uow.handoffs.undelivered(handoff.conversation_id)
        canned = await uow.canned_replies.of_shop(staff.tenant_id)
    events = await source.one(handoff.conversation_id, HISTORY)
    return Thread(handoff, transcript(events, pending), language_of(events), canned)


UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: no PostgreSQL text holds them


def _reply_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise Refused("Write something to send.")
    if len(text) > MAX_REPLY:
        raise Refused(f"A reply is at most {MAX_REPLY} characters (this one has {len(text)}).")
    if UNSTORABLE.search(text):
        raise Refused("The reply has a character that cannot be sent (NUL or a broken emoji).")
    return text


async def reply(uow: UnitOfWork, staff: StaffMember, staff_name: str, handoff_id: int, text: str) -> StaffReply:
    """Store the reply and queue its delivery in one transaction; whoever answers is the assignee.

    NotFound for another shop's hand-off; Refused for an empty or too long reply, or a conversation handed
    back to the bot already."""
    text = _reply_text(text)
    async with uow:
        handoff = await _handoff(uow, staff, handoff_id)
        if not handoff.waiting:
            raise Refused("This conversation was handed back to the bot: the customer is talking to the bot again.")
        sent = await uow.handoffs.add_reply(handoff, staff, staff_name, text)
        await uow.outbox.send_reply(sent)
        await uow.audit.write(staff, "staff_reply", f"conversation:{handoff.conversation_id}"[:64], reply=sent.id)
        await uow.commit()
    return sent


async def deliver(uow: UnitOfWork, conversations: Conversations, reply_id: int) -> bool:
    """Send a staff reply into the customer's conversation (the worker runs this for each queued reply):
    False when it is gone or was delivered already (a job runs at least once).

    Delivered is noted after Rasa took the message, so only a worker stopping between the two repeats it."""
    async with uow:
        found = await uow.handoffs.reply(reply_id)
    if found is None or found.delivered:
        return False
    metadata = {STAFF_REPLY: {"id": found.id, "by": found.staff_name}}
    await conversations.say(found.conversation_id, found.text, metadata)  # unreachable: the job is tried again
    async with uow:
        await uow.handoffs.mark_delivered(reply_id)
        await uow.commit()
    return True


async def waiting_for_person(uow: UnitOfWork, tenant_id: int, conversation_id: str) -> bool:
    async with uow:
        return await uow.handoffs.is_waiting(tenant_id, conversation_id)


# --- canned replies ------------------------------------------------------------------------------


async def canned_replies(uow: UnitOfWork, staff: StaffMember) -> list[CannedReply]:
    async with uow:
        return await uow.canned_replies.of_shop(staff.tenant_id)


async def save_canned(
    uow: UnitOfWork, staff: StaffMember, reply_id: int | None, title: str, text_en: str, text_sw: str
) -> str:
    """Add a canned reply (reply_id None) or change one; both languages are needed."""
    title, text_en, text_sw = title.strip(), text_en.strip(), text_sw.strip()
    if not title or len(title) > MAX_TITLE:
        raise Refused(f"Give the reply a title of 1 to {MAX_TITLE} characters.")
    if not text_en or not text_sw:
        raise Refused("Write the reply in both English and Swahili.")
    for text in (text_en, text_sw):
        _reply_text(text)
    if UNSTORABLE.search(title):
        raise Refused("The title has a character that cannot be stored (NUL or a broken emoji).")
    async with uow:
        shops = {c.id: c.title.casefold() for c in await uow.canned_replies.of_shop(staff.tenant_id)}
        if reply_id is not None and reply_id not in shops:
            raise NotFound(f"canned reply {reply_id}")
        taken = title.casefold() in {t for i, t in shops.items() if i != reply_id}
        if taken or not await uow.canned_replies.save(staff.tenant_id, reply_id, title, text_en, text_sw):
            raise Refused(f"There is a canned reply called {title!r} already.")
        await uow.audit.write(staff, "save_canned_reply", f"canned:{title}"[:64])
        await uow.commit()
    return f"Saved {title!r}."


async def delete_canned(uow: UnitOfWork, staff: StaffMember, reply_id: int) -> str:
    async with uow:
        if not await uow.canned_replies.delete(staff.tenant_id, reply_id):
            raise NotFound(f"canned reply {reply_id}")
        await uow.audit.write(staff, "delete_canned_reply", f"canned:{reply_id}")
        await uow.commit()
    return "Deleted."
