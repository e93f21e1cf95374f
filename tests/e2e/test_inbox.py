"""The staff inbox through the whole product: a customer asks for a person, staff answer from the
conversation's page, the worker delivers the reply through the real Rasa server into the customer's chat
(the REST channel `rasa shell` uses, and WhatsApp through the fake Graph API), the bot stays quiet while
the customer writes meanwhile, and answers again once staff hand the conversation back."""

from __future__ import annotations

import asyncio
import re

import pytest

from actions.commerce import staff as accounts
from tests.e2e import test_whatsapp
from tests.sidecar.test_admin import PASSWORD, Staff

whatsapp_shop, customer = test_whatsapp.whatsapp_shop, test_whatsapp.customer


@pytest.fixture
async def desk(shop, stack, sender):
    email = f"desk-{sender}@demo-shop.example"
    await accounts.set_staff(shop.uow(), "demo-shop", email, "Desk", PASSWORD)
    member = Staff(stack.process("sidecar").url)
    assert (await member.sign_in(email)).status_code == 303
    yield member
    await member.http.aclose()


async def handoff_of(desk: Staff, conversation: str) -> int:
    listing = await desk.get("/admin/handoffs")
    found = re.search(rf'href="/admin/handoffs/(\d+)"><code>{re.escape(conversation)}</code>', listing.text)
    assert found, f"{conversation} is not waiting for a person"
    return int(found.group(1))


async def user_said(bot, conversation: str, text: str, seconds: float = 30) -> None:
    """Until the conversation's events hold the customer's message: its turn is over."""
    async with asyncio.timeout(seconds):
        while True:
            events = (await bot.tracker(conversation))["events"]
            if any(e["event"] == "user" and e.get("text") == text for e in events):
                return
            await asyncio.sleep(0.3)


async def delivered(desk: Staff, handoff_id: int, text: str, seconds: float = 30) -> str:
    """The conversation's messages once the reply shows as delivered (no longer "sending…")."""
    async with asyncio.timeout(seconds):
        while True:
            html = (await desk.http.get(f"/admin/handoffs/{handoff_id}/messages")).json()["html"]
            if text in html and "sending…" not in html:
                return html
            await asyncio.sleep(0.3)


async def test_staff_answer_from_the_inbox_and_the_bot_stays_quiet_until_handed_back(shop, bot, desk, sender):
    await bot.say(sender, "hi")
    assert "passing you to a person" in await bot.say(sender, "talk to a person")
    handoff_id = await handoff_of(desk, sender)
    assert await bot.say(sender, "hello? anyone there?") == ""  # no bot reply
    page = await desk.get(f"/admin/handoffs/{handoff_id}")
    assert "hello? anyone there?" in page.text and "passing you to a person" in page.text

    sent = await desk.post(f"/admin/handoffs/{handoff_id}/reply", text="Hi, Desk here. How can I help?")
    assert sent.status_code == 303
    assert await bot.wait_for_reply(sender, "Desk here") == "Hi, Desk here. How can I help?"  # in the chat
    [event] = [e for e in (await bot.tracker(sender))["events"] if e["event"] == "bot" and "Desk here" in e["text"]]
    assert event["metadata"]["staff_reply"]["by"] == "Desk"  # what `make chat` prints as "[Desk (staff): …]"
    await delivered(desk, handoff_id, "Desk here")
    assert 'class="assignee">Desk</td>' in (await desk.get("/admin/handoffs")).text

    assert await bot.say(sender, "my order is late") == ""  # still quiet after the reply
    assert "my order is late" in (await desk.get(f"/admin/handoffs/{handoff_id}")).text

    assert (await desk.post(f"/admin/handoffs/{handoff_id}/handback")).status_code == 303
    assert "Welcome" in await bot.say(sender, "hi")
    page = await desk.get(f"/admin/handoffs/{handoff_id}")
    assert "Handed back" in page.text and 'name="text"' not in page.text


async def test_a_reply_reaches_a_whatsapp_customer_who_gets_no_bot_reply_meanwhile(
    whatsapp_shop, stack, bot, customer, desk
):
    await customer.says("habari")
    await customer.expect("Karibu")
    await customer.says("nataka kuongea na mtu")
    await customer.expect("mhudumu")  # "Nakuunganisha na mhudumu wetu"
    handoff_id = await handoff_of(desk, customer.conversation)

    await customer.says("niko hapa")
    await user_said(bot, customer.conversation, "niko hapa")  # its turn is over
    replies_before = len(await customer.sent())

    assert (await desk.post(f"/admin/handoffs/{handoff_id}/reply", text="Habari, naitwa Desk.")).status_code == 303
    reply = await customer.expect("naitwa Desk")  # on WhatsApp, through the Graph API
    assert reply["type"] == "text" and reply["to"] == customer.wa_id
    assert [test_whatsapp.text_of(b) for b in (await customer.sent())[replies_before:]] == ["Habari, naitwa Desk."]

    assert (await desk.post(f"/admin/handoffs/{handoff_id}/handback")).status_code == 303
    await customer.says("habari")
    await customer.expect("Karibu")
