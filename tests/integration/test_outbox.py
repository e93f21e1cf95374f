"""The outbox on real PostgreSQL: a settlement's customer message is a procrastinate job written in the
settlement's own transaction, and the worker delivers it at least once, through a Rasa outage, and
tells the customer once."""

import logging
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from actions import jobs, worker
from actions.commerce import cart, orders, payment_requests, settlement
from actions.commerce.model import CustomerRef
from actions.commerce.payments import Notice, PaymentStatus, ProviderEvent, Recorded
from actions.db import tables as t
from tests.conftest import queued_messages
from tests.fakes import FakeConversations

WHO = CustomerRef("demo-shop", "254700000055")


class Crash(Exception):
    """The process dying at that point: nothing after it runs."""


async def pending_payment(rt, reference="ws_CO_outbox"):
    await cart.add(rt.uow(), WHO, "SUGAR-1KG", 1)
    order = await orders.place(rt.uow(), WHO, "Kilimani")
    return await payment_requests.start(rt.uow(), order.id, "mpesa", reference, order.total, "254712345678")


def paid(payment, key="query:paid"):
    """Daraja's own answer to a query: the payment was made."""
    return ProviderEvent(
        "mpesa", key, payment.reference, PaymentStatus.PAID, "reconciliation", payment.amount, notice=Notice.MPESA_PAID
    )


async def status_of(rt, payment) -> str:
    async with rt.sessions() as session:
        return await session.scalar(select(t.Payment.status).where(t.Payment.id == payment.id))


def crashing(uow, *, after_commit: bool):
    """The unit of work, with the process dying just before (or just after) its commit."""
    commit = uow.commit

    async def crash() -> None:
        if after_commit:
            await commit()
        raise Crash

    uow.commit = crash
    return uow


@asynccontextmanager
async def reachable_rasa(rt, conversations):
    original, rt.conversations = rt.conversations, conversations
    try:
        yield conversations
    finally:
        rt.conversations = original


async def run_worker_until_idle(rt) -> None:
    """A real procrastinate worker on this run's queue, until no job is due."""
    app = worker.register(jobs.create_app(rt.settings), rt.settings)
    async with app.open_async():
        await app.run_worker_async(queues=[rt.settings.jobs_queue], wait=False, install_signal_handlers=False)


async def make_due(rt, job_id: int, **changes: object) -> None:
    values = ", ".join(["scheduled_at = now()"] + [f"{name} = :{name}" for name in changes])
    async with rt.engine.begin() as conn:
        await conn.execute(text(f"UPDATE procrastinate_jobs SET {values} WHERE id = :id"), {"id": job_id, **changes})


async def test_a_settlement_whose_transaction_rolls_back_leaves_no_job(shop):
    payment = await pending_payment(shop)
    with pytest.raises(Crash):
        await settlement.record(crashing(shop.uow(), after_commit=False), paid(payment))
    assert await queued_messages(shop) == []
    assert await status_of(shop, payment) == "pending"


async def test_a_committed_settlement_has_its_job_with_no_further_step(shop):
    payment = await pending_payment(shop)
    with pytest.raises(Crash):  # the process dies right after the commit: nothing else runs
        await settlement.record(crashing(shop.uow(), after_commit=True), paid(payment))
    assert await status_of(shop, payment) == "paid"
    [message] = await queued_messages(shop)
    assert (message["payment_id"], message["notice"], message["status"]) == (payment.id, "mpesa_paid", "todo")
    assert message["queueing_lock"] == f"notify:mpesa:{payment.reference}"


async def test_a_duplicate_provider_event_queues_nothing_more(shop):
    payment = await pending_payment(shop)
    first = await settlement.record(shop.uow(), paid(payment))
    again = await settlement.record(shop.uow(), paid(payment))
    other = await settlement.record(shop.uow(), paid(payment, key="query:paid:again"))
    assert (first.result, again.result, other.result) == (Recorded.APPLIED, Recorded.DUPLICATE, Recorded.UNCHANGED)
    assert len(await queued_messages(shop)) == 1


