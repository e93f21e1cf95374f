"""A payment's life: pending until the provider says how it ended; an ending is never undone.

Providers tell us more than once, late, and out of order (a callback after a query, a success
after the retry window closed). Each outcome arrives as a `ProviderEvent` with a key unique per
provider (`EventKey`), is applied through `settle`, which decides what it changes, and is
recorded at most once (`actions.commerce.settlement.record`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from actions.commerce.money import Money


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Notice(StrEnum):
    """What the customer is told when a payment ends: the suffix of a reply in domain.yml."""

    MPESA_PAID = "mpesa_paid"
    MPESA_INSUFFICIENT_FUNDS = "mpesa_insufficient_funds"
    MPESA_DUPLICATE_REQUEST = "mpesa_duplicate_request"
    MPESA_EXPIRED = "mpesa_expired"
    MPESA_PUSH_ERROR = "mpesa_push_error"
    MPESA_CANCELLED = "mpesa_cancelled"
    MPESA_UNREACHABLE = "mpesa_unreachable"
    MPESA_WRONG_PIN = "mpesa_wrong_pin"
    MPESA_FAILED = "mpesa_failed"
    CARD_PAID = "card_paid"
    CARD_FAILED = "card_failed"
    EXPIRED = "expired"
    PAID_FOR_ENDED_ORDER = "paid_for_ended_order"  # the truth: the money came, the order had ended; staff decide


class Recorded(StrEnum):
    """What recording a provider event did."""

    APPLIED = "applied"  # the payment ended with this event
    UNCHANGED = "unchanged"  # a true event that changes nothing (the payment had already ended)
    DUPLICATE = "duplicate"  # this very event was recorded before
    UNKNOWN_PAYMENT = "unknown_payment"  # no payment of ours (or not this merchant's) has that reference
    AMOUNT_MISMATCH = "amount_mismatch"  # a success for another amount: flagged, the provider is asked


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
class CheckPolicy:
    """When a silent payment's provider is asked, and when we stop asking.

    The first check comes `first_check` after the request; each later one waits `backoff` times
    1, 2, 4, 8… After `max_checks` checks, or once `retry_window` has passed since the request,
    a payment the provider still has no answer for expires.
    """

    first_check: timedelta = timedelta(minutes=1)
    backoff: timedelta = timedelta(minutes=1)
    max_checks: int = 5
    retry_window: timedelta = timedelta(hours=1)

    def delay_after(self, checks_before: int) -> timedelta:
        return self.backoff * 2**checks_before

    def gives_up(self, checks_before: int, age: timedelta) -> bool:
        """Whether the check about to be made, still without an answer, is the last one."""
        return checks_before + 1 >= self.max_checks or age >= self.retry_window


@dataclass(frozen=True)
class DueCheck:
    """A silent pending payment, claimed for one check (its next check is already pushed back)."""

    payment: Payment
    checks_before: int
    age: timedelta


class EventKey:
    """The ledger's keys, one place for all: unique per provider, so a repeated delivery is harmless."""

    @staticmethod
    def mpesa_callback(checkout_request_id: str, result_code: int) -> str:
        return f"callback:{checkout_request_id}:{result_code}"

    @staticmethod
    def mpesa_query(checkout_request_id: str, result_code: int) -> str:
        return f"query:{checkout_request_id}:{result_code}"

    @staticmethod
    def paystack_webhook(event: str, reference: str) -> str:
        return f"{event}:{reference}"

    @staticmethod
    def paystack_verify(reference: str, status: str) -> str:
        return f"verify:{reference}:{status}"

    @staticmethod
    def staff_verification(payment_id: int) -> str:
        return f"manual:{payment_id}"

    @staticmethod
    def expiry(payment_id: int) -> str:
        return f"expiry:{payment_id}"

    @staticmethod
    def rejected(raw_body: bytes) -> str:
        return "rejected:" + hashlib.sha256(raw_body).hexdigest()


@dataclass(frozen=True)
class ProviderEvent:
    """One thing a provider (or staff, or the clock) told us about a payment, as the ledger keeps it.

    Built by the provider adapters in `actions.payments` (and, for staff and the expiry, below);
    `notice` is what the customer is told if this event ends the payment."""

    provider: str
    key: str
    reference: str
    outcome: PaymentStatus
    kind: str
    amount: Money | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    tenant_id: int | None = None  # the merchant whose callback URL it came to, when known
    notice: Notice | None = None
    expires_order: bool = False  # we stopped waiting (the checks ran out): the order expires, its stock goes back


def staff_verification(payment: Payment, reason: str, staff_email: str, notice: Notice) -> ProviderEvent:
    """Staff saw the money arrive another way (the till's SMS, the Paystack dashboard)."""
    return ProviderEvent(
        provider=payment.provider,
        key=EventKey.staff_verification(payment.id),
        reference=payment.reference,
        outcome=PaymentStatus.PAID,
        kind="manual_verification",
        payload={"reason": reason, "staff": staff_email},
        tenant_id=payment.tenant_id,
        notice=notice,
    )


def expiry(payment: Payment) -> ProviderEvent:
    """The provider never answered and the checks ran out."""
    return ProviderEvent(
        provider=payment.provider,
        key=EventKey.expiry(payment.id),
        reference=payment.reference,
        outcome=PaymentStatus.EXPIRED,
        kind="reconciliation",
        tenant_id=payment.tenant_id,
        notice=Notice.EXPIRED,
        expires_order=True,
    )


@dataclass(frozen=True)
class Applied:
    """What recording an event did. `notify` is true exactly once per payment ending."""

    result: Recorded
    payment: Payment | None = None
    notice: Notice | None = None

    @property
    def notify(self) -> bool:
        return self.result is Recorded.APPLIED
