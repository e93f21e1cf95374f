"""Work for the worker (actions/worker.py) as procrastinate jobs in PostgreSQL: the `Outbox` port.

A job that a database change causes is written in that change's own transaction. procrastinate's
deferral takes an external psycopg connection (`configure(connection=...)`, its documented way to
defer atomically with the caller's own work): the job's INSERT runs on that connection, in whatever
transaction it has open, and the caller commits. The outbox hands it the unit of work's connection,
the one under its SQLAlchemy session: the job row commits or rolls back with the payment it is about. A crash
after the commit cannot lose it, and no step after the commit, second connection or Redis keeps
it (Redis only lends the correlation id, when it has one). The job goes through procrastinate's own
defer query, so its schema (migrations/versions/0007) and the worker stay procrastinate's, not a
copy of them; the other ways were a connector over the session (procrastinate has one only for
SQLAlchemy with psycopg2, synchronous) or calling its SQL function by hand (its internals).

One queue per deployment (JOBS_QUEUE): two stacks sharing a database (a test run beside `make chat`)
never take each other's jobs.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from procrastinate import App, PsycopgConnector, exceptions
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from actions.commerce.errors import ConversationsUnreachable
from actions.commerce.payments import Notice, Payment
from actions.commerce.ports import StaffReply
from actions.observability import correlation
from actions.settings import Settings

NOTIFY_PAYMENT = "notify_payment"
DELIVER_REPLY = "deliver_staff_reply"
CHECK_PAYMENTS = "check_payments"
log = logging.getLogger("payments.notify")


def create_app(settings: Settings) -> App:
    """The procrastinate app of this deployment's database; its pool opens only in the worker (deferring
    through a unit of work needs none)."""
    conninfo = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    return App(connector=PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4))


def notify_lock(payment: Payment) -> str:
    """One message per payment ending; the provider's reference is unique where ids may be reused."""
    return f"notify:{payment.provider}:{payment.reference}"


class DeliveryBackoff(BaseRetryStrategy):
    """How a message that could not reach the customer (Rasa down or refusing) is tried again: after
    5 s, then twice as long each time up to 5 minutes, 15 tries in all, so it outlasts an outage of
    45 minutes and arrives at most 5 minutes after Rasa is back. Then the job is left failed in
    procrastinate_jobs, and logged as an error: seen, never silently dropped. Other errors are bugs:
    they fail the job at once, just as visibly."""

    first = timedelta(seconds=5)
    longest = timedelta(minutes=5)
    max_attempts = 15

    def wait(self, attempts: int) -> timedelta:
        """The wait after the try that follows `attempts` earlier ones."""
        return min(self.first * 2**attempts, self.longest)

    def patience(self) -> timedelta:
        """From the first try to the last one."""
        return sum((self.wait(n) for n in range(self.max_attempts - 1)), timedelta())

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, ConversationsUnreachable):
            return None
        if job.attempts + 1 >= self.max_attempts:
            if "reply_id" in job.task_kwargs:
                subject, extra = f"staff reply {job.task_kwargs['reply_id']}", {}
            else:
                payment_id = job.task_kwargs.get("payment_id")
                subject, extra = f"payment {payment_id}", {"payment_id": payment_id}
            log.error(
                "%s: customer not told after %s tries, job %s left failed: %s",
                subject, self.max_attempts, job.id, exception, extra=extra,
            )  # fmt: skip
            return None
        return RetryDecision(retry_in={"seconds": self.wait(job.attempts).total_seconds()})


class ProcrastinateOutbox:
    """The `Outbox` of one unit of work: jobs deferred on its session's connection."""

    def __init__(self, session: AsyncSession, app: App, queue: str, redis: Redis | None = None) -> None:
        self._session = session
        self._app = app
        self._queue = queue
        self._redis = redis

    async def _connection(self):
        """psycopg's AsyncConnection under the session, in its transaction (begun if need be)."""
        connection = await self._session.connection()
        return (await connection.get_raw_connection()).driver_connection

    async def tell_customer(self, payment: Payment, notice: Notice, correlation_id: str | None = None) -> None:
        """Under the id of the conversation turn that asked for the payment while it is remembered, else
        the current one. A savepoint keeps the transaction usable when the queueing lock is taken; the
        COMMIT releases it (a RELEASE would be one more round trip for nothing)."""
        correlation_id = correlation_id or await correlation.of_payment(self._redis, payment) or correlation.current()
        raw = await self._connection()
        deferrer = self._app.configure_task(
            NOTIFY_PAYMENT, queue=self._queue, queueing_lock=notify_lock(payment), connection=raw
        )
        await raw.execute("SAVEPOINT tell_customer")
        try:
            await deferrer.defer_async(payment_id=payment.id, notice=notice.value, correlation_id=correlation_id)
        except exceptions.AlreadyEnqueued:
            await raw.execute("ROLLBACK TO SAVEPOINT tell_customer")
            log.info("payment %s: its message is queued already", payment.id, extra={"payment_id": payment.id})

    async def send_reply(self, reply: StaffReply) -> None:
        """One conversation's replies share a job lock: procrastinate runs them one at a time, oldest first,
        and a reply waiting to be tried again holds back the ones after it."""
        raw = await self._connection()
        deferrer = self._app.configure_task(
            DELIVER_REPLY, queue=self._queue, lock=reply_lock(reply.conversation_id), connection=raw
        )
        await deferrer.defer_async(reply_id=reply.id, correlation_id=correlation.current())


def reply_lock(conversation_id: str) -> str:
    return f"reply:{conversation_id}"
