"""The worker: payment reconciliation on a schedule and customer notifications, on procrastinate (PostgreSQL).

Run with `python -m actions.worker`. Several can run at once: the periodic check is deferred once per
tick whichever worker defers it (procrastinate's periodic defers are unique per task, id and time),
runs one at a time (a job lock) and claims its payments with SKIP LOCKED; each message is one job,
fetched by one worker. A job whose worker died (no heartbeat) is tried again, by a periodic task of its own.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from procrastinate import App, JobContext, RetryStrategy, exceptions
from procrastinate.jobs import Status

from actions import jobs, runtime
from actions.commerce import inbox, notifications, orders, reconciliation, reminders
from actions.commerce.errors import ConversationsUnreachable
from actions.commerce.model import OrderNotice
from actions.commerce.payments import DueCheck, Notice
from actions.db import cache
from actions.observability import correlation, logs, readiness
from actions.observability.metrics import count_reconciliation
from actions.settings import Settings

Job = Callable[..., Awaitable[Any]]
log = logging.getLogger("payments.notify")
CONCURRENCY = 4  # jobs at once in one worker: a slow check does not hold up the messages
KEEP_FINISHED_HOURS = 72  # then a finished job is deleted; a failed one stays until someone looks
FORGET_OLD_JOBS = "forget_old_jobs"
RETRY_STALLED = "retry_stalled_jobs"
STALLED_EVERY_SECONDS = 10  # a job is stalled after 30 s without its worker's heartbeat
SWEEP_CARTS = "sweep_carts"
# A reminder Rasa could not take is tried again for about 18 minutes (after 3 s, 9 s, 27 s, … 7 tries), each
# time only while the customer's window is open for long enough (reminders.MARGIN); then it is left failed.
REMINDER_RETRY = RetryStrategy(max_attempts=7, exponential_wait=3, retry_exceptions={ConversationsUnreachable})


def correlated(job: Job) -> Job:
    """A job runs under the correlation id it was queued with (actions/jobs.py), else a new one."""

    @functools.wraps(job)
    async def run(context: JobContext, *, correlation_id: str | None = None, **kwargs: Any) -> Any:
        logs.begin(correlation_id=correlation.take(correlation_id), job=context.job.id)
        return await job(context, **kwargs)

    return run


@correlated
async def check_payments(context: JobContext, timestamp: int) -> int:
    rt = runtime.current()
    policy = rt.settings.check_policy
    await orders.expire_abandoned(rt.uow(), policy.retry_window)
    due = await reconciliation.claim_due(rt.uow(), policy)
    for item in due:
        await check_one(rt, item)
    async with rt.sessions() as session, session.begin():
        await cache.compact(session)  # fold the shops' cache change rows (their versions stay as they are)
    return len(due)


@correlated
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Its own periodic task, without a lock: a check killed mid-run stays `doing` and holds the checks'
    lock, so no later check could run to retry it (nor anything else)."""
    await retry_stalled(context.app, context.job.queue)


async def retry_stalled(app: App, queue: str) -> None:
    """Jobs of a worker that stopped sending heartbeats (killed mid-job) run again: at least once."""
    for job in await app.job_manager.get_stalled_jobs(queue=queue):
        try:
            await app.job_manager.retry_job(job)
        except exceptions.UniqueViolation:  # its queueing lock: the same job waits already (the next check)
            log.warning("job %s (%s) of a stalled worker aborted: its twin waits", job.id, job.task_name)
            await app.job_manager.finish_job(job, Status.ABORTED, delete_job=False)
        else:
            log.warning("job %s (%s) of a stalled worker is tried again", job.id, job.task_name)


async def check_one(rt: runtime.Runtime, due: DueCheck) -> reconciliation.Checked:
    """One claimed check, logged (and the customer's message queued) under the id of the turn that started
    the payment, and counted for /metrics."""
    payment = due.payment
    origin = await correlation.of_payment(rt.redis, payment)
    with logs.bind(correlation_id=origin, payment_id=payment.id, provider=payment.provider):
        checked = await reconciliation.check(rt.uow(), rt.providers, rt.settings.check_policy, due)
    if checked.provider_error is not None:
        await count_reconciliation(rt.redis, payment.provider, "provider_error")
    await count_reconciliation(rt.redis, payment.provider, checked.outcome)
    return checked


@correlated
async def forget_old_jobs(context: JobContext, timestamp: int) -> None:
    """A check every few seconds is thousands of jobs a day: the queue keeps only the recent ones."""
    await context.app.job_manager.delete_old_jobs(nb_hours=KEEP_FINISHED_HOURS, queue=context.job.queue)


