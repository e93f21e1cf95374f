"""Paystack: start and verify a transaction, and authenticate and read its webhooks.

Paystack sends webhooks for successful charges only, so failed and abandoned payments are found
by calling `verify`. A webhook is believed only after `verify_signature` on the raw bytes, and
deliveries repeat: deduplicate on `event_key`, since Paystack sends no event id. `PaystackProvider`
is Paystack behind the commerce core's `PaymentProvider` port.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from actions.commerce.errors import PaymentUnavailable
from actions.commerce.money import Money, MoneyError
from actions.commerce.payments import EventKey, Notice, Payment, PaymentStatus, ProviderEvent
from actions.commerce.ports import PaymentAsk, Requested
from actions.payments.payloads import MalformedPayload, Refusal, json_object, member

if TYPE_CHECKING:
    from actions.settings import Settings

DEFAULT_BASE_URL = "https://api.paystack.co"
# Paystack's alphabet, with at least one letter or digit so that "." and ".." never reach a URL path.
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


@dataclass(frozen=True)
class PaystackEvent:
    event: str
    reference: str
    amount: Money
    status: str
    event_key: str


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


def parse_webhook(raw_body: bytes) -> PaystackEvent:
    """A webhook's event, to be read only after its signature was verified."""
    payload = json_object(raw_body, "webhook", MalformedWebhook)
    event = member(payload, "event", str, "webhook", MalformedWebhook)
    data = member(payload, "data", dict, "webhook", MalformedWebhook)
    reference = member(data, "reference", str, "data", MalformedWebhook)
    return PaystackEvent(
        event=event,
        reference=reference,
        amount=_money(data, "data", MalformedWebhook),
        status=member(data, "status", str, "data", MalformedWebhook),
        event_key=EventKey.paystack_webhook(event, reference),
    )


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


def webhook_event(webhook: PaystackEvent, payload: dict[str, Any]) -> ProviderEvent:
    """A signed charge.success webhook."""
    return ProviderEvent(
        provider=PaystackProvider.name,
        key=webhook.event_key,
        reference=webhook.reference,
        outcome=PaymentStatus.PAID,
        kind=webhook.event,
        amount=webhook.amount,
        payload=payload,
        notice=Notice.CARD_PAID,
    )


def verify_event(payment: Payment, verification: PaystackVerification, kind: str) -> ProviderEvent | None:
    """What verify says about `payment`, when it is final: paid (for exactly its amount) or failed."""
    if verification.settles(payment.amount):
        outcome, notice = PaymentStatus.PAID, Notice.CARD_PAID
    elif verification.status in ("failed", "reversed"):
        outcome, notice = PaymentStatus.FAILED, Notice.CARD_FAILED
    else:
        return None
    return ProviderEvent(
        provider=PaystackProvider.name,
        key=EventKey.paystack_verify(
            payment.reference, "success" if outcome is PaymentStatus.PAID else verification.status
        ),
        reference=payment.reference,
        outcome=outcome,
        kind=kind,
        tenant_id=payment.tenant_id,
        notice=notice,
    )


class PaystackProvider:
    """A card payment link for an order, verify for a silent payment, with the platform's Paystack account."""

    name = "paystack"
    paid_notice = Notice.CARD_PAID
    unconfigured = "card payments are not configured (PAYSTACK_SECRET_KEY)"

    def __init__(self, settings: Settings, http: httpx.AsyncClient, tokens: object = None) -> None:
        self._settings = settings
        self._http = http

    @property
    def configured(self) -> bool:
        return self._settings.paystack_configured

    def client(self) -> PaystackClient:
        return PaystackClient(self._settings.paystack_secret_key, self._http, self._settings.paystack_base_url)

    async def request(self, ask: PaymentAsk) -> Requested:
        reference = new_reference(ask.order.number)
        email = f"{ask.customer_id}@{self._settings.paystack_email_domain}"  # WhatsApp customers give no e-mail
        try:
            initialized = await self.client().initialize(ask.order.total, email, reference, ask.order.id)
        except Exception as e:
            raise PaymentUnavailable(str(e)) from e
        return Requested(reference, initialized.authorization_url)

    async def check(self, payment: Payment, kind: str) -> ProviderEvent | None:
        return verify_event(payment, await self.client().verify(payment.reference), kind)
