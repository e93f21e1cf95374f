"""The staff inbox's pages on a real sidecar process over HTTP, on real PostgreSQL and Redis: a hand-off's
conversation, replying (CSRF, another shop's conversation, bad replies), the poll for new messages,
canned replies."""

import json
import re

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, text

from actions.commerce import handoffs
from actions.commerce.catalog_import import import_catalog
from actions.commerce.model import CustomerRef
from actions.db import tables as t
from tests.sidecar import test_admin

# The admin pages' fixtures: a sidecar of this module's own, and a signed-in staff member of the demo shop.
admin_prefix, project, sidecar = test_admin.admin_prefix, test_admin.project, test_admin.sidecar
staff_email, staff = test_admin.staff_email, test_admin.staff

CONVERSATION = "106540352242922:254700000088"
EVENTS = [
    {"event": "slot", "name": "language", "value": "sw", "timestamp": 1_700_000_000.0},
    {"event": "user", "text": "nataka sukari", "timestamp": 1_700_000_001.0},
    {"event": "bot", "text": "Sukari 1kg ni KES 180", "timestamp": 1_700_000_002.0},
    {"event": "user", "text": "nataka kuongea na mtu", "timestamp": 1_700_000_003.0},
]


@pytest.fixture
async def redis(services):
    client = Redis.from_url(services.redis_url)
    yield client
    await client.aclose()


async def live_session(redis, prefix: str, conversation: str, *events: dict) -> None:
    """Events as the tracker store keeps a live session."""
    await redis.rpush(f"{prefix}:session:{conversation}:events", *[json.dumps(e) for e in events])


@pytest.fixture
async def waiting(shop, redis, redis_key_prefix) -> int:
    """A demo-shop customer waiting for a person, with a conversation in Redis; the hand-off's id."""
    await redis.delete(f"{redis_key_prefix}:session:{CONVERSATION}:events")
    await live_session(redis, redis_key_prefix, CONVERSATION, *EVENTS)
    await handoffs.ask_for_person(shop.uow(), CustomerRef("demo-shop", CONVERSATION), "nataka kuongea na mtu")
    async with shop.sessions() as session:
        return await session.scalar(select(t.Handoff.id).where(t.Handoff.conversation_id == CONVERSATION))


async def stored_replies(shop) -> int:
    async with shop.sessions() as session:
        return await session.scalar(select(func.count()).select_from(t.StaffReply))


async def queued_replies(shop) -> list[int]:
    async with shop.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT args FROM procrastinate_jobs WHERE task_name = 'deliver_staff_reply' AND queue_name = :q"),
            {"q": shop.settings.jobs_queue},
        )
        return [args["reply_id"] for (args,) in found.all()]


async def test_the_list_links_each_waiting_conversation_and_its_page_shows_it_whole(shop, staff, waiting):
    listing = await staff.get("/admin/handoffs")
    assert f'href="/admin/handoffs/{waiting}"' in listing.text and "nobody yet" in listing.text
    page = await staff.get(f"/admin/handoffs/{waiting}")
    assert page.status_code == 200
    texts = re.findall(r'<span class="text">([^<]*)</span>', page.text)
    assert texts == ["nataka sukari", "Sukari 1kg ni KES 180", "nataka kuongea na mtu"]  # oldest first in the page
    assert "Waiting for a person: the bot is quiet" in page.text
    assert 'placeholder="Write to the customer (Swahili)"' in page.text


async def test_a_reply_is_stored_queued_shown_as_sending_and_its_author_becomes_the_assignee(shop, staff, waiting):
    sent = await staff.post(f"/admin/handoffs/{waiting}/reply", text="Habari! Nikusaidie vipi?")
    assert sent.status_code == 303 and sent.headers["location"] == f"/admin/handoffs/{waiting}"
    page = await staff.get(f"/admin/handoffs/{waiting}")
    assert "Habari! Nikusaidie vipi?" in page.text and "sending…" in page.text and "✓ Sent" in page.text
    async with shop.sessions() as session:
        [reply] = (await session.scalars(select(t.StaffReply))).all()
        handoff = await session.get(t.Handoff, waiting)
    assert (reply.text, reply.staff_name, reply.conversation_id) == ("Habari! Nikusaidie vipi?", "Amina", CONVERSATION)
    assert handoff.assigned_to == reply.staff_user_id
    assert await queued_replies(shop) == [reply.id]
    assert 'class="assignee">Amina</td>' in (await staff.get("/admin/handoffs")).text


async def test_a_reply_without_the_csrf_token_is_refused_and_stores_nothing(shop, staff, waiting):
    forged = await staff.http.post(f"/admin/handoffs/{waiting}/reply", data={"text": "hello"})
    assert forged.status_code == 403
    assert (await stored_replies(shop), await queued_replies(shop)) == (0, [])


