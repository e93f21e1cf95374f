"""A payment's life: pending until the provider says how it ended; an ending is never undone.

Providers tell us more than once, late, and out of order (a callback after a query, a success
after the retry window closed). Each outcome arrives as a `ProviderEvent`, is applied through
`settle`, which decides what it changes, and is recorded at most once under a key that names its
payment (`EventKey`; `actions.commerce.settlement.record`).

Money is believed on evidence only. An unsigned M-Pesa callback that says "paid" is a claim
(`ProviderEvent.needs_confirmation`): it is kept, and the payment becomes paid when Daraja's own
answer to an STK query agrees. Messages that fail authentication or name no payment of ours never
reach the ledger: they are kept apart, capped (`Rejected`, `RejectCaps`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
    REJECTED = "rejected"  # the callback's URL is not the one given for that payment: nothing recorded
    AMOUNT_MISMATCH = "amount_mismatch"  # a success for another amount: flagged, the provider is asked
    NO_EVIDENCE = "no_evidence"  # a claimed success without its amount or receipt: flagged, the provider is asked
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # a claimed success with its evidence: the provider is asked
    FLAGGED = "flagged"  # a refund, dispute or reversal: recorded, and the payment needs a person


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
    # The per-payment secret in its M-Pesa callback URL (None for card payments and older ones).
    callback_nonce: str | None = field(default=None, repr=False)
    account_id: int | None = None  # the shop's own account it was asked with; None: the platform's


# Providers whose request is a prompt on the customer's phone that can still be answered while the
# payment is pending: an order is not cancelled under such a prompt (the money could still come).
PROMPT_PROVIDERS = frozenset({"mpesa"})

# How long an M-Pesa STK prompt can stay open on a phone before Daraja ends it (1037 or 1019): about
# a minute or two; the retry window must be longer, or the worker could expire a payment still payable.
PROMPT_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class CheckPolicy:
    """When a silent payment's provider is asked, and when we stop asking.

    The first check comes `first_check` after the request; each later one waits `backoff` times
    1, 2, 4, 8…, for `max_checks` checks; then one last check when `retry_window` has passed since
    the request. A payment is never expired while the provider could still complete it: only a
    provider's answer ends it early, and a payment the provider still has no answer for expires at
    the first check after the window (so the window must outlast an M-Pesa prompt, PROMPT_LIFETIME).
    """

    first_check: timedelta = timedelta(minutes=1)
    backoff: timedelta = timedelta(minutes=1)
    max_checks: int = 5
    retry_window: timedelta = timedelta(hours=1)

    def delay_after(self, checks_before: int) -> timedelta:
        return self.backoff * 2**checks_before

    def next_check_in(self, checks_before: int, age: timedelta) -> timedelta:
        """When to ask again after the check now being made (`checks_before` came before it), for a
        payment `age` old: the doubling wait, never past the window's end; after the last regular
        check, at the window's end."""
        left = max(self.retry_window - age, timedelta(0))
        if checks_before + 1 >= self.max_checks:
            return left
        return min(self.delay_after(checks_before), left)

    def gives_up(self, checks_before: int, age: timedelta) -> bool:
        """Whether a check made now that gets no final answer ends the payment: only once the window has closed."""
        return age >= self.retry_window


@dataclass(frozen=True)
class DueCheck:
    """A silent pending payment, claimed for one check (its next check is already pushed back)."""

    payment: Payment
    checks_before: int
    age: timedelta


class EventKey:
    """The ledger's keys, one place for all, so a repeated delivery is harmless.

    An adapter names an event among its payment's events ("callback:0", "charge.success"); the ledger
    keeps it under `ledger(provider, payment id, that name)`, e.g. `mpesa:callback:42:0`. Only an event
    for a payment we know reaches the ledger, so another shop's callback, or one that arrives before
    its payment row is committed, can never use up the key of the genuine one."""

    @staticmethod
    def mpesa_callback(result_code: int) -> str:
        return f"callback:{result_code}"

    @staticmethod
    def mpesa_query(result_code: int) -> str:
        return f"query:{result_code}"

    @staticmethod
    def paystack_webhook(event: str, discriminator: str = "") -> str:
        """`discriminator` tells apart two events of one name about one payment (two refunds, say)."""
        return f"{event}:{discriminator}" if discriminator else event

    @staticmethod
    def paystack_verify(status: str) -> str:
        return f"verify:{status}"

    @staticmethod
    def staff_verification() -> str:
        return "manual"

    @staticmethod
    def expiry() -> str:
        return "expiry"

    @staticmethod
    def ledger(provider: str, payment_id: int, key: str) -> str:
        """(`mpesa`, 42, `callback:0`) -> `mpesa:callback:42:0`; (`paystack`, 7, `charge.success`) ->
        `paystack:charge.success:7`."""
        head, _, rest = key.partition(":")
        return ":".join(part for part in (provider, head, str(payment_id), rest) if part)


