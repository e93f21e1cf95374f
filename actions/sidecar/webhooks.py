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
from actions.commerce.payments import PaymentStatus, ProviderEvent
from actions.jobs import notify_job_id
from actions.payments import callbacks
from actions.payments.mpesa import MalformedCallback, meaning_of, parse_stk_callback
from actions.payments.paystack import MalformedWebhook, parse_webhook, verify_signature

log = logging.getLogger("payments.webhooks")
bp = Blueprint("webhooks")

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def rejected(status: int, reason: str) -> HTTPResponse:
    return json({"ResultCode": 1, "ResultDesc": reason}, status=status)


@bp.post("/payments/mpesa/callback/<token:str>")
async def mpesa_callback(request: Request, token: str) -> HTTPResponse:
    rt = runtime.current()
    parts = callbacks.split_token(token)
    secret = await _callback_secret(rt, parts[0]) if parts else None
    if parts is None or not callbacks.secret_matches(parts[1], secret):
        log.warning("mpesa callback with an unknown token refused")
        await _keep_for_review(rt, request.body)
        return rejected(404, "Unknown callback URL")
    try:
        callback = parse_stk_callback(request.body)
    except MalformedCallback as e:
        log.warning("malformed mpesa callback refused: %s", e)
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
    if applied.notify:
        reason = meaning_of(callback.result_code).message_key
        await jobs.enqueue(rt, "notify_payment", applied.payment.id, reason, job_id=notify_job_id(applied.payment))
    log.info("mpesa callback %s: %s", callback.checkout_request_id, applied.result, extra={"provider": "mpesa"})
    return json(ACCEPTED)


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
        return json({"error": "invalid signature"}, status=401)
    try:
        webhook = parse_webhook(request.body)
    except MalformedWebhook as e:
        log.warning("malformed paystack webhook refused: %s", e)
        return json({"error": f"malformed webhook: {e}"}, status=400)
    if webhook.event != "charge.success":
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
    if applied.notify:
        await jobs.enqueue(rt, "notify_payment", applied.payment.id, "card_paid", job_id=notify_job_id(applied.payment))
    log.info("paystack webhook %s: %s", webhook.reference, applied.result, extra={"provider": "paystack"})
    return json({"status": applied.result})
