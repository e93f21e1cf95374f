"""Paystack: start and verify a transaction, and authenticate and read its webhooks.

Paystack sends charge webhooks for successful charges only, so failed and abandoned payments are
found by calling `verify`. A webhook is believed only after `verify_signature` on the raw bytes, and
deliveries repeat: deduplicate on `event_key`, since Paystack sends no event id. Every signed event
is kept: charge.success settles its payment (for exactly its amount and currency), refunds and
disputes (`data.transaction_reference`) flag theirs for staff, and events about no payment of ours
(`transfer.*`, names we do not know) are kept apart. `PaystackProvider` is Paystack behind the
commerce core's `PaymentProvider` port.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from actions.commerce.errors import PaymentUnavailable
from actions.commerce.money import Money, MoneyError
from actions.commerce.payments import EventKey, Notice, Payment, PaymentStatus, ProviderEvent, Rejected
from actions.commerce.ports import PaymentAsk, Requested
from actions.payments.accounts import NO_ACCOUNTS, AccountSource
from actions.payments.payloads import MAX_TEXT, MalformedPayload, Refusal, json_object, member, storable

if TYPE_CHECKING:
    from actions.commerce.shop_accounts import Account
    from actions.settings import Settings

DEFAULT_BASE_URL = "https://api.paystack.co"
# Paystack's alphabet, with at least one letter or digit so that "." and ".." never reach a URL path.
MAX_EVENT_NAME = 64  # the ledger's kind column; with a discriminator the key still fits its 200
REFERENCE = re.compile(r"[A-Za-z0-9.=\-]*[A-Za-z0-9][A-Za-z0-9.=\-]*")


class PaystackError(Exception):
    """Paystack refused a request (a reused reference, an unknown one, a bad key) or answered unreadably."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(f"Paystack: {message}" + (f" (HTTP {status_code})" if status_code else ""))
        self.message = message
        self.status_code = status_code


class MalformedWebhook(MalformedPayload):
    """A webhook body without the documented shape."""


@dataclass(frozen=True)
class PaystackInit:
    authorization_url: str
    access_code: str
    reference: str


@dataclass(frozen=True)
class PaystackVerification:
    status: str
    amount: Money
    reference: str
    paid: bool

    def settles(self, expected: Money) -> bool:
        """Deliver only on success for exactly the amount and currency the order expects."""
        return self.paid and self.amount == expected


# Events that mean a person must look at the payment, whatever else they say.
REVIEW_EVENTS = ("refund.", "charge.dispute.")


@dataclass(frozen=True)
class PaystackEvent:
    event: str
    reference: str | None  # the transaction (our payment's reference) it is about; None: about no payment
    amount: Money | None  # charge.success: what was paid
    status: str | None
    event_key: str  # its name among its payment's events (EventKey.paystack_webhook)

    @property
    def needs_review(self) -> bool:
        return self.event.startswith(REVIEW_EVENTS)


