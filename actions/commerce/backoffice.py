"""What staff do about payments from the admin pages. Each step is checked against the staff member's
shop and written to the audit log with who did it and why; the customer hears of any payment it ends."""

from __future__ import annotations

from actions.commerce import reconciliation, settlement
from actions.commerce.errors import NotFound, PaymentUnavailable, Refused
from actions.commerce.payments import Payment, PaymentStatus, Recorded, staff_verification
from actions.commerce.ports import PaymentProviders, StaffMember, UnitOfWork

MIN_REASON = 5


async def _payment(uow: UnitOfWork, staff: StaffMember, payment_id: int) -> Payment:
    async with uow:
        payment = await uow.payments.by_id(payment_id)
    if payment is None or payment.tenant_id != staff.tenant_id:  # another shop's payment does not exist here
        raise NotFound(f"payment {payment_id}")
    return payment


async def _audit(uow: UnitOfWork, staff: StaffMember, action: str, subject: str, reason: str = "", **details) -> None:
    async with uow:
        await uow.audit.write(staff, action, subject, reason, **details)
        await uow.commit()


async def refresh_payment(uow: UnitOfWork, providers: PaymentProviders, staff: StaffMember, payment_id: int) -> str:
    """Ask the provider now. A payment the provider says was paid becomes paid, and the customer is told."""
    payment = await _payment(uow, staff, payment_id)
    subject = f"payment:{payment.id}"
    try:
        checked = await reconciliation.refresh(uow, providers, payment)
    except PaymentUnavailable as e:
        await _audit(uow, staff, "refresh_status", subject, result="provider_unreachable")
        raise Refused(f"{payment.provider} could not be reached; try again in a minute ({e})") from e
    result = checked.applied.result.value if checked.applied else "still_pending"
    await _audit(uow, staff, "refresh_status", subject, result=result)
    if checked.applied is None:
        return f"{payment.provider} has no final answer yet: the payment stays pending."
    status = checked.applied.payment.status if checked.applied.payment else payment.status
    return f"{payment.provider} says: {status.value}."


async def mark_verified(
    uow: UnitOfWork, providers: PaymentProviders, staff: StaffMember, payment_id: int, reason: str
) -> str:
    """Staff saw the money arrive (an M-Pesa SMS, the Paystack dashboard): the payment becomes paid."""
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise Refused("Say why you are sure the money arrived (for example the M-Pesa receipt number).")
    payment = await _payment(uow, staff, payment_id)
    if payment.status is not PaymentStatus.PENDING:
        raise Refused(f"This payment already ended as {payment.status.value}; nothing was changed.")
    notice = providers.paid_notice(payment.provider)
    event = staff_verification(payment, reason, staff.email, notice)
    applied = await settlement.record(uow, event)
    await _audit(uow, staff, "mark_verified", f"payment:{payment.id}", reason, result=applied.result.value)
    if applied.result is not Recorded.APPLIED:
        raise Refused(f"Nothing was changed: {applied.result.value.replace('_', ' ')}.")
    return "Marked as paid. The customer is told in the chat."
