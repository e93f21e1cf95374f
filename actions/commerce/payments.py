"""A payment's life: pending until the provider says how it ended; an ending is never undone.

Providers tell us more than once, late, and out of order (a callback after a query, a success
after the retry window closed). Each outcome is applied through `settle`, which decides what
it changes; the storage side makes sure each provider event is applied at most once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from actions.commerce.money import Money

if TYPE_CHECKING:
    from actions.commerce.ports import UnitOfWork


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self is not PaymentStatus.PENDING


@dataclass(frozen=True)
class Settlement:
    status: PaymentStatus
    changed: bool
    needs_review: bool = False


def settle(current: PaymentStatus, outcome: PaymentStatus) -> Settlement:
    """What an outcome does to a payment in `current` state.

    - pending -> any ending: applied.
    - an ending -> anything: kept. A success after a failure, a cancellation or the expiry
      means money arrived for an order we gave up on: kept as it is and flagged for staff,
      never dropped and never applied silently.
    """
    if outcome is PaymentStatus.PENDING or outcome is current:
        return Settlement(current, changed=False)
    if current is PaymentStatus.PENDING:
        return Settlement(outcome, changed=True)
    late_money = outcome is PaymentStatus.PAID and current is not PaymentStatus.PAID
    return Settlement(current, changed=False, needs_review=late_money)


@dataclass(frozen=True)
class Payment:
    id: int
    tenant_id: int
    order_id: int
    provider: str
    reference: str
    status: PaymentStatus
    amount: Money
    needs_review: bool = False


@dataclass(frozen=True)
class DueCheck:
    """A silent pending payment, claimed for one check (its next check is already pushed back)."""

    payment: Payment
    checks_before: int
    age_minutes: float


@dataclass(frozen=True)
class ProviderEvent:
    """One thing a provider told us: `key` is unique per provider and makes a repeat harmless."""

    provider: str
    key: str
    reference: str
    outcome: PaymentStatus
    kind: str
    amount: Money | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    tenant_id: int | None = None  # the merchant whose callback URL it came to, when known
    expires_order: bool = False  # the retry window closed: the order expires and its stock goes back


@dataclass(frozen=True)
class Applied:
    """What recording an event did. `notify` is true exactly once per payment ending."""

    result: str  # "applied", "unchanged", "duplicate", "unknown_payment", "amount_mismatch"
    payment: Payment | None = None

    @property
    def notify(self) -> bool:
        return self.result == "applied"


async def record(uow: UnitOfWork, event: ProviderEvent) -> Applied:
    """Record a provider event and apply its outcome, both in one transaction, at most once.

    The event row goes in first: its unique key makes a concurrent copy of the same delivery
    wait, then find the key taken and change nothing. The payment row is then locked, so two
    different events for one payment are applied one after the other.
    """
    async with uow:
        payment = await uow.payments.by_reference(event.provider, event.reference)
        if payment is not None and event.tenant_id is not None and payment.tenant_id != event.tenant_id:
            payment = None  # another merchant's payment: not this callback's to settle
        if payment is None:
            await uow.payments.add_event(None, event, note="unknown_payment")
            await uow.commit()
            return Applied("unknown_payment")
        if not await uow.payments.add_event(payment.id, event):
            return Applied("duplicate", payment)
        payment = await uow.payments.lock(payment.id)
        if event.outcome is PaymentStatus.PAID and event.amount is not None and event.amount != payment.amount:
            await uow.payments.flag(payment.id)
            await uow.payments.check_now(payment.id)  # ask the provider what really happened
            await uow.commit()
            return Applied("amount_mismatch", payment)
        decision = settle(payment.status, event.outcome)
        if decision.needs_review:
            await uow.payments.flag(payment.id)
        if decision.changed:
            await uow.payments.set_status(payment, decision.status)
            if event.expires_order:
                await uow.orders.expire(payment.order_id)
        await uow.commit()
        updated = replace(payment, status=decision.status)
        return Applied("applied" if decision.changed else "unchanged", updated)


async def record_rejected(uow: UnitOfWork, event: ProviderEvent, reason: str) -> None:
    """Keep a message that failed authentication for staff to review; it changes no payment. If it
    names a payment we know, the provider is asked about that payment at once."""
    async with uow:
        await uow.payments.add_event(None, event, note=reason)
        payment = await uow.payments.by_reference(event.provider, event.reference) if event.reference else None
        if payment is not None and payment.status is PaymentStatus.PENDING:
            await uow.payments.check_now(payment.id)
        await uow.commit()


async def start(
    uow: UnitOfWork,
    order_id: int,
    provider: str,
    reference: str,
    amount: Money,
    phone: str | None = None,
    first_check: timedelta = timedelta(minutes=1),
) -> Payment:
    """A pending payment for an order, known to the provider by `reference`; checked on if the provider is silent."""
    async with uow:
        payment = await uow.payments.add(order_id, provider, reference, amount, phone, first_check)
        await uow.commit()
        return payment