async def test_a_second_message_for_a_payment_whose_first_waits_is_not_queued_and_the_transaction_goes_on(shop):
    """The queueing lock: a conflict inside the caller's transaction is kept to a savepoint."""
    payment = await pending_payment(shop)
    await settlement.record(shop.uow(), paid(payment))
    async with shop.uow() as uow:
        await uow.outbox.tell_customer(payment, Notice.MPESA_PAID)
        await uow.payments.update(payment.id, flag=True)  # the transaction is still usable
        await uow.commit()
    assert len(await queued_messages(shop)) == 1


async def test_the_worker_delivers_the_message_and_the_customer_is_told_once(shop):
    payment = await pending_payment(shop)
    await settlement.record(shop.uow(), paid(payment))
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)
        await run_worker_until_idle(shop)
    [(recipient, notice)] = rasa.updates
    [order] = await orders.mine(shop.uow(), WHO)
    assert (recipient.order_number, recipient.status, notice) == (order.number, PaymentStatus.PAID, Notice.MPESA_PAID)
    assert [m["status"] for m in await queued_messages(shop)] == ["succeeded"]


async def test_a_message_job_run_again_tells_the_customer_nothing_more(shop):
    """At least once: a worker stopped after Rasa took the message but before the job ended runs it again."""
    payment = await pending_payment(shop)
    await settlement.record(shop.uow(), paid(payment))
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)
        async with shop.uow() as uow:  # the same message again (the first job is no longer waiting)
            await uow.outbox.tell_customer(payment, Notice.MPESA_PAID)
            await uow.commit()
        await run_worker_until_idle(shop)
    assert [m["status"] for m in await queued_messages(shop)] == ["succeeded", "succeeded"]
    assert len(rasa.updates) == 1


async def test_a_message_whose_worker_died_mid_job_is_run_again(shop):
    payment = await pending_payment(shop)
    await settlement.record(shop.uow(), paid(payment))
    [message] = await queued_messages(shop)
    async with shop.engine.begin() as conn:  # taken by a worker that is gone (its row pruned: no heartbeat)
        await conn.execute(text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE id = :id"),
                           {"id": message["id"]})  # fmt: skip
    app = jobs.create_app(shop.settings)
    async with app.open_async():
        await worker.retry_stalled(app, shop.settings.jobs_queue)
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)
    assert [notice for _, notice in rasa.updates] == [Notice.MPESA_PAID]
    assert [(m["status"], m["attempts"]) for m in await queued_messages(shop)] == [("succeeded", 2)]  # both tries


async def test_a_check_whose_worker_died_mid_run_does_not_stop_the_checks(shop):
    """The check holds the checks' lock while it runs: killed then, it stays `doing` and no later check
    starts. Stalled jobs are seen to by a task of their own, which holds no lock; the dead check, whose
    next tick already waits (its queueing lock allows one), is aborted rather than queued twice."""
    app = worker.register(jobs.create_app(shop.settings), shop.settings)
    queue = shop.settings.jobs_queue
    check = app.configure_task(jobs.CHECK_PAYMENTS, queue=queue)
    async with app.open_async():
        await check.defer_async(timestamp=0)
        async with shop.engine.begin() as conn:  # taken by a worker that is gone (its row pruned: no heartbeat)
            taken = "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE queue_name = :q"
            await conn.execute(text(taken), {"q": queue})
        await check.defer_async(timestamp=1)  # the next tick waits behind the dead one's lock
        await app.configure_task(worker.RETRY_STALLED, queue=queue).defer_async(timestamp=0)
        await app.run_worker_async(queues=[queue], wait=False, install_signal_handlers=False)
    async with shop.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT task_name, status::text FROM procrastinate_jobs WHERE queue_name = :q ORDER BY id"),
            {"q": queue},
        )
        statuses = [(task, status) for task, status in found.all()]
    assert statuses[:3] == [
        ("check_payments", "aborted"),
        ("check_payments", "succeeded"),
        ("retry_stalled_jobs", "succeeded"),
    ]
    assert all(status == "succeeded" for _, status in statuses[3:])  # the periodic ticks of this short run