@correlated
async def notify_payment(context: JobContext, payment_id: int, notice: str) -> bool:
    """Rasa unreachable: ConversationsUnreachable, and the job is tried again (jobs.DeliveryBackoff)."""
    rt = runtime.current()
    told = await notifications.tell_customer(rt.uow(), rt.conversations, payment_id, Notice(notice))
    if told:
        log.info("payment %s: customer told (%s)", payment_id, notice, extra={"payment_id": payment_id})
    return told


@correlated
async def notify_order(context: JobContext, order_id: int, notice: str, reason: str = "") -> bool:
    """An order's step, told to its customer; retried like a payment's message."""
    rt = runtime.current()
    told = await notifications.tell_order_step(rt.uow(), rt.conversations, order_id, OrderNotice(notice), reason)
    if told:
        log.info("order %s: customer told (%s)", order_id, notice, extra={"order_id": order_id})
    return told


async def sweep_carts(context: JobContext, timestamp: int) -> int:
    """Queue the reminders that are due (actions/commerce/reminders.py), once a minute."""
    return await reminders.sweep(runtime.current().uow(), datetime.now(UTC))


@correlated
async def remind_cart(context: JobContext, cart_id: int, version: int) -> bool:
    rt = runtime.current()
    sent = await reminders.remind(rt.uow(), rt.conversations, cart_id, version, datetime.now(UTC))
    log.info("cart %s (version %s): %s", cart_id, version, "reminded" if sent else "no reminder any more")
    return sent


@correlated
async def deliver_staff_reply(context: JobContext, reply_id: int) -> bool:
    """A staff reply from the inbox into the customer's chat; Rasa unreachable: tried again (jobs.DeliveryBackoff)."""
    rt = runtime.current()
    delivered = await inbox.deliver(rt.uow(), rt.conversations, reply_id)
    if delivered:
        log.info("staff reply %s delivered", reply_id)
    return delivered


def check_cron(interval_seconds: float) -> str:
    """procrastinate's cron with its sixth field, seconds: every `interval_seconds` (at least 1, at most 60)."""
    every = min(60, max(1, int(interval_seconds)))
    return f"* * * * * */{every}"


def register(app: App, settings: Settings) -> App:
    """The worker's tasks on this deployment's queue. The periodic id is the queue too: stacks sharing a
    database each get their own ticks."""
    queue = settings.jobs_queue
    app.task(name=jobs.NOTIFY_PAYMENT, queue=queue, retry=jobs.DeliveryBackoff(), pass_context=True)(notify_payment)
    app.task(name=jobs.NOTIFY_ORDER, queue=queue, retry=jobs.DeliveryBackoff(), pass_context=True)(notify_order)
    app.task(name=jobs.DELIVER_REPLY, queue=queue, retry=jobs.DeliveryBackoff(), pass_context=True)(deliver_staff_reply)
    checks = app.task(
        name=jobs.CHECK_PAYMENTS, queue=queue, lock=f"{jobs.CHECK_PAYMENTS}:{queue}",
        queueing_lock=f"{jobs.CHECK_PAYMENTS}:{queue}", pass_context=True,
    )(check_payments)  # fmt: skip
    app.periodic(cron=check_cron(settings.reconcile_interval_seconds), periodic_id=queue)(checks)
    stalled = app.task(name=RETRY_STALLED, queue=queue, queueing_lock=f"{RETRY_STALLED}:{queue}", pass_context=True)
    app.periodic(cron=check_cron(STALLED_EVERY_SECONDS), periodic_id=queue)(stalled(retry_stalled_jobs))
    cleanup = app.task(name=FORGET_OLD_JOBS, queue=queue, lock=f"{FORGET_OLD_JOBS}:{queue}", pass_context=True)
    app.periodic(cron="13 * * * *", periodic_id=queue)(cleanup(forget_old_jobs))
    app.task(name=jobs.REMIND_CART, queue=queue, retry=REMINDER_RETRY, pass_context=True)(remind_cart)
    sweep = app.task(name=SWEEP_CARTS, queue=queue, queueing_lock=f"{SWEEP_CARTS}:{queue}", pass_context=True)
    app.periodic(cron="* * * * *", periodic_id=queue)(sweep(sweep_carts))
    return app


async def work(settings: Settings) -> None:
    rt = await runtime.start(settings)
    try:
        await readiness.warn_if_not_ready(rt)
        app = register(rt.jobs, settings)
        async with app.open_async():
            await app.run_worker_async(queues=[settings.jobs_queue], concurrency=CONCURRENCY)
    finally:
        await runtime.stop()


def main() -> None:
    settings = Settings.load()
    runtime.configure_logging(settings)
    asyncio.run(work(settings))


if __name__ == "__main__":
    main()
