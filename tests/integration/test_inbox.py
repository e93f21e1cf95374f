"""The staff inbox on real PostgreSQL and Redis: a reply and its delivery job in one transaction, delivered
by a real procrastinate worker in order and once; a hand-off's conversation read from the live session in
Redis and the archive in PostgreSQL; canned replies per shop."""

import json

import pytest
from redis.asyncio import Redis
from sqlalchemy import insert, select, text

from actions.commerce import handoffs, inbox, staff
from actions.commerce.errors import ConversationsUnreachable, Refused
from actions.commerce.model import CustomerRef
from actions.commerce.ports import StaffMember
from actions.db import tables as t
from tests.fakes import FakeConversations
from tests.integration.test_outbox import Crash, crashing, make_due, reachable_rasa, run_worker_until_idle

WHO = CustomerRef("demo-shop", "106540352242922:254700000077")


async def replies_queued(rt) -> list[dict]:
    query = text(
        "SELECT id, status::text, lock, args FROM procrastinate_jobs"
        " WHERE queue_name = :queue AND task_name = 'deliver_staff_reply' ORDER BY id"
    )
    async with rt.engine.connect() as conn:
        rows = (await conn.execute(query, {"queue": rt.settings.jobs_queue})).mappings().all()
    return [{**row["args"], "id": row["id"], "status": row["status"], "lock": row["lock"]} for row in rows]


@pytest.fixture
async def desk(shop) -> tuple[StaffMember, int]:
    """A staff member of the demo shop, and a conversation waiting for a person."""
    await staff.set_staff(shop.uow(), "demo-shop", "desk@demo-shop.example", "Desk", "kahawa-chungu-42")
    async with shop.sessions() as session:
        user = await session.scalar(select(t.StaffUser).where(t.StaffUser.email == "desk@demo-shop.example"))
    await handoffs.ask_for_person(shop.uow(), WHO, "nataka kuongea na mtu")
    async with shop.sessions() as session:
        handoff_id = await session.scalar(select(t.Handoff.id))
    return StaffMember(user.id, user.tenant_id, user.email), handoff_id


async def test_a_reply_is_stored_with_its_delivery_job_and_its_assignee_in_one_transaction(shop, desk):
    member, handoff_id = desk
    with pytest.raises(Crash):
        await inbox.reply(crashing(shop.uow(), after_commit=False), member, "Desk", handoff_id, "Habari!")
    assert await replies_queued(shop) == []
    reply = await inbox.reply(shop.uow(), member, "Desk", handoff_id, "Habari!")
    [job] = await replies_queued(shop)
    assert (job["reply_id"], job["status"], job["lock"]) == (reply.id, "todo", f"reply:{WHO.external_id}")
    async with shop.sessions() as session:
        stored = await session.get(t.StaffReply, reply.id)
        assigned = await session.scalar(select(t.Handoff.assigned_to).where(t.Handoff.id == handoff_id))
    assert (stored.text, stored.staff_user_id, stored.delivered_at, assigned) == (
        "Habari!",
        member.user_id,
        None,
        member.user_id,
    )


async def test_the_worker_delivers_a_conversations_replies_in_order_and_once(shop, desk):
    member, handoff_id = desk
    for words in ("one", "two", "three"):
        await inbox.reply(shop.uow(), member, "Desk", handoff_id, words)
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)
        await run_worker_until_idle(shop)
    assert [(cid, words) for cid, words, _ in rasa.said] == [(WHO.external_id, w) for w in ("one", "two", "three")]
    assert [m[inbox.STAFF_REPLY]["by"] for _, _, m in rasa.said] == ["Desk"] * 3
    assert [job["status"] for job in await replies_queued(shop)] == ["succeeded"] * 3
    async with shop.uow() as uow:
        assert await uow.handoffs.undelivered(WHO.external_id) == []


