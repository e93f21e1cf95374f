"""M-Pesa from the chat against the provider simulator: the outcome is chosen by the phone number's
last four digits (see devstack/simulator.py), the callback reaches the sidecar, the worker tells
the customer through Rasa's API."""

import json

from sqlalchemy import func, select

from actions.db import tables as t
from devstack.stack import Stack
from tests.waiting import eventually


async def checkout_with(bot, sender, phone):
    await bot.say(sender, "add 1 SUGAR-1KG")
    await bot.say(sender, "checkout")
    await bot.say(sender, "Westlands")
    await bot.say(sender, "mpesa")
    await bot.say(sender, phone)
    reply = await bot.say(sender, "yes")
    assert "Check your phone" in reply, reply
    return reply.split("Order ")[1].split(" ")[0].rstrip(":")


async def payments_of(rt, number):
    async with rt.sessions() as session:
        rows = await session.execute(
            select(t.Payment.status, t.Order.status)
            .join(t.Order, t.Order.id == t.Payment.order_id)
            .where(t.Order.number == number)
            .order_by(t.Payment.id)
        )
        return rows.all()


def callbacks_handled(stack: Stack, reference: str) -> list[str]:
    """What the sidecar's log says it made of each M-Pesa callback for `reference` (applied, duplicate, …)."""
    said = f"mpesa stk_callback {reference}: "
    log = stack.process("sidecar").log.read_text().splitlines()
    messages = [json.loads(line).get("message", "") for line in log if line.startswith("{")]
    return sorted(message.removeprefix(said) for message in messages if message.startswith(said))


async def test_a_cancelled_prompt_can_be_retried_and_paid(shop, bot, sender):
    number = await checkout_with(bot, sender, "0712 341 032")
    await bot.wait_for_reply(sender, f"You cancelled the M-Pesa prompt for order {number}")
    reply = await bot.say(sender, "pay with mpesa 0712 345 678")
    assert f"Order {number} placed" in reply and "254712345678" in reply
    await bot.wait_for_reply(sender, f"Payment received for order {number}")
    assert await payments_of(shop, number) == [("cancelled", "paid"), ("paid", "paid")]
    assert "paid" in await bot.say(sender, "did my payment go through?")


async def test_a_wrong_pin_is_explained(shop, bot, sender):
    number = await checkout_with(bot, sender, "0712 342 001")
    await bot.wait_for_reply(sender, f"The M-Pesa PIN was wrong, so order {number} is not paid yet")
    assert await payments_of(shop, number) == [("failed", "pending_payment")]


async def test_without_a_callback_the_worker_asks_daraja_and_settles(shop, bot, sender):
    number = await checkout_with(bot, sender, "0712 340 000")
    await bot.wait_for_reply(sender, f"Payment received for order {number}", seconds=60)
    assert await payments_of(shop, number) == [("paid", "paid")]


async def test_duplicate_callbacks_give_one_transition_and_one_message(shop, bot, stack, sender):
    number = await checkout_with(bot, sender, "0712 342 222")
    await bot.wait_for_reply(sender, f"Payment received for order {number}")
    async with shop.sessions() as session:
        reference = await session.scalar(
            select(t.Payment.provider_reference)
            .join(t.Order, t.Order.id == t.Payment.order_id)
            .where(t.Order.number == number)
        )

    def all_three_handled() -> list[str]:
        found = callbacks_handled(stack, reference)
        return found if len(found) == 3 else []

    handled = await eventually(all_three_handled, within=20, what="the sidecar to handle the three callbacks")
    # The first is recorded and waits for Daraja's word (the worker's query settles it); copies change nothing.
    assert handled == ["awaiting_confirmation", "duplicate", "duplicate"]
    events = (await bot.tracker(sender))["events"]
    assert sum("Payment received" in (e.get("text") or "") for e in events if e["event"] == "bot") == 1
    async with shop.sessions() as session:
        recorded = await session.scalar(
            select(func.count())
            .select_from(t.PaymentEvent)
            .join(t.Payment, t.Payment.id == t.PaymentEvent.payment_id)
            .join(t.Order, t.Order.id == t.Payment.order_id)
            .where(t.Order.number == number)
        )
    assert recorded == 2  # the callback and the query that confirmed it
    assert await payments_of(shop, number) == [("paid", "paid")]
