"""Reconciliation: asking the provider about payments whose callback never came.

The worker runs `check_due` every few seconds. Each pending payment is asked about at most
`max_checks` times, with the wait doubling each time, inside the retry window; when the checks
run out (or the window closes) while the provider still has no answer, the payment expires and
the order's stock goes back on the shelf.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from actions.commerce import payments
from actions.commerce.payments import Applied, DueCheck, PaymentStatus, ProviderEvent
from actions.observability import correlation, logs
from actions.observability.metrics import count_reconciliation
from actions.payments.gateway import daraja_for, paystack_for
from actions.payments.mpesa import meaning_of
from actions.runtime import Runtime

log = logging.getLogger("payments.reconcile")


@dataclass(frozen=True)
class Checked:
    payment_id: int
    applied: Applied | None  # None: the provider still had no answer (or could not be asked)
    reason: str  # what to tell the customer, as a response key suffix: "mpesa_paid", "expired", …
    correlation_id: str | None = None  # of the conversation turn that started the payment, when known


async def check_due(rt: Runtime, limit: int = 20) -> list[Checked]:
    async with rt.uow() as uow:
        due = await uow.payments.claim_due(limit, rt.payments.backoff_seconds)
        await uow.commit()
    return [await check_one(rt, item) for item in due]


async def check_one(rt: Runtime, due: DueCheck) -> Checked:
    """Ask about one payment, logging under the correlation id of the turn that started it."""
    payment = due.payment
    origin = await correlation.of_payment(rt.redis, payment)
    with logs.bind(correlation_id=origin, payment_id=payment.id, provider=payment.provider):
        checked = await _check(rt, due)
        await count_reconciliation(rt.redis, payment.provider, _outcome(checked))
        return replace(checked, correlation_id=correlation.current())


def _outcome(checked: Checked) -> str:
    """The metric's label: the status a check settled on, else what happened ("pending", "duplicate", …)."""
    if checked.applied is None:
        return "pending"
    return checked.applied.payment.status.value if checked.applied.notify else checked.applied.result


async def _check(rt: Runtime, due: DueCheck) -> Checked:
    payment, settings = due.payment, rt.payments
    outcome, reason, key = None, "", ""
    try:
        if payment.provider == "mpesa":
            outcome, reason, key = await _ask_daraja(rt, payment)
        else:
            outcome, reason, key = await _ask_paystack(rt, payment)
    except Exception as e:  # the provider is down or refused: this counted as a check, the next one will come
        log.warning("payment %s: provider check failed: %s", payment.id, e)
        await count_reconciliation(rt.redis, payment.provider, "provider_error")
    if outcome is None:
        last_check = due.checks_before + 1 >= settings.max_checks
        if not last_check and due.age_minutes < settings.retry_window_minutes:
            return Checked(payment.id, None, "pending")
        outcome, reason, key = PaymentStatus.EXPIRED, "expired", f"expiry:{payment.id}"
    return await _record(rt, payment, outcome, reason, key, "reconciliation")


class ProviderUnreachable(RuntimeError):
    pass


async def refresh(rt: Runtime, payment: payments.Payment) -> Checked:
    """Ask the provider about one payment now (staff pressed "Refresh status"). Unlike the worker's
    checks this never expires a payment: no answer yet leaves it pending."""
    try:
        ask = _ask_daraja if payment.provider == "mpesa" else _ask_paystack
        outcome, reason, key = await ask(rt, payment)
    except Exception as e:
        raise ProviderUnreachable(f"{payment.provider} could not be asked: {e}") from e
    if outcome is None:
        return Checked(payment.id, None, "pending")
    return await _record(rt, payment, outcome, reason, key, "staff_refresh")


async def _record(
    rt: Runtime, payment: payments.Payment, outcome: PaymentStatus, reason: str, key: str, kind: str
) -> Checked:
    event = ProviderEvent(
        provider=payment.provider,
        key=key,
        reference=payment.reference,
        outcome=outcome,
        kind=kind,
        tenant_id=payment.tenant_id,
        expires_order=outcome is PaymentStatus.EXPIRED,
    )
    applied = await payments.record(rt.uow(), event)
    log.info("payment %s, %s: %s (%s)", payment.id, kind, applied.result, reason, extra={"payment_id": payment.id})
    return Checked(payment.id, applied, reason)


async def _ask_daraja(rt: Runtime, payment: payments.Payment) -> tuple[PaymentStatus | None, str, str]:
    async with rt.uow() as uow:
        secret = await uow.tenants.callback_secret(payment.tenant_id)
    result = await daraja_for(rt, payment.tenant_id, secret or "").stk_query(payment.reference)
    if result.pending or result.result_code is None:
        return None, "", ""
    meaning = meaning_of(result.result_code)
    return PaymentStatus(meaning.outcome), meaning.message_key, f"query:{payment.reference}:{result.result_code}"


async def _ask_paystack(rt: Runtime, payment: payments.Payment) -> tuple[PaymentStatus | None, str, str]:
    verification = await paystack_for(rt).verify(payment.reference)
    if verification.settles(payment.amount):
        return PaymentStatus.PAID, "card_paid", f"verify:{payment.reference}:success"
    if verification.status in ("failed", "reversed"):
        return PaymentStatus.FAILED, "card_failed", f"verify:{payment.reference}:{verification.status}"
    return None, "", ""
