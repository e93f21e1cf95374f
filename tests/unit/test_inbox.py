"""The staff inbox's use cases over the fakes: reading a hand-off's conversation, replying, delivering a
reply, canned replies."""

import pytest

from actions.commerce import handoffs, inbox
from actions.commerce.errors import ConversationsUnreachable, NotFound, Refused
from actions.commerce.ports import Conversation, StaffMember
from tests.fakes import FakeConversationSource
from tests.unit.shop_world import World

CUSTOMER = "254700000001"


def conversation(*extra: dict) -> Conversation:
    events = [
        {"event": "action", "name": "action_session_start", "timestamp": 1.0},
        {"event": "slot", "name": "language", "value": "sw", "timestamp": 1.1},
        {"event": "user", "text": "habari", "timestamp": 2.0, "parse_data": {"intent": {"name": "greet"}}},
        {"event": "bot", "text": "Karibu!", "timestamp": 2.1, "data": {"buttons": [{"title": "Bidhaa"}]}},
        {"event": "user", "text": "EXTERNAL: EXTERNAL_payment_update", "timestamp": 3.0,
         "parse_data": {"intent": {"name": "EXTERNAL_payment_update"}}},
        {"event": "bot", "text": "Malipo yamepokelewa", "timestamp": 3.1},
        {"event": "user", "text": "nataka kuongea na mtu", "timestamp": 4.0},
        *extra,
    ]  # fmt: skip
    return Conversation(CUSTOMER, events, "live")


async def waiting(w: World) -> int:
    await handoffs.ask_for_person(w.uow, w.who, "nataka kuongea na mtu")
    [handoff_id] = w.uow.committed.handoffs
    return handoff_id


async def test_a_hand_off_shows_the_customers_the_bots_and_staffs_messages_oldest_first():
    w = World()
    handoff_id = await waiting(w)
    await inbox.reply(w.uow, w.staff, "Amina", handoff_id, "Habari, nikusaidie vipi?")
    delivered = {"event": "bot", "text": "Habari, nikusaidie vipi?", "timestamp": 5.0,
                 "metadata": {inbox.STAFF_REPLY: {"id": 1, "by": "Amina"}}}  # fmt: skip
    await inbox.reply(w.uow, w.staff, "Amina", handoff_id, "Tuma namba ya oda")
    source = FakeConversationSource(conversation(delivered))
    thread = await inbox.thread(w.uow, source, w.staff, handoff_id)
    lines = [(line.who, line.text, line.by, line.sending) for line in thread.lines]
    assert lines == [
        ("customer", "habari", "", False),
        ("bot", "Karibu!", "", False),
        ("bot", "Malipo yamepokelewa", "", False),  # the payment update, without its invisible trigger
        ("customer", "nataka kuongea na mtu", "", False),
        ("staff", "Habari, nikusaidie vipi?", "Amina", False),  # delivered: from the conversation, once
        ("staff", "Tuma namba ya oda", "Amina", True),  # not yet delivered: sending
    ]
    assert thread.lines[1].choices == ("Bidhaa",)
    assert thread.language == "sw" and thread.handoff.waiting


async def test_replying_stores_the_reply_queues_its_delivery_assigns_the_conversation_and_writes_the_audit_log():
    w = World()
    handoff_id = await waiting(w)
    reply = await inbox.reply(w.uow, w.staff, "Amina", handoff_id, "  Hello, how can I help?  ")
    assert reply.text == "Hello, how can I help?" and reply.conversation_id == CUSTOMER
    assert w.uow.committed.replies_queued == [reply.id]
    assert w.uow.committed.handoffs[handoff_id].assigned_to == w.staff.user_id
    [entry] = w.uow.committed.audit
    assert (entry.action, entry.subject, entry.details) == ("staff_reply", f"conversation:{CUSTOMER}", {"reply": 1})


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (inbox.MAX_REPLY + 1)])
async def test_an_empty_or_too_long_reply_is_refused_and_changes_nothing(text):
    w = World()
    handoff_id = await waiting(w)
    with pytest.raises(Refused):
        await inbox.reply(w.uow, w.staff, "Amina", handoff_id, text)
    assert (w.uow.committed.replies, w.uow.committed.replies_queued, w.uow.committed.audit) == ({}, [], [])


async def test_another_shops_hand_off_is_not_found_to_read_or_answer():
    w = World()
    handoff_id = await waiting(w)
    with pytest.raises(NotFound):
        await inbox.thread(w.uow, FakeConversationSource(conversation()), w.other_staff, handoff_id)
    with pytest.raises(NotFound):
        await inbox.reply(w.uow, w.other_staff, "Otieno", handoff_id, "hello")
    with pytest.raises(NotFound):
        await inbox.reply(w.uow, w.staff, "Amina", 999, "hello")
    assert w.uow.committed.replies == {} and w.uow.committed.handoffs[handoff_id].assigned_to is None


async def test_a_conversation_handed_back_takes_no_more_replies():
    w = World()
    handoff_id = await waiting(w)
    await handoffs.hand_back(w.uow, w.conversations, w.staff, handoff_id)
    with pytest.raises(Refused, match="handed back"):
        await inbox.reply(w.uow, w.staff, "Amina", handoff_id, "one more thing")
    assert w.uow.committed.replies == {}
    assert not (await inbox.thread(w.uow, FakeConversationSource(), w.staff, handoff_id)).handoff.waiting


