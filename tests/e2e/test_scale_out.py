"""Two Rasa servers and two action servers on one machine, sharing Redis and PostgreSQL: one
conversation's messages go to either server, context is kept, and no message is lost or run twice,
not even when a Rasa server is killed in the middle of a WhatsApp turn (the last test here: it kills
the second server, or restarts the first if that was the one that took the message)."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
from collections.abc import Iterator

import httpx
import pytest
import redis.asyncio as redis

from devstack.model import ensure_model
from devstack.paths import ACTIONS_PYTHON
from devstack.processes import spawn, start_rasa_server, wait_until
from devstack.services import free_port
from devstack.whatsapp_customer import WhatsAppCustomer, text_of
from tests.e2e.conftest import Bot
from tests.e2e.test_purchase import orders_of
from tests.e2e.test_whatsapp import whatsapp_shop  # noqa: F401 (a fixture)
from tests.waiting import eventually


@pytest.fixture(scope="module")
def second_server(stack, bot, redis_key_prefix, tmp_path_factory) -> Iterator[Bot]:
    """Rasa server B with action server B, beside the session's Rasa A and action server A."""
    logs = tmp_path_factory.mktemp("second-server")
    port = free_port()
    actions = spawn(f"actions-{port}", [str(ACTIONS_PYTHON), "-m", "actions.server"],
                    {**stack.env, "ACTION_SERVER_PORT": str(port)}, f"http://127.0.0.1:{port}", logs)  # fmt: skip
    try:
        wait_until(actions, "/health", timeout=60)
        env = {**stack.rasa_env(redis_key_prefix), "ACTION_ENDPOINT_URL": f"{actions.url}/webhook"}
        rasa = start_rasa_server(ensure_model(quiet=True), env, logs)
    except Exception:
        actions.stop()
        raise
    yield Bot(rasa, actions)
    rasa.stop()
    actions.stop()


async def test_a_purchase_alternating_between_two_rasa_servers(shop, bot, second_server, sender):
    a, b = bot, second_server
    assert "Welcome" in await a.say(sender, "hi")
    assert "Added 2 × Sugar 1kg" in await b.say(sender, "add 2 SUGAR-1KG")
    assert "Total: KES 360" in await a.say(sender, "checkout")
    assert "How would you like to pay" in await b.say(sender, "Kilimani, near Yaya Centre")
    assert "Which M-Pesa number" in await a.say(sender, "mpesa")
    assert "Please confirm your order" in await b.say(sender, "0712 345 678")
    reply = await a.say(sender, "yes")
    [(number, _, total, location)] = await orders_of(shop, sender)
    assert f"Order {number} placed: KES 360" in reply and (total, location) == (36000, "Kilimani, near Yaya Centre")
    await b.wait_for_reply(sender, f"Payment received for order {number}")
    assert f"{number} — KES 360 — paid" in await b.say(sender, "where is my order?")


async def test_twenty_messages_at_once_on_two_servers_run_once_each_one_at_a_time(shop, bot, second_server, sender):
    servers = [bot, second_server]
    await bot.say(sender, "hi")
    replies = await asyncio.gather(*(servers[n % 2].say(sender, "add 1 SUGAR-1KG") for n in range(20)))
    assert all("Added 1 × Sugar 1kg" in reply for reply in replies)  # no reply lost

    events = (await bot.tracker(sender))["events"]
    turns, current = [], None
    for event in events:
        if event["event"] == "user":
            assert current is None or current[-1] == "action_listen", "a turn began before the last one ended"
            current = ["user"]
            turns.append(current)
        elif event["event"] == "action" and current is not None:
            current.append(event["name"])
        elif event["event"] == "bot" and current is not None:
            current.append(event.get("text") or "")
    added = [t for t in turns if any("Added 1 × Sugar 1kg" in step for step in t)]
    assert len(added) == 20  # each message ran exactly once
    totals = [int(re.search(r"Cart total: KES ([\d,]+)", " ".join(t)).group(1).replace(",", "")) for t in added]
    assert totals == [180 * n for n in range(1, 21)]  # each turn saw the one before it: one at a time, in order


@pytest.mark.usefixtures("whatsapp_shop")
async def test_a_whatsapp_message_whose_rasa_server_is_killed_mid_turn_is_answered_exactly_once(
    stack, services, redis_key_prefix, bot, second_server, tmp_path_factory
):
    """The fake Graph API holds the turn's first reply: the server has run the turn's actions and not yet
    saved its tracker. That server is killed (SIGKILL); the other one takes the message over when the
    lease runs out, and the customer gets the answer once."""
    graph = stack.process("simulator").url
    wa_id = f"2547{random.randrange(10**4):04d}5678"
    customer = WhatsAppCustomer(second_server.rasa.url, graph, stack.whatsapp["WHATSAPP_APP_SECRET"], wa_id)
    in_flight = f"{redis_key_prefix}:whatsapp:inflight:{customer.conversation}"
    store = redis.Redis.from_url(services.redis_url)
    async with httpx.AsyncClient(base_url=graph, timeout=10) as fake_graph:
        await fake_graph.post("/graph/hold", json={"to": wa_id})
        await customer.says("habari")

        async def reply_held() -> bool:
            return (await fake_graph.get("/graph/held")).json()["held"] == 1

        await eventually(reply_held, within=60, what="the turn's first reply, held by the fake Graph API")
        owner = (await store.hget(in_flight, "owner")).decode()
        servers = {server.rasa.popen.pid: server for server in (bot, second_server)}
        victim = servers[int(owner.split(":")[1])]
        [survivor] = [server for server in servers.values() if server is not victim]
        os.killpg(victim.rasa.popen.pid, signal.SIGKILL)
        victim.rasa.popen.wait()
        await fake_graph.post("/graph/release")
        try:
            await customer.expect("Karibu Demo Shop", seconds=90)

            async def acknowledged() -> bool:
                return not await store.exists(in_flight)

            await eventually(acknowledged, within=30, what="the survivor's acknowledgement")
        finally:
            await store.aclose()
            if victim is bot:  # the session's server: started again, on its port, for the tests after this one
                logs = tmp_path_factory.mktemp("rasa-restarted")
                env = stack.rasa_env(redis_key_prefix)
                bot.rasa = await asyncio.to_thread(
                    start_rasa_server, ensure_model(quiet=True), env, logs, stack.rasa_port
                )
        # The held reply never reached "Meta": its sender was gone when it was let through.
        assert (await fake_graph.get("/graph/held")).json() == {"held": 0, "dropped": 1}

    answers = [text_of(body) for body in await customer.sent()]
    assert sum("Karibu Demo Shop" in text for text in answers) == 1, answers
    events = (await survivor.tracker(customer.conversation))["events"]
    assert [e["text"] for e in events if e["event"] == "user"] == ["habari"]
    assert "taken again (take 2)" in survivor.rasa.log.read_text()
