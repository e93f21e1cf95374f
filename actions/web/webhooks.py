"""Payment callbacks and webhooks: authenticate, record the outcome once, answer fast.

What the ledger does not take (a forged callback URL, a bad signature, an unreadable body, a message
about no payment of ours) is kept apart in commerce.rejected_messages, capped per source address
and hour (REJECTED_PER_ADDRESS_PER_HOUR, REJECTED_PER_HOUR); it changes no payment and makes no check due.
"""

from __future__ import annotations

import logging

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from actions import runtime
from actions.commerce import settlement
from actions.commerce.errors import PaymentUnavailable
from actions.commerce.payments import Applied, ProviderEvent, Recorded, RejectCaps, Rejected
from actions.observability import correlation
from actions.payments import callbacks, mpesa, paystack
from actions.payments.mpesa import MalformedCallback, parse_stk_callback
from actions.payments.payloads import json_object
from actions.payments.paystack import MalformedWebhook, parse_webhook, verify_signature
from actions.web.addresses import client_address

log = logging.getLogger("payments.webhooks")
bp = Blueprint("webhooks")

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
# The metric's outcome label of each result (the rest keep their name: duplicate, unchanged, …).
OUTCOMES = {Recorded.APPLIED: "accepted", Recorded.UNKNOWN_PAYMENT: "unknown", Recorded.REJECTED: "rejected_nonce"}


def rejected(status: int, reason: str) -> HTTPResponse:
    return json({"ResultCode": 1, "ResultDesc": reason}, status=status)


def count(request: Request, provider: str, outcome: str) -> None:
    request.app.ctx.metrics.webhooks.labels(provider, outcome).inc()


def caps() -> RejectCaps:
    s = runtime.current().settings
    return RejectCaps(s.rejected_per_address_per_hour, s.rejected_per_hour)


async def keep_rejected(message: Rejected) -> None:
    if not await settlement.record_rejected(runtime.current().uow(), message, caps()):
        log.warning("%s message from %s not kept: over the hourly cap", message.provider, message.source_address)


@bp.post("/payments/mpesa/callback/<token:str>/<nonce:str>")
async def mpesa_callback(request: Request, token: str, nonce: str) -> HTTPResponse:
    return await _mpesa_callback(request, token, nonce)


@bp.post("/payments/mpesa/callback/<token:str>")
async def mpesa_callback_without_nonce(request: Request, token: str) -> HTTPResponse:
    """The URL of payments asked for before revision 0006 (no nonce): admitted for those payments only."""
    return await _mpesa_callback(request, token, None)


async def _mpesa_callback(request: Request, token: str, nonce: str | None) -> HTTPResponse:
    rt = runtime.current()
    address = client_address(request, runtime.current().settings.trusted_proxy_header)
    given = callbacks.credentials(token, nonce)
    if given is None or not await settlement.callback_shop_known(rt.uow(), given):
        log.warning("mpesa callback with an unknown token refused")
        count(request, "mpesa", "rejected_token")
        tenant = given.tenant_id if given else None
        await keep_rejected(mpesa.rejected_callback(request.body, "bad_token", address, tenant))
        return rejected(404, "Unknown callback URL")
    try:
        payload = json_object(request.body, "callback", MalformedCallback)
        callback = parse_stk_callback(payload)
    except MalformedCallback as e:
        log.warning("malformed mpesa callback refused: %s", e)
        count(request, "mpesa", "malformed")
        await keep_rejected(mpesa.rejected_callback(request.body, "malformed", address, given.tenant_id))
        return rejected(400, f"Malformed callback: {e}")
    applied = await _record(request, mpesa.callback_event(callback, payload, given))
    if applied.result is Recorded.UNKNOWN_PAYMENT:
        await keep_rejected(mpesa.rejected_callback(request.body, "unknown_payment", address, given.tenant_id))
    elif applied.result is Recorded.REJECTED:  # the shop's URL, but not the one given for this payment
        await keep_rejected(mpesa.rejected_callback(request.body, "bad_nonce", address, given.tenant_id))
        return rejected(404, "Unknown callback URL")
    return json(ACCEPTED)


@bp.post("/payments/paystack/webhook")
async def paystack_webhook(request: Request) -> HTTPResponse:
    """Every signed event is kept and answered 200 (anything else is retried for 72 hours): about a payment
    of ours in its ledger, else apart. An unsigned one gets 401 and is kept apart, capped."""
    rt = runtime.current()
    address = client_address(request, rt.settings.trusted_proxy_header)
    try:
        secret = await _paystack_key(request.body)
    except PaymentUnavailable as e:  # a shop's key that SHOP_SECRETS_KEY cannot open: Paystack retries
        log.error("paystack webhook not checked: %s", e)
        count(request, "paystack", "key_unavailable")
        return json({"error": "try again later"}, status=503)
    if not secret or not verify_signature(request.body, request.headers.get("x-paystack-signature"), secret):
        log.warning("paystack webhook with a bad or missing signature refused")
        count(request, "paystack", "rejected_signature")
        await keep_rejected(paystack.rejected_webhook(request.body, "bad_signature", address, signed=False))
        return json({"error": "invalid signature"}, status=401)
    try:
        payload = json_object(request.body, "webhook", MalformedWebhook)
        webhook = parse_webhook(payload)
    except MalformedWebhook as e:
        log.warning("unreadable signed paystack webhook kept: %s", e)
        count(request, "paystack", "malformed")
        await keep_rejected(paystack.rejected_webhook(request.body, "malformed", address, signed=True))
        return json({"status": "kept"})
    event = paystack.webhook_event(webhook, payload)
    if event is None:  # a transfer: about no payment of ours
        count(request, "paystack", "ignored")
        await keep_rejected(paystack.rejected_webhook(request.body, "not_a_payment", address, signed=True))
        return json({"status": "kept"})
    applied = await _record(request, event)
    if applied.result is Recorded.UNKNOWN_PAYMENT:
        reason = "unknown_payment"
        await keep_rejected(paystack.rejected_webhook(request.body, reason, address, True, webhook.reference))
    return json({"status": applied.result.value})


async def _paystack_key(raw_body: bytes) -> str | None:
    """The key this webhook must be signed with: that of the account its payment was asked with (a shop's
    own, else the platform's). The reference is read before the signature is checked, but it only chooses
    the key: a forger who knows one shop's key can sign only events about that shop's own payments, since
    the event recorded is about the very reference that chose the key; unknown references and events
    about no payment need the platform's key."""
    rt = runtime.current()
    account_id = await settlement.account_of(rt.uow(), "paystack", paystack.claimed_reference(raw_body))
    try:
        return await rt.providers.paystack.webhook_key(account_id)
    except PaymentUnavailable:
        if account_id is None:  # the platform has no Paystack key: nothing is signed for it
            return None
        raise


async def _record(request: Request, event: ProviderEvent) -> Applied:
    """Record the event; a payment's ending goes to the worker under the id of the turn that started it
    (read once, for the job and the log)."""
    rt = runtime.current()
    origin = await correlation.of_reference(rt.redis, event.provider, event.reference)
    applied = await settlement.record(rt.uow(), event, origin)
    origin = origin if applied.payment else None
    count(request, event.provider, OUTCOMES.get(applied.result, applied.result.value))
    payment_id = applied.payment.id if applied.payment else None
    fields = {"provider": event.provider, "payment_id": payment_id, "origin_correlation_id": origin}
    log.info("%s %s %s: %s", event.provider, event.kind, event.reference, applied.result, extra=fields)
    return applied
