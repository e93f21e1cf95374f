"""Abandoned-cart reminders on real PostgreSQL with a real procrastinate worker (Rasa's API faked): one
reminder per cart version even with two sweeps at once, none outside the 24-hour window, none after the
customer said stop, and in the customer's language."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from actions import jobs, worker
from actions.commerce import cart, reminders, staff
from actions.commerce.model import CustomerRef
from actions.commerce.ports import StaffMember
from actions.commerce.reminders import ReminderSettings
from actions.db import tables as t
from tests.fakes import FakeConversations
from tests.integration.test_outbox import reachable_rasa, run_worker_until_idle
from tests.waiting import eventually

WHO = CustomerRef("demo-shop", "254700000077")
NOW = datetime.now(UTC)
OWNER = "owner@demo-shop.example"


async def left_cart(rt, *, quiet: timedelta = timedelta(hours=3), language: str = "en", who: CustomerRef = WHO):
    """A customer who filled a cart and went quiet `quiet` ago, in a shop with reminders after an hour."""
    await cart.add(rt.uow(), who, "SUGAR-1KG", 2)
    await reminders.heard_from(rt.uow(), who, NOW - quiet, language)
    await staff.set_staff(rt.uow(), who.tenant, OWNER, "Owner", "mandazi-asubuhi-7")
    async with rt.sessions() as session, session.begin():
        tenant_id, user_id = (await session.execute(select(t.StaffUser.tenant_id, t.StaffUser.id))).one()
        await session.execute(update(t.Cart).values(updated_at=NOW - quiet))
    owner = StaffMember(user_id, tenant_id, OWNER)
    await reminders.change_settings(rt.uow(), owner, ReminderSettings(True, timedelta(hours=1)))


async def queued_reminders(rt) -> list[dict]:
    query = text(
        "SELECT status::text, queueing_lock, args FROM procrastinate_jobs"
        " WHERE queue_name = :queue AND task_name = :task ORDER BY id"
    )
    async with rt.engine.connect() as conn:
        rows = (await conn.execute(query, {"queue": rt.settings.jobs_queue, "task": jobs.REMIND_CART})).all()
    return [{"status": status, "lock": lock, **args} for status, lock, args in rows]


async def test_two_sweeps_at_once_queue_one_reminder(shop):
    """The first sweep holds the cart row it claimed; the second waits for it, then sees it claimed."""
    await left_cart(shop)
    first = shop.uow()
    async with first:
        [idle] = await first.reminders.idle_carts(NOW - timedelta(hours=23), 10)
        assert await first.reminders.claim(idle.cart_id, idle.version)
        await first.outbox.remind_cart(idle.cart_id, idle.version)
        second = asyncio.create_task(reminders.sweep(shop.uow(), NOW))
        await eventually(lambda: waiting_for_a_lock(shop), what="the second sweep waiting for the cart row")
        await first.commit()
    assert await second == 0
    [job] = await queued_reminders(shop)
    assert (job["cart_id"], job["version"], job["lock"]) == (
        idle.cart_id,
        idle.version,
        f"cart-reminder:{idle.cart_id}:1",
    )


async def waiting_for_a_lock(rt) -> bool:
    async with rt.engine.connect() as conn:
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return await conn.scalar(text(waiting)) > 0


async def test_many_sweeps_racing_queue_one_reminder(shop):
    await left_cart(shop)
    queued = await asyncio.gather(*(reminders.sweep(shop.uow(), NOW) for _ in range(4)))
    assert sorted(queued) == [0, 0, 0, 1]
    assert len(await queued_reminders(shop)) == 1


async def test_the_worker_reminds_a_swahili_customer_once_in_swahili(shop):
    await left_cart(shop, language="sw")
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        assert await reminders.sweep(shop.uow(), NOW) == 1
        await run_worker_until_idle(shop)
        assert await reminders.sweep(shop.uow(), NOW + timedelta(minutes=5)) == 0  # the next minute's sweep
        await run_worker_until_idle(shop)
    assert rasa.reminders == [(WHO.external_id, "sw")]
    assert [job["status"] for job in await queued_reminders(shop)] == ["succeeded"]
    async with shop.sessions() as session:
        assert await session.scalar(select(t.Cart.reminder_sent_at)) is not None


async def test_a_changed_cart_is_a_new_version_and_may_be_reminded_of_again(shop):
    await left_cart(shop)
    assert await reminders.sweep(shop.uow(), NOW) == 1
    await cart.add(shop.uow(), WHO, "SUGAR-1KG", 1)  # the customer came back and changed it
    assert await reminders.sweep(shop.uow(), NOW) == 0  # changed just now: not idle yet
    assert await reminders.sweep(shop.uow(), NOW + timedelta(hours=2)) == 1


async def test_no_reminder_once_the_24_hour_window_is_closing(shop):
    await left_cart(shop, quiet=timedelta(hours=23, minutes=45))
    assert await reminders.sweep(shop.uow(), NOW) == 0
    assert await queued_reminders(shop) == []


async def test_a_reminder_queued_in_the_window_but_delivered_after_it_is_dropped(shop):
    await left_cart(shop, quiet=timedelta(hours=23))
    assert await reminders.sweep(shop.uow(), NOW) == 1
    [job] = await queued_reminders(shop)
    rasa = FakeConversations()
    sent = await reminders.remind(shop.uow(), rasa, job["cart_id"], job["version"], NOW + timedelta(hours=1))
    assert (sent, rasa.reminders) == (False, [])


async def test_no_reminder_after_the_customer_said_stop(shop):
    await left_cart(shop)
    await reminders.stop(shop.uow(), WHO, NOW)
    assert await reminders.sweep(shop.uow(), NOW) == 0


async def test_a_reminder_queued_before_the_customer_said_stop_is_not_sent(shop):
    await left_cart(shop)
    assert await reminders.sweep(shop.uow(), NOW) == 1
    await reminders.stop(shop.uow(), WHO, NOW)
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)
    assert rasa.reminders == []


async def test_a_shop_with_reminders_off_reminds_nobody(shop):
    await left_cart(shop)
    async with shop.sessions() as session, session.begin():
        await session.execute(update(t.Tenant).values(cart_reminders=False))
    assert await reminders.sweep(shop.uow(), NOW) == 0


async def test_the_worker_sweeps_on_its_own(shop):
    """The periodic task itself (procrastinate calls it with the tick's timestamp)."""
    await left_cart(shop)
    app = worker.register(jobs.create_app(shop.settings), shop.settings)
    async with app.open_async():
        await app.configure_task(worker.SWEEP_CARTS, queue=shop.settings.jobs_queue).defer_async(timestamp=0)
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)
    assert rasa.reminders == [(WHO.external_id, "en")]
