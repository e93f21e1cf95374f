"""The worker: payment reconciliation on a schedule and customer notifications, on arq (Redis).

Run with `python -m actions.worker`. Several can run at once: checks are claimed with
SKIP LOCKED, and notifications are queued once per payment outcome.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq import cron
from arq.worker import Retry, run_worker

from actions import jobs, runtime
from actions.commerce import notifications, orders, reconciliation
from actions.commerce.payments import DueCheck, Notice
from actions.db import cache
from actions.observability import correlation, logs, readiness
from actions.observability.metrics import count_reconciliation
from actions.settings import Settings

Job = Callable[..., Awaitable[Any]]
log = logging.getLogger("payments.notify")


def correlated(job: Job) -> Job:
    """A job runs under the correlation id it was queued with (actions/jobs.py), else a new one."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, correlation_id: str | None = None, **kwargs: Any) -> Any:
        logs.begin(correlation_id=correlation.take(correlation_id), job=ctx.get("job_id"))
        return await job(ctx, *args, **kwargs)

    return run


async def startup(ctx: dict[str, Any]) -> None:
    ctx["rt"] = await runtime.start(ctx.get("settings"))
    await readiness.warn_if_not_ready(ctx["rt"])


async def shutdown(ctx: dict[str, Any]) -> None:
    await runtime.stop()


@correlated
async def check_payments(ctx: dict[str, Any]) -> int:
    rt: runtime.Runtime = ctx["rt"]
    policy = rt.settings.check_policy
    await orders.expire_abandoned(rt.uow(), policy.retry_window)
    due = await reconciliation.claim_due(rt.uow(), policy)
    for item in due:
        await check_one(rt, item)
    async with rt.sessions() as session, session.begin():
        await cache.compact(session)  # fold the shops' cache change rows (their versions stay as they are)
    return len(due)


async def check_one(rt: runtime.Runtime, due: DueCheck) -> reconciliation.Checked:
    """One claimed check, logged (and the customer's message queued) under the id of the turn that started
    the payment, and counted for /metrics."""
    payment = due.payment
    origin = await correlation.of_payment(rt.redis, payment)
    with logs.bind(correlation_id=origin, payment_id=payment.id, provider=payment.provider):
        checked = await reconciliation.check(rt.uow(), rt.providers, rt.jobs, rt.settings.check_policy, due)
    if checked.provider_error is not None:
        await count_reconciliation(rt.redis, payment.provider, "provider_error")
    await count_reconciliation(rt.redis, payment.provider, checked.outcome)
    return checked


@correlated
async def notify_payment(ctx: dict[str, Any], payment_id: int, notice: str) -> bool:
    rt: runtime.Runtime = ctx["rt"]
    try:
        told = await notifications.tell_customer(rt.uow(), rt.conversations, payment_id, Notice(notice))
    except Exception as e:
        raise Retry(defer=ctx["job_try"] * 5) from e
    if told:
        log.info("payment %s: customer told (%s)", payment_id, notice, extra={"payment_id": payment_id})
    return told


class WorkerSettings:
    functions = (notify_payment,)
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5


def main() -> None:
    settings = Settings.load()
    runtime.configure_logging(settings)
    every = max(1, int(settings.reconcile_interval_seconds))
    WorkerSettings.queue_name = settings.jobs_queue
    run_worker(
        WorkerSettings,
        redis_settings=jobs.redis_settings(settings.redis_url),
        ctx={"settings": settings},
        cron_jobs=[cron(check_payments, second=set(range(0, 60, every)), run_at_startup=True, unique=True)],
    )


if __name__ == "__main__":
    main()
