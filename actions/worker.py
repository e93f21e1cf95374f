"""The worker: payment reconciliation on a schedule and customer notifications, on arq (Redis).

Run with `python -m actions.worker`. Several can run at once: checks are claimed with
SKIP LOCKED, and notifications are queued once per payment outcome.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any

from arq import cron
from arq.worker import Retry, run_worker

from actions import jobs, runtime
from actions.commerce import orders
from actions.jobs import notify_job_id
from actions.observability import correlation, logs, readiness
from actions.payments import notify, reconcile
from actions.serving import configure_logging

Job = Callable[..., Awaitable[Any]]


def correlated(job: Job) -> Job:
    """A job runs under the correlation id it was queued with (actions/jobs.py), else a new one."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, correlation_id: str | None = None, **kwargs: Any) -> Any:
        logs.begin(correlation_id=correlation.take(correlation_id), job=ctx.get("job_id"))
        return await job(ctx, *args, **kwargs)

    return run


async def startup(ctx: dict[str, Any]) -> None:
    ctx["rt"] = await runtime.start()
    await readiness.warn_if_not_ready(ctx["rt"])


async def shutdown(ctx: dict[str, Any]) -> None:
    await runtime.stop()


@correlated
async def check_payments(ctx: dict[str, Any]) -> int:
    rt = ctx["rt"]
    await orders.expire_abandoned(rt.uow(), rt.payments.retry_window_minutes)
    checked = await reconcile.check_due(rt)
    for item in checked:
        if item.applied is not None and item.applied.notify:
            job_id = notify_job_id(item.applied.payment)
            await jobs.enqueue(
                rt, "notify_payment", item.payment_id, item.reason, job_id=job_id, correlation_id=item.correlation_id
            )
    return len(checked)


@correlated
async def notify_payment(ctx: dict[str, Any], payment_id: int, reason: str) -> bool:
    try:
        return await notify.notify_customer(ctx["rt"], payment_id, reason)
    except Exception as e:
        raise Retry(defer=ctx["job_try"] * 5) from e


class WorkerSettings:
    functions = (notify_payment,)
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5


def main() -> None:
    configure_logging()
    every = max(1, int(float(os.environ.get("RECONCILE_INTERVAL_SECONDS", "10"))))
    WorkerSettings.queue_name = jobs.queue_name()
    run_worker(
        WorkerSettings,
        redis_settings=jobs.redis_settings(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")),
        cron_jobs=[cron(check_payments, second=set(range(0, 60, every)), run_at_startup=True, unique=True)],
    )


if __name__ == "__main__":
    main()
