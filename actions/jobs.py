"""Handing slow work to the worker (actions/worker.py) through arq's queue in Redis."""

from __future__ import annotations

import os

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from actions.commerce.payments import Payment
from actions.observability import correlation
from actions.runtime import Runtime


def queue_name() -> str:
    """One queue per deployment: two stacks sharing a Redis (a test run beside `make chat`) never take
    each other's jobs."""
    return os.environ.get("JOBS_QUEUE", "shop:jobs")


def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url)


def notify_job_id(payment: Payment) -> str:
    """One notification per payment ending; the provider's reference is unique where ids may be reused."""
    return f"notify:{payment.provider}:{payment.reference}"


async def enqueue(
    rt: Runtime, function: str, *args: object, job_id: str | None = None, correlation_id: str | None = None
) -> None:
    """Queue a job once: a second enqueue with the same job_id while the first is known is ignored.

    The job carries `correlation_id` (by default the current one), so the worker logs under it."""
    if rt.jobs is None:
        rt.jobs = await create_pool(redis_settings(rt.settings.redis_url), default_queue_name=queue_name())
    pool: ArqRedis = rt.jobs
    await pool.enqueue_job(function, *args, _job_id=job_id, correlation_id=correlation_id or correlation.current())