def test_a_message_is_tried_again_for_much_longer_than_a_ten_minute_rasa_outage():
    backoff = jobs.DeliveryBackoff()
    assert backoff.patience() >= timedelta(minutes=45)
    assert max(backoff.wait(n) for n in range(backoff.max_attempts)) <= timedelta(minutes=5)  # soon after it is back


async def test_a_message_waits_out_a_rasa_outage_and_is_delivered_once_after(shop):
    payment = await pending_payment(shop)
    await settlement.record(shop.uow(), paid(payment))
    rasa = FakeConversations()
    rasa.unreachable = True
    async with reachable_rasa(shop, rasa):
        await run_worker_until_idle(shop)
        [waiting] = await queued_messages(shop)
        assert (waiting["status"], waiting["attempts"]) == ("todo", 1)  # rescheduled, not lost
        assert waiting["scheduled_at"] > datetime.now(UTC)
        await make_due(shop, waiting["id"], attempts=9)  # the outage went on for minutes
        await run_worker_until_idle(shop)
        [waiting] = await queued_messages(shop)
        assert (waiting["status"], waiting["attempts"], rasa.updates) == ("todo", 10, [])
        rasa.unreachable = False  # Rasa is back
        await make_due(shop, waiting["id"])
        await run_worker_until_idle(shop)
    assert [notice for _, notice in rasa.updates] == [Notice.MPESA_PAID]
    assert [m["status"] for m in await queued_messages(shop)] == ["succeeded"]


async def test_a_message_that_never_gets_through_is_left_failed_and_logged(shop, caplog):
    payment = await pending_payment(shop)
    await settlement.record(shop.uow(), paid(payment))
    [waiting] = await queued_messages(shop)
    await make_due(shop, waiting["id"], attempts=jobs.DeliveryBackoff.max_attempts - 1)
    rasa = FakeConversations()
    rasa.unreachable = True
    with caplog.at_level(logging.ERROR, logger="payments.notify"):
        async with reachable_rasa(shop, rasa):
            await run_worker_until_idle(shop)
    [failed] = await queued_messages(shop)
    assert failed["status"] == "failed"
    assert any(f"payment {payment.id}: customer not told" in r.getMessage() for r in caplog.records)


async def test_finished_jobs_are_forgotten_after_three_days_and_failed_ones_kept(shop):
    for reference in ("ws_CO_old_1", "ws_CO_old_2"):
        await settlement.record(shop.uow(), paid(await pending_payment(shop, reference)))
    done, failed = await queued_messages(shop)
    async with shop.engine.begin() as conn:
        for job, status in ((done, "succeeded"), (failed, "failed")):
            await conn.execute(text(f"UPDATE procrastinate_jobs SET status = '{status}' WHERE id = :id"), job)
        await conn.execute(text("UPDATE procrastinate_events SET at = now() - interval '73 hours'"))
    app = worker.register(jobs.create_app(shop.settings), shop.settings)
    async with app.open_async():
        await app.configure_task(worker.FORGET_OLD_JOBS, queue=shop.settings.jobs_queue).defer_async(timestamp=0)
        await app.run_worker_async(queues=[shop.settings.jobs_queue], wait=False, install_signal_handlers=False)
    assert [m["id"] for m in await queued_messages(shop)] == [failed["id"]]


async def test_the_periodic_check_is_deferred_once_per_tick_on_this_queue(shop):
    app = worker.register(jobs.create_app(shop.settings), shop.settings)
    periodic = app.periodic_registry.periodic_tasks[(jobs.CHECK_PAYMENTS, shop.settings.jobs_queue)]
    assert (periodic.periodic_id, periodic.task.queue) == (shop.settings.jobs_queue, shop.settings.jobs_queue)
    assert periodic.task.queueing_lock == periodic.task.lock == f"check_payments:{shop.settings.jobs_queue}"
    assert worker.check_cron(10) == "* * * * * */10"
