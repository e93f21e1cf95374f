"""Payment callbacks and webhooks: authenticate, record the outcome once, answer fast."""

from __future__ import annotations

import logging

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from actions import runtime
from actions.commerce import settlement, shops
from actions.commerce.payments import Applied, ProviderEvent, Recorded
from actions.observability import correlation
from actions.payments import callbacks, mpesa, paystack
from actions.payments.mpesa import MalformedCallback, parse_stk_callback
from actions.payments.paystack import MalformedWebhook, parse_webhook, verify_signature

log = logging.getLogger("payments.webhooks")
bp = Blueprint("webhooks")

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
# The metric's outcome label of each result (the rest keep their name: duplicate, unchanged, …).
OUTCOMES = {Recorded.APPLIED: "accepted", Recorded.UNKNOWN_PAYMENT: "unknown"}


def rejected(status: int, reason: str) -> HTTPResponse:
    return json({"ResultCode": 1, "ResultDesc": reason}, status=status)


def count(request: Request, provider: str, outcome: str) -> None:
    request.app.ctx.metrics.webhooks.labels(provider, outcome).inc()


@bp.post("/payments/mpesa/callback/<token:str>")
async def mpesa_callback(request: Request, token: str) -> HTTPResponse:
    rt = runtime.current()
    parts = callbacks.split_token(token)
    secret = await shops.mpesa_callback_secret(rt.uow(), parts[0]) if parts else None
    if parts is None or not callbacks.secret_matches(parts[1], secret):
        log.warning("mpesa callback with an unknown token refused")
        count(request, "mpesa", "rejected_token")
        await settlement.record_rejected(rt.uow(), mpesa.rejected_callback_event(request.body), "forged_callback")
        return rejected(404, "Unknown callback URL")
    try:
        callback = parse_stk_callback(request.body)
    except MalformedCallback as e:
        log.warning("malformed mpesa callback refused: %s", e)
        count(request, "mpesa", "malformed")
        return rejected(400, f"Malformed callback: {e}")
    await _record(request, mpesa.callback_event(callback, request.json, tenant_id=parts[0]))
    return json(ACCEPTED)


@bp.post("/payments/paystack/webhook")
async def paystack_webhook(request: Request) -> HTTPResponse:
    secret = runtime.current().settings.paystack_secret_key
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
    applied = await _record(request, paystack.webhook_event(webhook, request.json))
    return json({"status": applied.result.value})


async def _record(request: Request, event: ProviderEvent) -> Applied:
    """Record the event; a payment's ending goes to the worker under the id of the turn that started it."""
    rt = runtime.current()
    applied = await settlement.record_and_tell(rt.uow(), rt.jobs, event)
    origin = await correlation.of_payment(rt.redis, applied.payment)
    count(request, event.provider, OUTCOMES.get(applied.result, applied.result.value))
    payment_id = applied.payment.id if applied.payment else None
    fields = {"provider": event.provider, "payment_id": payment_id, "origin_correlation_id": origin}
    log.info("%s %s %s: %s", event.provider, event.kind, event.reference, applied.result, extra=fields)
    return applied
