"""What staff can do from the admin pages. Each action is checked against the staff member's shop
and written to the audit log with who did it and why."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, update

from actions import jobs, rasa_api
from actions.admin import store
from actions.admin.sessions import StaffSession
from actions.commerce import payments
from actions.commerce.payments import Applied, Payment, PaymentStatus, ProviderEvent
from actions.db import tables as t
from actions.payments import reconcile
from actions.runtime import Runtime

MIN_REASON = 5


class NotFound(LookupError):
    pass


class Refused(ValueError):
    """The action makes no sense now; the message says why and nothing was changed."""


@dataclass(frozen=True)
class Done:
    message: str


async def _payment(rt: Runtime, staff: StaffSession, payment_id: int) -> Payment:
    async with rt.uow() as uow:
        payment = await uow.payments.by_id(payment_id)
    if payment is None or payment.tenant_id != staff.tenant_id:  # another shop's payment does not exist here
        raise NotFound(f"payment {payment_id}")
    return payment


async def _audit(rt: Runtime, staff: StaffSession, action: str, subject: str, reason: str = "", **details) -> None:
    async with rt.sessions() as session, session.begin():
        await store.write_audit(session, staff.tenant_id, staff.user_id, action, subject, reason, **details)


async def _tell_customer(rt: Runtime, applied: Applied, reason: str) -> None:
    if applied.notify and applied.payment is not None:
        job_id = jobs.notify_job_id(applied.payment)
        await jobs.enqueue(rt, "notify_payment", applied.payment.id, reason, job_id=job_id)


async def refresh_payment(rt: Runtime, staff: StaffSession, payment_id: int) -> Done:
    """Ask the provider now. A payment the provider says was paid becomes paid, and the customer is told."""
    payment = await _payment(rt, staff, payment_id)
    try:
        checked = await reconcile.refresh(rt, payment)
    except reconcile.ProviderUnreachable as e:
        await _audit(rt, staff, "refresh_status", f"payment:{payment.id}", result="provider_unreachable")
        raise Refused(f"{payment.provider} could not be reached; try again in a minute ({e})") from e
    result = checked.applied.result if checked.applied else "still_pending"
    await _audit(rt, staff, "refresh_status", f"payment:{payment.id}", result=result)
    if checked.applied is None:
        return Done(f"{payment.provider} has no final answer yet: the payment stays pending.")
    await _tell_customer(rt, checked.applied, checked.reason)
    status = checked.applied.payment.status if checked.applied.payment else payment.status
    return Done(f"{payment.provider} says: {status.value}.")


async def mark_verified(rt: Runtime, staff: StaffSession, payment_id: int, reason: str) -> Done:
    """Staff saw the money arrive (an M-Pesa SMS, the Paystack dashboard): the payment becomes paid."""
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise Refused("Say why you are sure the money arrived (for example the M-Pesa receipt number).")
    payment = await _payment(rt, staff, payment_id)
    if payment.status is not PaymentStatus.PENDING:
        raise Refused(f"This payment already ended as {payment.status.value}; nothing was changed.")
    event = ProviderEvent(
        provider=payment.provider,
        key=f"manual:{payment.id}",
        reference=payment.reference,
        outcome=PaymentStatus.PAID,
        kind="manual_verification",
        payload={"reason": reason, "staff": staff.email},
        tenant_id=payment.tenant_id,
    )
    applied = await payments.record(rt.uow(), event)
    await _audit(rt, staff, "mark_verified", f"payment:{payment.id}", reason, result=applied.result)
    if applied.result != "applied":
        raise Refused(f"Nothing was changed: {applied.result.replace('_', ' ')}.")
    await _tell_customer(rt, applied, "mpesa_paid" if payment.provider == "mpesa" else "card_paid")
    return Done("Marked as paid. The customer is told in the chat.")


async def hand_back(rt: Runtime, staff: StaffSession, handoff_id: int) -> Done:
    """The bot answers the customer again; the conversation leaves the waiting list."""
    async with rt.sessions() as session:
        handoff = await session.get(t.Handoff, handoff_id)
    if handoff is None or handoff.tenant_id != staff.tenant_id or handoff.resolved_at is not None:
        raise NotFound(f"hand-off {handoff_id}")
    try:
        await rasa_api.resume(rt.http, rt.payments.rasa_url, rt.payments.rasa_token, handoff.conversation_id)
    except rasa_api.RasaUnreachable as e:
        raise Refused(f"The bot could not be reached, the conversation is still waiting: {e}") from e
    async with rt.sessions() as session, session.begin():
        await session.execute(
            update(t.Handoff)
            .where(t.Handoff.id == handoff_id, t.Handoff.resolved_at.is_(None))
            .values(resolved_at=func.now(), resolved_by=staff.user_id)
        )
        await store.write_audit(
            session, staff.tenant_id, staff.user_id, "hand_back", f"conversation:{handoff.conversation_id}"[:64], ""
        )
    return Done("Handed back: the bot answers this customer again.")
