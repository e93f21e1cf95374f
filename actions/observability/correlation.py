"""Correlation ids: one id follows a customer's message through every process and every log line.

An entry point takes the caller's X-Correlation-ID when it is sane, else makes one, and binds it to
the logs (`logs.begin`); outbound HTTP calls carry it (`add_header`, an httpx event hook); jobs carry
it to the worker (actions/jobs.py). A payment remembers the id that started it, so the worker's
checks and the provider's callback, which arrive later without it, can name it.
"""

from __future__ import annotations

import logging
import re
import uuid

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from actions.commerce.payments import Payment
from actions.observability import logs

HEADER = "X-Correlation-ID"
FIELD = "correlation_id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")
PAYMENT_KEY = "shop:correlation:payment:{}:{}"  # provider, reference: unique even across databases
PAYMENT_TTL_SECONDS = 8 * 24 * 3600  # longer than any retry window

log = logging.getLogger("observability.correlation")


def new() -> str:
    return uuid.uuid4().hex


def sane(value: object) -> str | None:
    """The value if it can be an id we log and pass on; None for anything odd (too long, spaces, markup)."""
    return value if isinstance(value, str) and _SANE.fullmatch(value) else None


def take(*candidates: object) -> str:
    """The first sane candidate, else a new id."""
    return next((c for c in map(sane, candidates) if c), None) or new()


def current() -> str | None:
    return logs.fields().get(FIELD)


async def add_header(request: httpx.Request) -> None:
    """httpx request hook: outbound calls carry the current id."""
    if (cid := current()) and HEADER not in request.headers:
        request.headers[HEADER] = cid


async def remember_for_payment(redis: Redis | None, payment: Payment) -> None:
    cid = current()
    if redis is None or cid is None:
        return
    try:
        await redis.set(PAYMENT_KEY.format(payment.provider, payment.reference), cid, ex=PAYMENT_TTL_SECONDS)
    except RedisError as e:  # a missing trail is a pity, not a reason to fail a payment
        log.warning("payment %s: correlation id not kept: %s", payment.id, e, extra={"payment_id": payment.id})


async def of_payment(redis: Redis | None, payment: Payment | None) -> str | None:
    """The correlation id of the conversation turn that started the payment, while it is remembered."""
    if payment is None:
        return None
    return await of_reference(redis, payment.provider, payment.reference)


async def of_reference(redis: Redis | None, provider: str, reference: str) -> str | None:
    """`of_payment` by the provider's reference, before the payment is read."""
    if redis is None:
        return None
    try:
        value = await redis.get(PAYMENT_KEY.format(provider, reference))
    except RedisError:
        return None
    return sane(value.decode() if isinstance(value, bytes) else value)
