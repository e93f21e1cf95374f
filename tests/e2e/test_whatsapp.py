"""A whole purchase through WhatsApp-shaped webhooks: signed POSTs to the real Rasa server's WhatsApp
channel, replies read back from the fake Graph API (devstack/fake_graph.py) that recorded them."""

from __future__ import annotations

import json
import random
import uuid

import httpx
import pytest
from sqlalchemy import func, select, update

from actions.db import tables as t
from devstack.processes import Process
from devstack.whatsapp_customer import PHONE_NUMBER_ID, WhatsAppCustomer, choices, text_of
from tests.e2e.test_purchase import orders_of


@pytest.fixture
async def whatsapp_shop(shop):
    async with shop.sessions() as session, session.begin():
        await session.execute(
            update(t.Tenant).where(t.Tenant.slug == "demo-shop").values(whatsapp_phone_number_id=PHONE_NUMBER_ID)
        )
    return shop


@pytest.fixture
def customer(stack, bot) -> WhatsAppCustomer:
    wa_id = f"2547{random.randrange(10**4):04d}5678"  # ends in 5678: the simulator's payment succeeds
    return WhatsAppCustomer(bot.rasa.url, stack.process("simulator").url, stack.whatsapp["WHATSAPP_APP_SECRET"], wa_id)


async def test_meta_verifies_the_webhook_with_the_verify_token(stack, bot):
    url = f"{bot.rasa.url}/webhooks/whatsapp/webhook"
    token = stack.whatsapp["WHATSAPP_VERIFY_TOKEN"]
    async with httpx.AsyncClient(timeout=10) as client:
        ok = await client.get(
            url, params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
        )
        wrong = await client.get(
            url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
        )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wrong.status_code == 403


def logged(process: Process, correlation_id: str) -> list[str]:
    """The process's log lines that name the id (as the correlation id or as the one that started a payment)."""
    return [line for line in process.log.read_text().splitlines() if correlation_id in line]


async def test_a_whole_purchase_through_whatsapp(whatsapp_shop, stack, bot, customer):
    shop = whatsapp_shop
    await customer.says("habari")
    await customer.expect("Karibu Demo Shop")

    await customer.says("nataka sukari mbili")
    question = await customer.expect("Sugar")
    sugar = next(c for c in choices(question) if "2kg" in c["title"])
    await customer.taps(sugar)
    await customer.expect("Nimeongeza 2 × Sugar 2kg")

    await customer.says("nataka kulipa")
    await customer.expect("Tukuletee wapi?")
    pin = {"latitude": -1.2929, "longitude": 36.7874, "name": "Yaya Centre", "address": "Argwings Kodhek Rd"}
    await customer.send({"type": "location", "location": pin})
    pay = await customer.expect("Utalipa vipi")
    await customer.taps(next(c for c in choices(pay) if c["id"].partition("~")[0] == "pay_mpesa"))  # signed

    ask = await customer.expect("namba gani ya M-Pesa")
    [own_number] = choices(ask)
    assert own_number["title"] == f"Tumia 0{customer.wa_id[3:6]} {customer.wa_id[6:9]} {customer.wa_id[9:]}"
    await customer.taps(own_number)

    confirm = await customer.expect("Tafadhali thibitisha oda yako")
    assert customer.wa_id in text_of(confirm) and "Yaya Centre" in text_of(confirm)
    assert [c["title"] for c in choices(confirm)] == ["Ndio", "Hapana"]
    assert await orders_of(shop, customer.conversation) == []
    trail = f"e2e-t{uuid.uuid4().hex[:12]}"  # the "Ndio" tap's webhook POST: order, M-Pesa prompt, payment
    yes = await customer.taps(choices(confirm)[0], correlation_id=trail)

    placed = await customer.expect("imewekwa")
    [(number, _, total, location)] = await orders_of(shop, customer.conversation)
    assert f"Oda {number} imewekwa" in text_of(placed)
    assert (total, location) == (70000, "Yaya Centre, Argwings Kodhek Rd (-1.29290, 36.78740)")
    await customer.expect(f"Malipo ya oda {number} yamepokelewa")  # sent by the worker, through Rasa, to WhatsApp
    assert (await orders_of(shop, customer.conversation))[0][1] == "paid"
    assert any(f"[correlation_id={trail}]" in line for line in logged(bot.rasa, trail))  # the WhatsApp channel
    actions = [json.loads(line) for line in logged(stack.process("actions"), trail)]
    assert any(
        line["message"].startswith("payment ") and " requested from mpesa" in line["message"] for line in actions
    )
    sidecar = [json.loads(line) for line in logged(stack.process("sidecar"), trail)]
    assert [line["origin_correlation_id"] for line in sidecar if "stk_callback" in line["message"]] == [trail]
    worker = [json.loads(line) for line in logged(stack.process("worker"), trail)]
    assert any("customer told" in line["message"] and line["correlation_id"] == trail for line in worker)

    # Meta redelivers the "Ndio" tap, and someone replays it with a forged signature: nothing changes.
    events_before, replies_before = len((await bot.tracker(customer.conversation))["events"]), customer.seen
    assert (await customer.post(yes)).status_code == 200
    assert (
        await customer.post(customer.webhook({"type": "text", "text": {"body": "ndio"}}), "sha256=" + "0" * 64)
    ).status_code == 401
    await customer.says("kikapu changu")  # a later message: whatever the two above set off comes before its answer
    await customer.expect("Kikapu chako")
    assert customer.seen == replies_before + 1  # its answer is the first thing sent since
    later = (await bot.tracker(customer.conversation))["events"][events_before:]
    assert [e["text"] for e in later if e["event"] == "user"] == ["kikapu changu"]  # the only turn since
    async with shop.sessions() as session:
        orders = await session.scalar(select(func.count()).select_from(t.Order))
    assert orders == 1


async def test_a_photo_gets_a_polite_reply(whatsapp_shop, customer):
    await customer.says("hello")
    await customer.expect("Welcome to Demo Shop")
    await customer.send({"type": "image", "image": {"id": "1479537139650973", "mime_type": "image/jpeg"}})
    await customer.expect("I can only read text messages")