@dataclass(frozen=True)
class ProviderEvent:
    """One thing a provider (or staff, or the clock) told us about a payment, as the ledger keeps it.

    Built by the provider adapters in `actions.payments` (and, for staff and the expiry, below).
    `key` names the event among its payment's events (see EventKey); `notice` is what the customer
    is told if this event ends the payment."""

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
    # An unsigned claim (an M-Pesa callback): a success counts only with its evidence and once the
    # provider confirms it when asked. Queries, verify, signed webhooks and staff are not claims.
    needs_confirmation: bool = False
    receipt: str | None = None  # the provider's receipt for the money (M-Pesa's MpesaReceiptNumber)
    flags: bool = False  # a refund, a dispute, a reversal: whatever it changes, a person must look
    credentials: CallbackCredentials | None = None  # what the URL of an unsigned callback said


@dataclass(frozen=True)
class CallbackSecrets:
    """A shop's secret for the M-Pesa callback URL, the one before its last rotation, and when that was."""

    current: str | None = field(repr=False)
    previous: str | None = field(default=None, repr=False)
    rotated_at: datetime | None = None


def _same(given: str | None, stored: str | None) -> bool:
    """Constant time for the length of what was given; None never matches."""
    if given is None or stored is None:
        return False
    return hmac.compare_digest(given.encode(), stored.encode())


@dataclass(frozen=True)
class CallbackCredentials:
    """What an unsigned callback's URL says: `/<tenant id>.<shop secret>/<payment nonce>`.

    Daraja signs nothing, so the URL is the credential. The shop's secret must be its current one or
    the one before its last rotation (a payment keeps the URL it was given, so a rotation loses no
    callback in flight), and the nonce must be the payment's own, so a leaked URL settles no other
    payment. A payment asked for before nonces existed (nonce None) is admitted on the shop's secret."""

    tenant_id: int
    shop_secret: str = field(repr=False)
    nonce: str | None = field(default=None, repr=False)

    def shop_admits(self, secrets: CallbackSecrets | None) -> bool:
        if secrets is None:
            return False
        current, previous = _same(self.shop_secret, secrets.current), _same(self.shop_secret, secrets.previous)
        return current or previous

    def admit(self, payment: Payment, secrets: CallbackSecrets | None) -> bool:
        if payment.tenant_id != self.tenant_id or not self.shop_admits(secrets):
            return False
        if payment.callback_nonce is None:
            return self.nonce is None
        return _same(self.nonce, payment.callback_nonce)


@dataclass(frozen=True)
class Rejected:
    """A message the ledger does not take: it failed authentication (a forged callback URL, a bad
    signature), could not be read, or names no payment of ours (an unknown reference, a transfer).
    Kept apart for staff, never counted as a check, never making one due."""

    provider: str
    reason: str  # bad_token, bad_nonce, bad_signature, malformed, unknown_payment, not_a_payment
    source_address: str
    payload: dict[str, Any]
    reference: str = ""
    tenant_id: int | None = None
    signed: bool = False  # authenticated by its signature: always kept, whatever the caps


@dataclass(frozen=True)
class RejectCaps:
    """How many unauthenticated messages are kept per hour, from one source address and from all;
    the rest are counted only, so a flood of forged bodies cannot fill the database."""

    per_address_per_hour: int = 20
    per_hour: int = 500


def staff_verification(payment: Payment, reason: str, staff_email: str, notice: Notice) -> ProviderEvent:
    """Staff saw the money arrive another way (the till's SMS, the Paystack dashboard)."""
    return ProviderEvent(
        provider=payment.provider,
        key=EventKey.staff_verification(),
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
        key=EventKey.expiry(),
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
