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
from actions.commerce.model import Order, OrderNotice
from actions.commerce.payments import Notice, Payment
from actions.commerce.ports import StaffReply
from actions.observability import correlation
from actions.settings import Settings

NOTIFY_PAYMENT = "notify_payment"
DELIVER_REPLY = "deliver_staff_reply"
NOTIFY_ORDER = "notify_order"
CHECK_PAYMENTS = "check_payments"
REMIND_CART = "remind_cart"
log = logging.getLogger("payments.notify")


def create_app(settings: Settings) -> App:
    """The procrastinate app of this deployment's database; its pool opens only in the worker (deferring
    through a unit of work needs none)."""
    conninfo = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    return App(connector=PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4))


def notify_lock(payment: Payment) -> str:
    """One message per payment ending; the provider's reference is unique where ids may be reused."""
    return f"notify:{payment.provider}:{payment.reference}"


def reminder_lock(cart_id: int, version: int) -> str:
    """One waiting reminder per cart version (the cart row's claim already makes it one per version)."""
    return f"cart-reminder:{cart_id}:{version}"


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
            about = {
                name: job.task_kwargs[name]
                for name in ("payment_id", "order_id", "reply_id")
                if name in job.task_kwargs
            }
            what = ", ".join(f"{name.removesuffix('_id')} {value}" for name, value in about.items())
            log.error(
                "%s: customer not told after %s tries, job %s left failed: %s",
                what, self.max_attempts, job.id, exception, extra=about,
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

    async def tell_customer(self, payment: Payment, notice: Notice, correlation_id: str | None = None) -> None:
        """Under the id of the conversation turn that asked for the payment while it is remembered, else
        the current one. A savepoint keeps the transaction usable when the queueing lock is taken; the
        COMMIT releases it (a RELEASE would be one more round trip for nothing)."""
        correlation_id = correlation_id or await correlation.of_payment(self._redis, payment) or correlation.current()
        kwargs = {"payment_id": payment.id, "notice": notice.value, "correlation_id": correlation_id}
        if not await self._defer(NOTIFY_PAYMENT, kwargs, queueing_lock=notify_lock(payment)):
            log.info("payment %s: its message is queued already", payment.id, extra={"payment_id": payment.id})

    async def tell_order(self, order: Order, notice: OrderNotice, reason: str = "") -> None:
        """One job per step, queued once; one order's jobs run one after the other, oldest first
        (procrastinate's `lock`), so its customer hears the steps in order."""
        kwargs = {"order_id": order.id, "notice": notice.value, "reason": reason}
        kwargs["correlation_id"] = correlation.current()
        lock = f"order:{order.id}"
        if not await self._defer(NOTIFY_ORDER, kwargs, queueing_lock=f"{lock}:{notice.value}", lock=lock):
            log.info("order %s: its %s message is queued already", order.id, notice.value, extra={"order_id": order.id})

    async def _defer(self, task: str, kwargs: dict, **options: str) -> bool:
        """Defer on the session's connection, in its transaction; False when the queueing lock is taken."""
        connection = await self._session.connection()  # the session's, in its transaction (begun if need be)
        raw = (await connection.get_raw_connection()).driver_connection  # psycopg's AsyncConnection
        deferrer = self._app.configure_task(task, queue=self._queue, connection=raw, **options)
        await raw.execute("SAVEPOINT tell_customer")
        try:
            await deferrer.defer_async(**kwargs)
        except exceptions.AlreadyEnqueued:
            await raw.execute("ROLLBACK TO SAVEPOINT tell_customer")
            return False
        return True

    async def remind_cart(self, cart_id: int, version: int) -> None:
        kwargs = {"cart_id": cart_id, "version": version, "correlation_id": correlation.current()}
        if not await self._defer(REMIND_CART, kwargs, queueing_lock=reminder_lock(cart_id, version)):
            log.info("cart %s: its reminder is queued already", cart_id)

    async def send_reply(self, reply: StaffReply) -> None:
        """One conversation's replies share a job lock: procrastinate runs them one at a time, oldest first,
        and a reply waiting to be tried again holds back the ones after it."""
        kwargs = {"reply_id": reply.id, "correlation_id": correlation.current()}
        await self._defer(DELIVER_REPLY, kwargs, lock=reply_lock(reply.conversation_id))


def reply_lock(conversation_id: str) -> str:
    return f"reply:{conversation_id}"
