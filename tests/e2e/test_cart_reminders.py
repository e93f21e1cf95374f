"""An abandoned-cart reminder through the real stack: Rasa 3.6, the action server, the worker. A Swahili
customer leaves a cart, goes quiet past the shop's delay, gets one reminder in Swahili, says "acha" to it
and is not reminded again."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from actions.commerce import reminders
from actions.db import tables as t
from tests.conftest import settings_changed


async def went_quiet(rt, sender: str, hours: float) -> None:
    """Move the customer's last message and their cart's last change back in time."""
    long_ago = datetime.now(UTC) - timedelta(hours=hours)
    customer = select(t.Customer.id).where(t.Customer.external_id == sender).scalar_subquery()
    async with rt.sessions() as session, session.begin():
        await session.execute(
            update(t.Customer).where(t.Customer.external_id == sender).values(last_message_at=long_ago)
        )
        await session.execute(update(t.Cart).where(t.Cart.customer_id == customer).values(updated_at=long_ago))
        await session.execute(update(t.Tenant).values(cart_reminders=True, cart_reminder_minutes=60))


async def cart_lines(rt, sender: str) -> int:
    async with rt.sessions() as session:
        lines = (
            select(func.count())
            .select_from(t.CartItem)
            .join(t.Cart, t.Cart.id == t.CartItem.cart_id)
            .join(t.Customer, t.Customer.id == t.Cart.customer_id)
            .where(t.Customer.external_id == sender)
        )
        return await session.scalar(lines)


async def sweep_now(rt, stack) -> int:
    """The worker's sweep, run now rather than at the next minute, on the stack's queue."""
    with settings_changed(rt, jobs_queue=stack.env["JOBS_QUEUE"]):
        return await reminders.sweep(rt.uow(), datetime.now(UTC))


async def test_a_swahili_customer_is_reminded_once_in_swahili_and_acha_turns_reminders_off(shop, stack, bot, sender):
    await bot.say(sender, "habari, nataka SUGAR-1KG mbili")
    assert await bot.slot(sender, "language") == "sw"
    assert await cart_lines(shop, sender) == 1
    await went_quiet(shop, sender, hours=2)
    await sweep_now(shop, stack)  # the stack's worker sweeps every minute too: one of them queues it

    reminder = await bot.wait_for_reply(sender, "Bado una bidhaa kwenye kikapu")
    assert "Sukari" in reminder or "Sugar" in reminder
    assert await sweep_now(shop, stack) == 0  # one per cart version
    said = [e.get("text") or "" for e in (await bot.tracker(sender))["events"] if e["event"] == "bot"]
    assert len([text for text in said if "Bado una bidhaa kwenye kikapu" in text]) == 1

    assert "sitakukumbusha tena" in await bot.say(sender, "acha")
    async with shop.sessions() as session:
        off = await session.scalar(select(t.Customer.reminders_off_at).where(t.Customer.external_id == sender))
    assert off is not None
    await bot.say(sender, "nataka sukari moja")  # a new cart version: still no reminder after "acha"
    await went_quiet(shop, sender, hours=2)
    assert await sweep_now(shop, stack) == 0


async def test_stop_elsewhere_still_just_leaves_what_was_going_on(shop, stack, bot, sender):
    """The reminders' "stop" is only the answer to a reminder (issue #13: stop leaves forms)."""
    await bot.say(sender, "add 1 SUGAR-1KG")
    await bot.say(sender, "checkout")
    assert "reminders" not in await bot.say(sender, "stop")
    async with shop.sessions() as session:
        off = await session.scalar(select(t.Customer.reminders_off_at).where(t.Customer.external_id == sender))
    assert off is None
