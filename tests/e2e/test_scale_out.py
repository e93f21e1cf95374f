"""Two Rasa servers and two action servers on one machine, sharing Redis and PostgreSQL: one
conversation's messages go to either server, context is kept, and no message is lost or run twice."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest

from devstack.model import ensure_model
from devstack.paths import ACTIONS_PYTHON
from devstack.processes import spawn, start_rasa_server, wait_until
from devstack.services import free_port
from tests.e2e.conftest import Bot
from tests.e2e.test_purchase import orders_of


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
