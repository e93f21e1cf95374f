"""Reconciliation: asking the provider about payments whose callback never came, or was doubtful.

The worker claims due checks every few seconds (`claim_due`) and checks each (`check`). A pending
payment is asked about `CheckPolicy.max_checks` times with the wait doubling each time, then once
more when the retry window closes; a callback that claims a success (or looks wrong) makes the next
check due at once, and the provider's answer to it is what settles the payment. Only when the
window has closed and the provider still has no final answer does the payment expire and the
order's stock go back on the shelf: never while the provider could still complete it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from actions.commerce import settlement
from actions.commerce.errors import PaymentUnavailable
from actions.commerce.payments import Applied, CheckPolicy, DueCheck, Payment, expiry
from actions.commerce.ports import PaymentProviders, UnitOfWork

log = logging.getLogger("payments.reconcile")


@dataclass(frozen=True)
class Checked:
    payment_id: int
    applied: Applied | None  # None: the provider still had no answer (or could not be asked)
    provider_error: str | None = None  # why the provider could not be asked, when it could not

    @property
    def outcome(self) -> str:
        """For metrics: the status a check settled on, else what happened ("pending", "duplicate", …)."""
        if self.applied is None:
            return "pending"
        return self.applied.payment.status.value if self.applied.notify else self.applied.result.value


async def claim_due(uow: UnitOfWork, policy: CheckPolicy, limit: int = 20) -> list[DueCheck]:
    async with uow:
        due = await uow.payments.claim_due(limit, policy)
        await uow.commit()
        return due


async def check(uow: UnitOfWork, providers: PaymentProviders, policy: CheckPolicy, due: DueCheck) -> Checked:
    """Ask the provider about one claimed payment; an unanswered check after the retry window expires it."""
    payment, error = due.payment, None
    try:
        event = await providers.get(payment.provider).check(payment, "reconciliation")
    except Exception as e:  # the provider is down or refused: this counted as a check, the next one will come
        log.warning("payment %s: provider check failed: %s", payment.id, e)
        event, error = None, str(e)
    if event is None:
        if not policy.gives_up(due.checks_before, due.age):
            return Checked(payment.id, None, error)
        event = expiry(payment)
    applied = await settlement.record(uow, event)
    _log(payment, event.kind, applied)
    return Checked(payment.id, applied, error)


async def refresh(uow: UnitOfWork, providers: PaymentProviders, payment: Payment) -> Checked:
    """Ask the provider about one payment now (staff pressed "Refresh status"). Unlike the worker's
    checks this never expires a payment: no answer yet leaves it pending."""
    try:
        event = await providers.get(payment.provider).check(payment, "staff_refresh")
    except Exception as e:
        raise PaymentUnavailable(f"{payment.provider} could not be asked: {e}") from e
    if event is None:
        return Checked(payment.id, None)
    applied = await settlement.record(uow, event)
    _log(payment, event.kind, applied)
    return Checked(payment.id, applied)


def _log(payment: Payment, kind: str, applied: Applied) -> None:
    notice = applied.notice.value if applied.notice else ""
    log.info("payment %s, %s: %s (%s)", payment.id, kind, applied.result, notice, extra={"payment_id": payment.id})