async def test_a_reply_waits_out_a_rasa_outage_and_holds_back_the_ones_after_it(shop, desk):
    member, handoff_id = desk
    await inbox.reply(shop.uow(), member, "Desk", handoff_id, "first")
    await inbox.reply(shop.uow(), member, "Desk", handoff_id, "second")
    rasa = FakeConversations()
    rasa.unreachable = True
    async with reachable_rasa(shop, rasa):
        await run_worker_until_idle(shop)
        first, second = await replies_queued(shop)
        assert (first["status"], second["status"]) == (
            "todo",
            "todo",
        )  # the first to be tried again, the second behind it
        rasa.unreachable = False
        await make_due(shop, first["id"])
        await run_worker_until_idle(shop)
    assert [words for _, words, _ in rasa.said] == ["first", "second"]


async def test_delivering_an_unknown_or_delivered_reply_tells_nobody(shop, desk):
    member, handoff_id = desk
    reply = await inbox.reply(shop.uow(), member, "Desk", handoff_id, "once")
    rasa = FakeConversations()
    assert await inbox.deliver(shop.uow(), rasa, reply.id)
    assert not await inbox.deliver(shop.uow(), rasa, reply.id)
    assert not await inbox.deliver(shop.uow(), rasa, 987654)
    rasa.unreachable = True
    with pytest.raises(ConversationsUnreachable):
        await inbox.deliver(shop.uow(), rasa, (await inbox.reply(shop.uow(), member, "Desk", handoff_id, "x")).id)
    assert len(rasa.said) == 1


async def test_a_hand_offs_conversation_is_read_from_the_archive_then_the_live_session(shop, desk, redis_key_prefix):
    member, handoff_id = desk
    archived = [
        {"event": "user", "text": "hi, last week", "timestamp": 100.0},
        {"event": "bot", "text": "Welcome back", "timestamp": 100.5},
    ]
    async with shop.sessions() as session, session.begin():
        rows = [
            {"conversation_id": WHO.external_id, "position": n, "event_type": e["event"], "event": e}
            for n, e in enumerate(archived)
        ]
        await session.execute(insert(t.ConversationEvent), rows)
    redis = Redis.from_url(shop.settings.redis_url)
    key = f"{shop.settings.redis_key_prefix}:session:{WHO.external_id}:events"
    live = [
        {"event": "slot", "name": "language", "value": "sw", "timestamp": 200.0},
        {"event": "user", "text": "nataka kuongea na mtu", "timestamp": 201.0},
    ]
    try:
        await redis.rpush(key, *[json.dumps(e) for e in live])
        thread = await inbox.thread(shop.uow(), shop.stored_conversations, member, handoff_id)
    finally:
        await redis.delete(key)
        await redis.aclose()
    assert [(line.who, line.text) for line in thread.lines] == [
        ("customer", "hi, last week"), ("bot", "Welcome back"), ("customer", "nataka kuongea na mtu")
    ]  # fmt: skip
    assert thread.language == "sw"


async def test_canned_replies_are_one_shops_and_titles_are_unique_in_a_shop(shop, desk):
    member, _ = desk
    await inbox.save_canned(shop.uow(), member, None, "Delivery", "By 5 pm.", "Kabla ya saa kumi na moja.")
    with pytest.raises(Refused, match="already"):
        await inbox.save_canned(shop.uow(), member, None, "Delivery", "Again", "Tena")
    [saved] = await inbox.canned_replies(shop.uow(), member)
    await inbox.save_canned(shop.uow(), member, None, "Hours", "8 to 6", "Saa mbili hadi saa kumi na mbili")
    with pytest.raises(Refused, match="already"):
        await inbox.save_canned(shop.uow(), member, saved.id, "Hours", "x", "y")  # renaming onto another's title
    other = StaffMember(member.user_id, member.tenant_id + 1000, member.email)
    assert await inbox.canned_replies(shop.uow(), other) == []
    assert [c.title for c in await inbox.canned_replies(shop.uow(), member)] == ["Delivery", "Hours"]