@pytest.mark.parametrize("words", ["", "   ", "x" * 4097, "null \x00 byte"])
async def test_an_empty_over_long_or_unstorable_reply_is_a_400_saying_why_and_stores_nothing(
    shop, staff, waiting, words
):
    refused = await staff.post(f"/admin/handoffs/{waiting}/reply", text=words)
    assert refused.status_code == 400 and "Not sent:" in refused.text
    assert (await stored_replies(shop), await queued_replies(shop)) == (0, [])


async def test_another_shops_conversation_is_not_found_and_not_answered(shop, staff):
    await import_catalog(shop.uow(), "other-shop", "Other Shop", "KES", [])
    await handoffs.ask_for_person(shop.uow(), CustomerRef("other-shop", "254722000999"), "a person please")
    async with shop.sessions() as session:
        theirs = await session.scalar(select(t.Handoff.id))
    assert (await staff.get(f"/admin/handoffs/{theirs}")).status_code == 404
    assert (await staff.get(f"/admin/handoffs/{theirs}/messages")).status_code == 404
    assert (await staff.post(f"/admin/handoffs/{theirs}/reply", text="hello")).status_code == 404
    assert "254722000999" not in (await staff.get("/admin/handoffs")).text
    assert (await stored_replies(shop), await queued_replies(shop)) == (0, [])
    assert (await staff.get("/admin/handoffs/99999999/messages")).status_code == 404


async def test_the_poll_answers_204_until_something_changes_then_the_messages_anew(
    staff, waiting, redis, redis_key_prefix
):
    first = await staff.http.get(f"/admin/handoffs/{waiting}/messages")
    assert first.status_code == 200 and first.json()["waiting"] is True
    version = first.json()["version"]
    again = await staff.http.get(f"/admin/handoffs/{waiting}/messages", params={"version": version})
    assert again.status_code == 204
    await live_session(
        redis, redis_key_prefix, CONVERSATION, {"event": "user", "text": "halo?", "timestamp": 1.7e9 + 9}
    )
    changed = await staff.http.get(f"/admin/handoffs/{waiting}/messages", params={"version": version})
    assert changed.status_code == 200 and "halo?" in changed.json()["html"] and changed.json()["version"] != version
    assert changed.headers["cache-control"] == "no-store"


async def test_a_conversation_handed_back_is_shown_without_a_reply_box_and_takes_no_reply(shop, staff, waiting):
    async with shop.sessions() as session, session.begin():
        handoff = await session.get(t.Handoff, waiting)
        handoff.resolved_at = func.now()
    page = await staff.get(f"/admin/handoffs/{waiting}")
    assert "Handed back" in page.text and 'name="text"' not in page.text
    refused = await staff.post(f"/admin/handoffs/{waiting}/reply", text="one more thing")
    assert refused.status_code == 400 and "handed back" in refused.text
    assert await stored_replies(shop) == 0


async def test_canned_replies_are_added_changed_offered_in_both_languages_and_deleted(shop, staff, waiting):
    added = await staff.post("/admin/canned-replies", title="Delivery", text_en="By 5 pm.", text_sw="Kabla ya saa 11.")
    assert added.status_code == 303
    page = await staff.get("/admin/canned-replies")
    [reply_id] = re.findall(r'action="/admin/canned-replies/(\d+)"', page.text)
    changed = await staff.post(
        f"/admin/canned-replies/{reply_id}", title="Delivery", text_en="By 6 pm.", text_sw="Kabla ya saa 12."
    )
    assert changed.status_code == 303
    conversation = await staff.get(f"/admin/handoffs/{waiting}")
    assert 'data-en="By 6 pm." data-sw="Kabla ya saa 12.">Delivery</option>' in conversation.text
    assert '<option value="sw" selected>' in conversation.text  # the customer writes Swahili
    deleted = await staff.post(f"/admin/canned-replies/{reply_id}/delete")
    assert deleted.status_code == 303
    assert "None yet." in (await staff.get("/admin/canned-replies")).text


async def test_a_canned_reply_missing_a_language_is_a_400_and_another_shops_is_not_found(shop, staff):
    refused = await staff.post("/admin/canned-replies", title="Hours", text_en="8 to 6", text_sw=" ")
    assert refused.status_code == 400 and "both English and Swahili" in refused.text and 'value="Hours"' in refused.text
    await import_catalog(shop.uow(), "other-shop", "Other Shop", "KES", [])
    async with shop.sessions() as session, session.begin():
        other = await session.scalar(select(t.Tenant.id).where(t.Tenant.slug == "other-shop"))
        row = t.CannedReply(tenant_id=other, title="Theirs", text_en="x", text_sw="y")
        session.add(row)
    assert (
        await staff.post(f"/admin/canned-replies/{row.id}", title="Mine", text_en="a", text_sw="b")
    ).status_code == 404
    assert (await staff.post(f"/admin/canned-replies/{row.id}/delete")).status_code == 404
    forged = await staff.http.post("/admin/canned-replies", data={"title": "T", "text_en": "a", "text_sw": "b"})
    assert forged.status_code == 403
    async with shop.sessions() as session:
        titles = (await session.scalars(select(t.CannedReply.title))).all()
    assert titles == ["Theirs"]
