"""Handing slow work to the worker (actions/worker.py) through arq's queue in Redis: the `Jobs` port."""

from __future__ import annotations

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import Redis

from actions.commerce.payments import Notice, Payment
from actions.observability import correlation

NOTIFY_PAYMENT = "notify_payment"


def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url)


def notify_job_id(payment: Payment) -> str:
    """One notification per payment ending; the provider's reference is unique where ids may be reused."""
    return f"notify:{payment.provider}:{payment.reference}"


class ArqJobs:
    """One queue per deployment (JOBS_QUEUE): two stacks sharing a Redis (a test run beside `make chat`)
    never take each other's jobs. The pool is opened on first use."""

    def __init__(self, redis_url: str, queue: str, redis: Redis) -> None:
        self._redis_url = redis_url
        self._redis = redis
        self.queue = queue
        self._pool: ArqRedis | None = None

    async def enqueue(
        self, function: str, *args: object, job_id: str | None = None, correlation_id: str | None = None
    ) -> None:
        """Queue a job once: a second enqueue with the same job_id while the first is known is ignored.

        The job carries `correlation_id` (by default the current one), so the worker logs under it."""
        if self._pool is None:
            self._pool = await create_pool(redis_settings(self._redis_url), default_queue_name=self.queue)
        cid = correlation_id or correlation.current()
        await self._pool.enqueue_job(function, *args, _job_id=job_id, correlation_id=cid)

    async def tell_customer(self, payment: Payment, notice: Notice, correlation_id: str | None = None) -> None:
        """Under the id of the conversation turn that asked for the payment, while it is remembered."""
        correlation_id = correlation_id or await correlation.of_payment(self._redis, payment)
        await self.enqueue(
            NOTIFY_PAYMENT, payment.id, notice.value, job_id=notify_job_id(payment), correlation_id=correlation_id
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
