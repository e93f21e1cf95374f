"""Hearing from a provider: record what it said once, apply it to the payment and its order, tell the customer.

Every path that can end a payment (a callback, a webhook, the worker's check, staff) goes through
`record`, so exactly-once lives here and in the ledger's unique key, nowhere else. Its effects
(the order paid or its stock released, the payment flagged for staff, the customer's message as
a job in the outbox) are written in the transaction that records the event: all of them or none. What the ledger
does not take (forged or unreadable messages, messages about no payment of ours) goes through
`record_rejected`, which changes no payment.
"""

from __future__ import annotations

from dataclasses import replace

from actions.commerce import orders
from actions.commerce.model import OrderStatus
from actions.commerce.payments import (
    Applied,
    CallbackCredentials,
    EventKey,
    Notice,
    Payment,
    PaymentStatus,
    ProviderEvent,
    Recorded,
    RejectCaps,
    Rejected,
    settle,
)
from actions.commerce.ports import UnitOfWork


async def record(uow: UnitOfWork, event: ProviderEvent, correlation_id: str | None = None) -> Applied:
    """Record a provider event and apply its outcome, both in one transaction, at most once; an event
    that ends the payment also queues the customer's message about it, in that same transaction
    (under `correlation_id`, else the one of the turn that started the payment).

    Only an event about a payment we know is recorded, under a key naming that payment, and an
    unsigned callback only when its URL is the one given for that payment (UNKNOWN_PAYMENT and
    REJECTED write nothing: the caller keeps such messages with `record_rejected`).

    A delivery whose key the ledger already holds is answered from the payment's read, without a
    write. Otherwise the event row goes in first, and the payment row is locked with it (one statement):
    the unique key makes a concurrent copy of the same delivery wait, then find the key taken and change
    nothing; the lock makes two different events for one payment apply one after the other. The order is
    locked after its payment, never before, wherever both are locked. What the event changes in the
    payment is one write.

    A success is applied only on evidence: an unsigned callback's success is kept and makes the
    payment's next provider check due at once (AWAITING_CONFIRMATION); the provider's own answer to
    that check settles it. A success for another amount, or a claimed one without its amount or
    receipt, is kept, flagged for staff, and checked on the same way; it never settles.
    """
    async with uow:
        found, recorded = await uow.payments.by_reference_with_keys(event.provider, event.reference) or (None, ())
        if found is not None and event.tenant_id is not None and found.tenant_id != event.tenant_id:
            found = None  # another merchant's payment: not this callback's to settle
        if found is None:
            return Applied(Recorded.UNKNOWN_PAYMENT)
        if event.credentials is not None and not event.credentials.admit(
            found, await uow.tenants.callback_secrets(found.tenant_id)
        ):
            return Applied(Recorded.REJECTED)
        if EventKey.ledger(event.provider, found.id, event.key) in recorded:
            return Applied(Recorded.DUPLICATE, found)  # a repeated delivery: answered without a write
        if (payment := await uow.payments.record_event(found.id, event)) is None:
            return Applied(Recorded.DUPLICATE, found)  # a concurrent copy took the key first
        if event.outcome is PaymentStatus.PAID and (doubt := _doubt(event, payment)) is not None:
            flag = event.flags or doubt is not Recorded.AWAITING_CONFIRMATION  # a success we cannot believe
            check_now = payment.status is PaymentStatus.PENDING  # ask the provider what really happened
            await uow.payments.update(payment.id, flag=flag, check_now=check_now)
            await uow.commit()
            return Applied(doubt, replace(payment, needs_review=payment.needs_review or flag))
        decision = settle(payment.status, event.outcome)
        notice, flag = event.notice, event.flags or decision.needs_review
        if decision.changed and not await _follow_on_order(uow, payment.order_id, decision.status, event.expires_order):
            notice, flag = Notice.PAID_FOR_ENDED_ORDER, True  # money for an order that ended meanwhile: staff decide
        await uow.payments.update(payment.id, status=decision.status if decision.changed else None, flag=flag)
        updated = replace(payment, status=decision.status, needs_review=payment.needs_review or flag)
        if decision.changed and notice is not None:
            await uow.outbox.tell_customer(updated, notice, correlation_id)
        await uow.commit()
        if not decision.changed:
            return Applied(Recorded.FLAGGED if event.flags else Recorded.UNCHANGED, updated)
        return Applied(Recorded.APPLIED, updated, notice)


def _doubt(event: ProviderEvent, payment: Payment) -> Recorded | None:
    """Why a success does not settle the payment by itself; None when it does."""
    if event.amount is not None and event.amount != payment.amount:
        return Recorded.AMOUNT_MISMATCH
    if not event.needs_confirmation:
        return None  # the provider's own answer (a query, verify, a signed webhook) or staff
    if event.amount is None or not event.receipt:
        return Recorded.NO_EVIDENCE
    if payment.status is not PaymentStatus.PENDING:
        return None  # it ended already: `settle` keeps the ending (and flags money after a failure)
    return Recorded.AWAITING_CONFIRMATION


async def _follow_on_order(uow: UnitOfWork, order_id: int, status: PaymentStatus, expires_order: bool) -> bool:
    """An order becomes paid because its payment did. It expires (stock back) when we stopped waiting for
    its payment; a failed or cancelled prompt leaves it waiting, so the customer can pay again.

    False when money arrived for an order that is no longer waiting for it (cancelled or expired)."""
    if status is not PaymentStatus.PAID and not expires_order:
        return True
    if status is PaymentStatus.PAID:  # only its status changes: its lines need not be read
        return await uow.orders.move(order_id, OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)
    order = await uow.orders.get(order_id, for_update=True)
    if order is not None and order.status is OrderStatus.PENDING_PAYMENT:
        await orders.give_back(uow, order, OrderStatus.EXPIRED)
    return True  # an expiry after the order ended meanwhile changes nothing


async def callback_shop_known(uow: UnitOfWork, credentials: CallbackCredentials) -> bool:
    """Whether an unsigned callback's URL names a shop of ours with its secret (current or previous);
    its payment's nonce is checked when the callback is recorded."""
    async with uow:
        return credentials.shop_admits(await uow.tenants.callback_secrets(credentials.tenant_id))


async def account_of(uow: UnitOfWork, provider: str, reference: str | None) -> int | None:
    """The shop's own account a payment was asked with (None: the platform's, or no such payment): a
    webhook about it is checked with that account's key before anything in it is believed."""
    if not reference:
        return None
    async with uow:
        found = await uow.payments.by_reference_with_keys(provider, reference)
    return found[0].account_id if found else None


async def record_rejected(uow: UnitOfWork, message: Rejected, caps: RejectCaps) -> bool:
    """Keep a message the ledger does not take, for staff to review, apart from the ledger. It changes
    no payment, counts as no check and makes none due, whatever payment it names: forged bodies
    cannot hurry or end a payment. An unsigned one is kept only under the caps (False: just counted)."""
    async with uow:
        kept = await uow.rejected.keep(message, caps)
        await uow.commit()
        return kept