async def test_whoever_answers_becomes_the_assignee():
    w = World()
    handoff_id = await waiting(w)
    await inbox.reply(w.uow, w.staff, "Amina", handoff_id, "first")
    assert w.uow.committed.handoffs[handoff_id].assigned_to == w.staff.user_id
    colleague = StaffMember(user_id=9, tenant_id=w.shop.id, email="baraka@demo.shop")
    await inbox.reply(w.uow, colleague, "Baraka", handoff_id, "I'll take it from here")
    assert w.uow.committed.handoffs[handoff_id].assigned_to == 9


async def test_a_reply_is_delivered_into_the_conversation_once_and_noted():
    w = World()
    handoff_id = await waiting(w)
    reply = await inbox.reply(w.uow, w.staff, "Amina", handoff_id, "Karibu tena")
    assert await inbox.deliver(w.uow, w.conversations, reply.id)
    assert w.conversations.said == [(CUSTOMER, "Karibu tena", {inbox.STAFF_REPLY: {"id": reply.id, "by": "Amina"}})]
    assert not await inbox.deliver(w.uow, w.conversations, reply.id)  # the job ran again: nobody is told twice
    assert not await inbox.deliver(w.uow, w.conversations, 999)
    assert len(w.conversations.said) == 1
    assert w.uow.committed.replies[reply.id].delivered_at == w.uow.now


async def test_a_reply_the_bot_cannot_take_stays_undelivered_for_the_next_try():
    w = World()
    handoff_id = await waiting(w)
    reply = await inbox.reply(w.uow, w.staff, "Amina", handoff_id, "Karibu tena")
    w.conversations.unreachable = True
    with pytest.raises(ConversationsUnreachable):
        await inbox.deliver(w.uow, w.conversations, reply.id)
    assert w.uow.committed.replies[reply.id].delivered_at is None
    w.conversations.unreachable = False
    assert await inbox.deliver(w.uow, w.conversations, reply.id)
    assert w.uow.committed.replies[reply.id].delivered_at is not None


async def test_the_bot_stays_quiet_in_a_conversation_waiting_for_a_person_until_it_is_handed_back():
    w = World()
    assert not await inbox.waiting_for_person(w.uow, w.shop.id, CUSTOMER)
    handoff_id = await waiting(w)
    assert await inbox.waiting_for_person(w.uow, w.shop.id, CUSTOMER)
    assert not await inbox.waiting_for_person(w.uow, w.other_shop.id, CUSTOMER)
    await handoffs.hand_back(w.uow, w.conversations, w.staff, handoff_id)
    assert not await inbox.waiting_for_person(w.uow, w.shop.id, CUSTOMER)


# --- canned replies ------------------------------------------------------------------------------


async def test_canned_replies_are_kept_per_shop_in_both_languages_and_picked_in_the_customers():
    w = World()
    await inbox.save_canned(
        w.uow, w.staff, None, "Delivery", "We deliver by 5 pm.", "Tunaleta kabla ya saa kumi na moja."
    )
    await inbox.save_canned(w.uow, w.other_staff, None, "Delivery", "Other shop's", "Ya duka lingine")
    [mine] = await inbox.canned_replies(w.uow, w.staff)
    assert (mine.title, mine.text("en"), mine.text("sw")) == (
        "Delivery", "We deliver by 5 pm.", "Tunaleta kabla ya saa kumi na moja."
    )  # fmt: skip
    await inbox.save_canned(w.uow, w.staff, mine.id, "Delivery times", "By 5 pm.", "Kabla ya saa kumi na moja.")
    [changed] = await inbox.canned_replies(w.uow, w.staff)
    assert (changed.id, changed.title, changed.text_en) == (mine.id, "Delivery times", "By 5 pm.")
    assert [c.title for c in await inbox.canned_replies(w.uow, w.other_staff)] == ["Delivery"]


@pytest.mark.parametrize(
    ("title", "en", "sw", "why"),
    [
        ("", "Hi", "Habari", "title"),
        ("x" * 81, "Hi", "Habari", "title"),
        ("Greeting", "Hi", "  ", "both English and Swahili"),
        ("Greeting", "", "Habari", "both English and Swahili"),
        ("Greeting", "x" * 4097, "Habari", "at most"),
        ("delivery", "Hi", "Habari", "already"),
    ],
)
async def test_a_canned_reply_without_a_title_or_a_language_or_with_a_taken_title_is_refused(title, en, sw, why):
    w = World()
    await inbox.save_canned(w.uow, w.staff, None, "Delivery", "By 5 pm.", "Kabla ya saa kumi na moja.")
    with pytest.raises(Refused, match=why):
        await inbox.save_canned(w.uow, w.staff, None, title, en, sw)
    assert [c.title for c in await inbox.canned_replies(w.uow, w.staff)] == ["Delivery"]


async def test_another_shops_canned_reply_cannot_be_changed_or_deleted():
    w = World()
    await inbox.save_canned(w.uow, w.staff, None, "Delivery", "By 5 pm.", "Kabla ya saa kumi na moja.")
    [mine] = await inbox.canned_replies(w.uow, w.staff)
    with pytest.raises(NotFound):
        await inbox.save_canned(w.uow, w.other_staff, mine.id, "Mine now", "x", "y")
    with pytest.raises(NotFound):
        await inbox.delete_canned(w.uow, w.other_staff, mine.id)
    assert await inbox.delete_canned(w.uow, w.staff, mine.id) == "Deleted."
    assert await inbox.canned_replies(w.uow, w.staff) == []
