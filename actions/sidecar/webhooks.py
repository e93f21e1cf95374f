"""Payment callbacks and webhooks: authenticate, record the outcome once, answer fast."""

from __future__ import annotations

import hashlib
import json as json_module
import logging
import os

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from actions import jobs, runtime
from actions.commerce import payments
from actions.commerce.payments import Applied, PaymentStatus, ProviderEvent
from actions.jobs import notify_job_id
from actions.observability import correlation
from actions.payments import callbacks
from actions.payments.mpesa import MalformedCallback, meaning_of, parse_stk_callback
from actions.payments.paystack import MalformedWebhook, parse_webhook, verify_signature

log = logging.getLogger("payments.webhooks")
bp = Blueprint("webhooks")

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
OUTCOMES = {"applied": "accepted", "unknown_payment": "unknown"}  # the rest keep their name (duplicate, …)


def rejected(status: int, reason: str) -> HTTPResponse:
    return json({"ResultCode": 1, "ResultDesc": reason}, status=status)


def count(request: Request, provider: str, outcome: str) -> None:
    request.app.ctx.metrics.webhooks.labels(provider, outcome).inc()


@bp.post("/payments/mpesa/callback/<token:str>")
async def mpesa_callback(request: Request, token: str) -> HTTPResponse:
    rt = runtime.current()
    parts = callbacks.split_token(token)
    secret = await _callback_secret(rt, parts[0]) if parts else None
    if parts is None or not callbacks.secret_matches(parts[1], secret):
        log.warning("mpesa callback with an unknown token refused")
        count(request, "mpesa", "rejected_token")
        await _keep_for_review(rt, request.body)
        return rejected(404, "Unknown callback URL")
    try:
        callback = parse_stk_callback(request.body)
    except MalformedCallback as e:
        log.warning("malformed mpesa callback refused: %s", e)
        count(request, "mpesa", "malformed")
        return rejected(400, f"Malformed callback: {e}")
    event = ProviderEvent(
        provider="mpesa",
        key=f"callback:{callback.checkout_request_id}:{callback.result_code}",
        reference=callback.checkout_request_id,
        outcome=PaymentStatus(meaning_of(callback.result_code).outcome),
        kind="stk_callback",
        amount=callback.amount,
        payload=request.json,
        tenant_id=parts[0],
    )
    applied = await payments.record(rt.uow(), event)
    reason = meaning_of(callback.result_code).message_key
    await _recorded(request, rt, event, applied, reason)
    return json(ACCEPTED)


async def _recorded(request: Request, rt: runtime.Runtime, event: ProviderEvent, applied: Applied, reason: str) -> None:
    """Count and log the outcome; a payment's ending goes to the worker under the id of the turn that started it."""
    count(request, event.provider, OUTCOMES.get(applied.result, applied.result))
    payment_id = applied.payment.id if applied.payment else None
    origin = await correlation.of_payment(rt.redis, applied.payment)
    if applied.notify:
        job_id = notify_job_id(applied.payment)
        await jobs.enqueue(rt, "notify_payment", payment_id, reason, job_id=job_id, correlation_id=origin)
    fields = {"provider": event.provider, "payment_id": payment_id, "origin_correlation_id": origin}
    log.info("%s %s %s: %s", event.provider, event.kind, event.reference, applied.result, extra=fields)


async def _keep_for_review(rt: runtime.Runtime, body: bytes) -> None:
    """A callback to a URL we never gave out: stored for staff (bounded by the body size limit)."""
    try:
        reference = parse_stk_callback(body).checkout_request_id
        payload = json_module.loads(body)
    except (MalformedCallback, ValueError):
        reference, payload = "", {"raw": body[:2000].decode("utf-8", "replace")}
    key = "rejected:" + hashlib.sha256(body).hexdigest()
    event = ProviderEvent("mpesa", key, reference, PaymentStatus.PENDING, "forged_callback", None, payload)
    await payments.record_rejected(rt.uow(), event, "forged_callback")


async def _callback_secret(rt: runtime.Runtime, tenant_id: int) -> str | None:
    async with rt.uow() as uow:
        return await uow.tenants.callback_secret(tenant_id)


@bp.post("/payments/paystack/webhook")
async def paystack_webhook(request: Request) -> HTTPResponse:
    secret = os.environ.get("PAYSTACK_SECRET_KEY", "")
    if not secret or not verify_signature(request.body, request.headers.get("x-paystack-signature"), secret):
        log.warning("paystack webhook with a bad or missing signature refused")
        count(request, "paystack", "rejected_signature")
        return json({"error": "invalid signature"}, status=401)
    try:
        webhook = parse_webhook(request.body)
    except MalformedWebhook as e:
        log.warning("malformed paystack webhook refused: %s", e)
        count(request, "paystack", "malformed")
        return json({"error": f"malformed webhook: {e}"}, status=400)
    if webhook.event != "charge.success":
        count(request, "paystack", "ignored")
        return json({"status": "ignored"})
    event = ProviderEvent(
        provider="paystack",
        key=webhook.event_key,
        reference=webhook.reference,
        outcome=PaymentStatus.PAID,
        kind=webhook.event,
        amount=webhook.amount,
        payload=request.json,
    )
    rt = runtime.current()
    applied = await payments.record(rt.uow(), event)
    await _recorded(request, rt, event, applied, "card_paid")
    return json({"status": applied.result})