class PaystackClient:
    """Paystack's transaction API over the caller's httpx client. Network failures propagate as httpx errors."""

    def __init__(self, secret_key: str, http: httpx.AsyncClient, base_url: str = DEFAULT_BASE_URL) -> None:
        if not secret_key:
            raise ValueError("a Paystack secret key is required")
        self._secret_key = secret_key
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def initialize(
        self, amount: Money, email: str, reference: str, order_id: int, callback_url: str | None = None
    ) -> PaystackInit:
        """Open a checkout for the customer to follow; the order id rides along in metadata for the webhook."""
        if amount.minor <= 0:
            raise ValueError(f"cannot ask Paystack for {amount}")
        payload: dict[str, Any] = {
            "email": email,
            "amount": amount.minor,  # Money's minor unit is Paystack's subunit: kobo, pesewas, cents
            "currency": amount.currency,
            "reference": checked_reference(reference),
            "metadata": {"order_id": order_id},
        }
        if callback_url is not None:
            payload["callback_url"] = callback_url
        data = await self._call("POST", "/transaction/initialize", payload)
        return PaystackInit(
            authorization_url=_answer(data, "authorization_url", str),
            access_code=_answer(data, "access_code", str),
            reference=_answer(data, "reference", str),
        )

    async def verify(self, reference: str) -> PaystackVerification:
        """The transaction as Paystack sees it; the only word on failed and abandoned payments."""
        data = await self._call("GET", f"/transaction/verify/{checked_reference(reference)}")
        status = _answer(data, "status", str)
        return PaystackVerification(
            status=status,
            amount=_money(data, "data", PaystackError),
            reference=_answer(data, "reference", str),
            paid=status == "success",
        )

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self._http.request(
            method, self._base_url + path, json=payload, headers={"Authorization": f"Bearer {self._secret_key}"}
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise PaystackError(f"unreadable answer {response.text[:200]!r}", response.status_code)
        if response.is_error or body.get("status") is not True:
            raise PaystackError(str(body.get("message", "request refused")), response.status_code)
        return member(body, "data", dict, "answer", PaystackError)


def new_reference(order_number: str) -> str:
    """A fresh reference per payment attempt: Paystack refuses a reused one, and an order may take several."""
    prefix = re.sub(r"[^A-Za-z0-9\-]", "", order_number).strip("-")[:24] or "order"
    return f"{prefix}-{secrets.token_hex(8)}"


def checked_reference(reference: str) -> str:
    if not REFERENCE.fullmatch(reference):
        raise ValueError(f"{reference!r} is not a Paystack reference (letters, digits, '-', '.', '=')")
    return reference


def verify_signature(raw_body: bytes, signature_header: str | None, secret_key: str) -> bool:
    """True only for the hex HMAC-SHA512 of these exact bytes: re-serialised JSON would not match."""
    if not secret_key:
        raise ValueError("cannot check a signature without the secret key")
    if not signature_header or not signature_header.isascii():
        return False
    expected = hmac.new(secret_key.encode(), raw_body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, signature_header)


def parse_webhook(raw_body: bytes | dict) -> PaystackEvent:
    """A webhook's event, to be read only after its signature was verified.

    charge.success: `data.reference`, `data.amount`, `data.currency`, `data.status` are required.
    refund.*: about `data.transaction_reference`, one event per `data.refund_reference`.
    charge.dispute.*: about `data.transaction_reference` (or `data.transaction.reference`).
    transfer.*: about no payment. Any other name: about `data.reference` or
    `data.transaction_reference` if it has one. Only a charge needs more than `{event, data}`."""
    payload = json_object(raw_body, "webhook", MalformedWebhook)
    event = member(payload, "event", str, "webhook", MalformedWebhook, MAX_EVENT_NAME)
    data = member(payload, "data", dict, "webhook", MalformedWebhook)
    if event == "charge.success":
        return PaystackEvent(
            event=event,
            reference=member(data, "reference", str, "data", MalformedWebhook, MAX_TEXT),
            amount=_money(data, "data", MalformedWebhook),
            status=member(data, "status", str, "data", MalformedWebhook),
            event_key=EventKey.paystack_webhook(event),
        )
    status = data.get("status") if isinstance(data.get("status"), str) else None
    if event.startswith("transfer."):
        return PaystackEvent(event, None, None, status, EventKey.paystack_webhook(event, _text(data, "reference")))
    if event.startswith("refund."):
        reference = member(data, "transaction_reference", (str, int), "data", MalformedWebhook, MAX_TEXT)
        refund = _text(data, "refund_reference") or _text(data, "id") or _digest(data)
        return PaystackEvent(event, str(reference), None, status, EventKey.paystack_webhook(event, refund))
    transaction = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
    reference = _text(data, "transaction_reference") or _text(transaction, "reference")
    if event.startswith("charge.dispute."):
        if reference is None:
            raise MalformedWebhook(f"{event}: data has no transaction_reference")
    else:
        reference = _text(data, "reference") or reference
    # One key per distinct body: a redelivery is the same event, a later reminder is another.
    return PaystackEvent(event, reference, None, status, EventKey.paystack_webhook(event, _digest(data)))


def _text(data: dict[str, Any], key: str) -> str | None:
    """A reference Paystack may send as text or as a number; None when absent, blank or too long to be one."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if text and len(text) <= MAX_TEXT else None


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _answer(data: dict[str, Any], key: str, kind: type) -> Any:
    return member(data, key, kind, "data", PaystackError)


def _money(data: dict[str, Any], where: str, error: Refusal) -> Money:
    amount = member(data, "amount", int, where, error)
    currency = member(data, "currency", str, where, error)
    try:
        return Money(amount, currency)
    except MoneyError as exc:
        raise error(f"{where}: {exc}") from None


# --- ledger events and the provider port ---------------------------------------------------------


def webhook_event(webhook: PaystackEvent, payload: dict[str, Any]) -> ProviderEvent | None:
    """A signed webhook about one of our transactions, as a ledger event; None when it is about no
    payment (a transfer). charge.success settles (record checks its amount and currency against the
    payment); refunds and disputes change no status but flag the payment; other events are kept."""
    if webhook.reference is None:
        return None
    paid = webhook.event == "charge.success" and webhook.status == "success"
    return ProviderEvent(
        provider=PaystackProvider.name,
        key=webhook.event_key,
        reference=webhook.reference,
        outcome=PaymentStatus.PAID if paid else PaymentStatus.PENDING,
        kind=webhook.event,
        amount=webhook.amount,
        payload=payload,
        notice=Notice.CARD_PAID if paid else None,
        flags=webhook.needs_review,
    )


def rejected_webhook(
    raw_body: bytes, reason: str, source_address: str, signed: bool, reference: str | None = None
) -> Rejected:
    """A webhook the ledger does not take: a bad signature, an unreadable body, or one about no payment
    of ours. A signed one is kept whatever the caps (Paystack retries anything but a 200 for 72 hours)."""
    return Rejected(PaystackProvider.name, reason, source_address, storable(raw_body), reference or "", signed=signed)


def customer_email(tenant_id: int, customer_id: str, key: str, domain: str) -> str:
    """The e-mail Paystack requires, for a customer who gave none (WhatsApp): stable for the customer,
    valid, and without their phone number, as a keyed hash of who they are."""
    digest = hmac.new(key.encode(), f"{tenant_id}:{customer_id}".encode(), hashlib.sha256).hexdigest()
    return f"c{digest[:32]}@{domain}"


def verify_event(payment: Payment, verification: PaystackVerification, kind: str) -> ProviderEvent | None:
    """What verify says about `payment`, when it is final: paid (for exactly its amount and currency)
    or failed; a reversal (money taken, then given back) is also flagged for staff. A success for
    another amount or currency is kept as such (record flags it and settles nothing)."""
    if verification.paid:
        outcome, notice = PaymentStatus.PAID, Notice.CARD_PAID
    elif verification.status in ("failed", "reversed"):
        outcome, notice = PaymentStatus.FAILED, Notice.CARD_FAILED
    else:
        return None
    return ProviderEvent(
        provider=PaystackProvider.name,
        key=EventKey.paystack_verify(verification.status),
        reference=payment.reference,
        outcome=outcome,
        kind=kind,
        amount=verification.amount,
        tenant_id=payment.tenant_id,
        notice=notice,
        flags=verification.status == "reversed",
    )


class PaystackProvider:
    """A card payment link for an order, verify for a silent payment: with the shop's own Paystack key when
    it has one (`AccountSource`), else the platform's; a payment's verify and webhooks use the key it was
    asked with."""

    name = "paystack"
    paid_notice = Notice.CARD_PAID
    unconfigured = "card payments are not configured (PAYSTACK_SECRET_KEY)"

    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, tokens: object = None, accounts: AccountSource | None = None
    ) -> None:
        self._settings = settings
        self._http = http
        self._accounts = accounts or NO_ACCOUNTS

    @property
    def configured(self) -> bool:
        return self._settings.paystack_configured

    def secret_key(self, account: Account | None = None) -> str:
        if account is not None:
            return account.secrets["secret_key"]
        if not self.configured:
            raise PaymentUnavailable(self.unconfigured)
        return self._settings.paystack_secret_key

    def client(self, account: Account | None = None) -> PaystackClient:
        return PaystackClient(self.secret_key(account), self._http, self._settings.paystack_base_url)

    async def webhook_key(self, account_id: int | None) -> str:
        """The key a webhook about a payment asked with this account is signed with (None: the platform's)."""
        return self.secret_key(await self._accounts.by_id(account_id) if account_id else None)

    async def request(self, ask: PaymentAsk) -> Requested:
        reference = new_reference(ask.order.number)
        s = self._settings
        account = await self._accounts.current(ask.tenant.id, self.name)
        client = self.client(account)
        email = customer_email(ask.tenant.id, ask.customer_id, s.paystack_email_key, s.paystack_email_domain)
        try:
            initialized = await client.initialize(ask.order.total, email, reference, ask.order.id)
        except Exception as e:
            raise PaymentUnavailable(str(e)) from e
        return Requested(reference, initialized.authorization_url, account.id if account else None)

    async def check(self, payment: Payment, kind: str) -> ProviderEvent | None:
        account = await self._accounts.by_id(payment.account_id) if payment.account_id else None
        return verify_event(payment, await self.client(account).verify(payment.reference), kind)

    async def test_connection(self, account: Account) -> str:
        """Ask Paystack about a reference that does not exist: "not found" means the key was accepted."""
        try:
            await self.client(account).verify(new_reference("test"))
        except PaystackError as e:
            if e.status_code in (400, 404):
                return "Paystack accepted the secret key."
            raise
        return "Paystack accepted the secret key."


def claimed_reference(raw_body: bytes) -> str | None:
    """The transaction an unverified webhook says it is about, to choose the key its signature is checked
    with; None when unreadable or about no transaction (then the platform's key)."""
    try:
        return parse_webhook(raw_body).reference
    except MalformedWebhook:
        return None
