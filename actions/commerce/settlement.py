"""Hearing from a provider: record what it said once, apply it to the payment and its order, tell the customer.

Every path that can end a payment (a callback, a webhook, the worker's check, staff) goes through
`record`, so exactly-once lives here and in the ledger's unique key, nowhere else.
"""

from __future__ import annotations

from dataclasses import replace

from actions.commerce import orders
from actions.commerce.model import OrderStatus
from actions.commerce.payments import Applied, Notice, PaymentStatus, ProviderEvent, Recorded, settle
from actions.commerce.ports import Jobs, UnitOfWork


async def record(uow: UnitOfWork, event: ProviderEvent) -> Applied:
    """Record a provider event and apply its outcome, both in one transaction, at most once.

    The event row goes in first: its unique key makes a concurrent copy of the same delivery
    wait, then find the key taken and change nothing. The payment row is then locked, so two
    different events for one payment are applied one after the other; the order is locked after
    its payment, never before, wherever both are locked.
    """
    async with uow:
        payment = await uow.payments.by_reference(event.provider, event.reference)
        if payment is not None and event.tenant_id is not None and payment.tenant_id != event.tenant_id:
            payment = None  # another merchant's payment: not this callback's to settle
        if payment is None:
            await uow.payments.add_event(None, event, note=Recorded.UNKNOWN_PAYMENT)
            await uow.commit()
            return Applied(Recorded.UNKNOWN_PAYMENT)
        if not await uow.payments.add_event(payment.id, event):
            return Applied(Recorded.DUPLICATE, payment)
        payment = await uow.payments.lock(payment.id)
        if event.outcome is PaymentStatus.PAID and event.amount is not None and event.amount != payment.amount:
            await uow.payments.flag(payment.id)
            await uow.payments.check_now(payment.id)  # ask the provider what really happened
            await uow.commit()
            return Applied(Recorded.AMOUNT_MISMATCH, payment)
        decision = settle(payment.status, event.outcome)
        if decision.needs_review:
            await uow.payments.flag(payment.id)
        notice, flagged = event.notice, payment.needs_review or decision.needs_review
        if decision.changed:
            await uow.payments.set_status(payment, decision.status)
            if not await _follow_on_order(uow, payment.order_id, decision.status, event.expires_order):
                await uow.payments.flag(payment.id)  # money for an order that ended meanwhile: staff decide
                notice, flagged = Notice.PAID_FOR_ENDED_ORDER, True
        await uow.commit()
        updated = replace(payment, status=decision.status, needs_review=flagged)
        if not decision.changed:
            return Applied(Recorded.UNCHANGED, updated)
        return Applied(Recorded.APPLIED, updated, notice)


async def _follow_on_order(uow: UnitOfWork, order_id: int, status: PaymentStatus, expires_order: bool) -> bool:
    """An order becomes paid because its payment did. It expires (stock back) when we stopped waiting for
    its payment; a failed or cancelled prompt leaves it waiting, so the customer can pay again.

    False when money arrived for an order that is no longer waiting for it (cancelled or expired)."""
    if status is not PaymentStatus.PAID and not expires_order:
        return True
    order = await uow.orders.get(order_id, for_update=True)
    if order is None or order.status is not OrderStatus.PENDING_PAYMENT:
        return status is not PaymentStatus.PAID  # an expiry after the order ended meanwhile changes nothing
    if status is PaymentStatus.PAID:
        await uow.orders.set_status(order.id, OrderStatus.PAID)
    else:
        await orders.give_back(uow, order, OrderStatus.EXPIRED)
    return True


async def record_and_tell(
    uow: UnitOfWork, jobs: Jobs, event: ProviderEvent, correlation_id: str | None = None
) -> Applied:
    """`record`, then, if the event ended the payment, queue the customer's message about it."""
    applied = await record(uow, event)
    if applied.notify and applied.payment is not None and applied.notice is not None:
        await jobs.tell_customer(applied.payment, applied.notice, correlation_id)
    return applied


async def record_rejected(uow: UnitOfWork, event: ProviderEvent, note: str) -> None:
    """Keep a message that failed authentication for staff to review; it changes no payment. If it
    names a payment we know, the provider is asked about that payment at once."""
    async with uow:
        await uow.payments.add_event(None, event, note=note)
        payment = await uow.payments.by_reference(event.provider, event.reference) if event.reference else None
        if payment is not None and payment.status is PaymentStatus.PENDING:
            await uow.payments.check_now(payment.id)
        await uow.commit()
