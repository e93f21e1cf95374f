"""M-Pesa through Safaricom Daraja: STK push and query and the token they need.

Daraja's answer to a push only means "sent to the phone"; the customer's answer comes later in an
unsigned callback, or never. So callers keep the CheckoutRequestID, authenticate callbacks
themselves, and ask `stk_query` when a callback is late or doubtful. Callback parsing and result
codes live in `mpesa_callback` and `mpesa_results`; they are re-exported here so that callers
import one module per provider. `MpesaProvider` is M-Pesa behind the commerce core's
`PaymentProvider` port, and the `*_event` functions turn what Daraja says into ledger events.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx

from actions.commerce.errors import PaymentUnavailable
from actions.commerce.money import Money, exponent
from actions.commerce.payments import (
    CallbackCredentials,
    EventKey,
    Notice,
    Payment,
    PaymentStatus,
    ProviderEvent,
    Rejected,
)
from actions.commerce.phones import normalise_msisdn
from actions.commerce.ports import PaymentAsk, Requested
from actions.payments.accounts import NO_ACCOUNTS, AccountSource
from actions.payments.callbacks import callback_path
from actions.payments.mpesa_callback import KES, MalformedCallback, StkCallback, parse_stk_callback
from actions.payments.mpesa_results import RESULT_CODES, UNKNOWN_RESULT, ResultMeaning, meaning_of
from actions.payments.payloads import storable, whole_number

if TYPE_CHECKING:
    from actions.commerce.shop_accounts import Account
    from actions.settings import Settings

__all__ = [
    "RESULT_CODES",
    "UNKNOWN_RESULT",
    "DarajaClient",
    "DarajaConfig",
    "DarajaError",
    "InvalidStkRequest",
    "MalformedCallback",
    "MpesaProvider",
    "ResultMeaning",
    "StkCallback",
    "StkPushAccepted",
    "StkQueryResult",
    "TokenCache",
    "account_reference",
    "callback_event",
    "meaning_of",
    "nairobi_timestamp",
    "parse_stk_callback",
    "query_event",
    "rejected_callback",
    "stk_password",
    "transaction_desc",
]

TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
ACCOUNT_REFERENCE_LIMIT = 12
TRANSACTION_DESC_LIMIT = 13
INVALID_TOKEN = "404.001.03"
# On a query this code means "the customer has not answered yet", whatever else it means elsewhere.
STILL_PROCESSING = "500.001.1001"


class DarajaError(Exception):
    """Daraja refused a request, or answered something unreadable (code "invalid_response" or "http_<status>")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"Daraja {code}: {message}")
        self.code = code
        self.message = message


class InvalidStkRequest(ValueError):
    """A push Daraja would refuse or misread, stopped before anything is sent."""


@dataclass(frozen=True)
class DarajaConfig:
    base_url: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    shortcode: str
    passkey: str = field(repr=False)
    transaction_type: str
    # Hidden too: its path carries the unguessable token that authenticates callbacks.
    callback_url: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.transaction_type not in TRANSACTION_TYPES:
            raise ValueError(f"transaction_type must be one of {TRANSACTION_TYPES}, got {self.transaction_type!r}")
        if not self.shortcode.isdigit():
            raise ValueError(f"shortcode must be digits, got {self.shortcode!r}")

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """Daraja's Password: base64 of shortcode + passkey + the same Timestamp sent beside it."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode("ascii")


def nairobi_timestamp(now: datetime | None = None) -> str:
    """YYYYMMDDHHmmss on Nairobi's clock, which Daraja expects whatever the server's time zone."""
    now = datetime.now(UTC) if now is None else now
    if now.utcoffset() is None:
        raise ValueError("a naive datetime could be in any time zone; pass an aware one")
    return now.astimezone(ZoneInfo("Africa/Nairobi")).strftime("%Y%m%d%H%M%S")


# --- access tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class TokenCache:
    """One Daraja token per credential set, shared by every client of this process.

    Issuing a token invalidates the previous one, so callers that each fetched their own would
    knock each other's out: one caller fetches under a lock while the others wait for its token.
    """

    def __init__(self, refresh_margin: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._margin = refresh_margin
        self._clock = clock
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def token(self, config: DarajaConfig, http: httpx.AsyncClient) -> str:
        key = (config.url(""), config.consumer_key)
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._tokens.get(key)
            if cached is None or self._clock() >= cached.refresh_at:
                cached = self._tokens[key] = await self._fetch(config, http)
            return cached.value

    async def forget(self, config: DarajaConfig, token: str) -> None:
        """Drop a token Daraja called invalid, unless another caller has already replaced it."""
        key = (config.url(""), config.consumer_key)
        if (cached := self._tokens.get(key)) is not None and cached.value == token:
            del self._tokens[key]

    async def _fetch(self, config: DarajaConfig, http: httpx.AsyncClient) -> _Token:
        asked_at = self._clock()
        response = await http.get(
            config.url("/oauth/v1/generate"),
            params={"grant_type": "client_credentials"},
            auth=(config.consumer_key, config.consumer_secret),
        )
        body = _answer(response)
        value, lifetime = body.get("access_token"), whole_number(body.get("expires_in"))
        if not isinstance(value, str) or not value or lifetime is None or lifetime <= 0:
            raise DarajaError("invalid_response", "token answer without access_token or expires_in")
        # A token living less than twice the margin is still used for half its life.
        return _Token(value, asked_at + max(lifetime - self._margin, lifetime / 2))


# --- STK push and query --------------------------------------------------------------------------


@dataclass(frozen=True)
class StkPushAccepted:
    merchant_request_id: str
    checkout_request_id: str
    customer_message: str


@dataclass(frozen=True)
class StkQueryResult:
    result_code: int | None
    result_desc: str
    pending: bool


class DarajaClient:
    """STK push and query for one shortcode, over the caller's httpx client and shared TokenCache.

    Network failures propagate as httpx errors. A push that timed out may still have reached the
    phone, so callers query (or wait for the callback) before pushing the same order again.
    """

    def __init__(self, config: DarajaConfig, http: httpx.AsyncClient, tokens: TokenCache) -> None:
        self._config = config
        self._http = http
        self._tokens = tokens

    async def stk_push(self, amount: Money, phone: str, account_reference: str, description: str) -> StkPushAccepted:
        """Ask the customer's phone for their PIN. Accepted means sent, not paid: the result comes by callback."""
        shillings = whole_shillings(amount)
        msisdn = normalise_msisdn(phone)
        timestamp = nairobi_timestamp()
        body = await self._post(
            "/mpesa/stkpush/v1/processrequest",
            {
                "BusinessShortCode": int(self._config.shortcode),
                "Password": stk_password(self._config.shortcode, self._config.passkey, timestamp),
                "Timestamp": timestamp,
                "TransactionType": self._config.transaction_type,
                "Amount": str(shillings),
                "PartyA": msisdn,
                "PartyB": self._config.shortcode,
                "PhoneNumber": msisdn,
                "CallBackURL": self._config.callback_url,
                "AccountReference": daraja_text(account_reference, ACCOUNT_REFERENCE_LIMIT, "AccountReference"),
                "TransactionDesc": daraja_text(description, TRANSACTION_DESC_LIMIT, "TransactionDesc"),
            },
        )
        return StkPushAccepted(
            merchant_request_id=_answer_text(body, "MerchantRequestID"),
            checkout_request_id=_answer_text(body, "CheckoutRequestID"),
            customer_message=str(body.get("CustomerMessage", "")),
        )

    async def stk_query(self, checkout_request_id: str) -> StkQueryResult:
        """Where a push stands, for when its callback is late or doubtful; "still processing" is pending."""
        timestamp = nairobi_timestamp()
        try:
            body = await self._post(
                "/mpesa/stkpushquery/v1/query",
                {
                    "BusinessShortCode": self._config.shortcode,
                    "Password": stk_password(self._config.shortcode, self._config.passkey, timestamp),
                    "Timestamp": timestamp,
                    "CheckoutRequestID": checkout_request_id,
                },
            )
        except DarajaError as error:
            if error.code == STILL_PROCESSING:
                return StkQueryResult(result_code=None, result_desc=error.message, pending=True)
            raise
        result_code = whole_number(body.get("ResultCode"))
        if result_code is None:
            raise DarajaError("invalid_response", f"query answer without a readable ResultCode: {body!r}")
        return StkQueryResult(result_code, str(body.get("ResultDesc", "")), pending=False)

    async def _post(self, path: str, payload: dict[str, Any], retry_token: bool = True) -> dict[str, Any]:
        """POST with the shared token; an accepted answer (ResponseCode "0") or DarajaError.

        A token another process replaced is refused once (404.001.03): forget it and try again once.
        """
        token = await self._tokens.token(self._config, self._http)
        response = await self._http.post(
            self._config.url(path), json=payload, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            body = _answer(response)
        except DarajaError as error:
            if error.code != INVALID_TOKEN:
                raise
            await self._tokens.forget(self._config, token)
            if not retry_token:
                raise
            return await self._post(path, payload, retry_token=False)
        if (code := str(body.get("ResponseCode", ""))) != "0":
            raise DarajaError(code or "invalid_response", str(body.get("ResponseDescription", body)))
        return body


def whole_shillings(amount: Money) -> int:
    """Daraja charges whole shillings only: rounding cents away would charge a different amount."""
    if amount.currency != KES:
        raise InvalidStkRequest(f"M-Pesa charges in KES, not {amount.currency}")
    shillings, cents = divmod(amount.minor, 10 ** exponent(KES))
    if cents:
        raise InvalidStkRequest(f"M-Pesa charges whole shillings, {amount} has cents")
    if shillings < 1:
        raise InvalidStkRequest(f"M-Pesa charges at least KES 1, not {amount}")
    return shillings


DARAJA_TEXT = re.compile(r"[A-Za-z0-9\-]+( [A-Za-z0-9\-]+)*")


def fits_daraja(text: str, limit: int) -> bool:
    """Letters, digits, single spaces and '-', within the limit: Daraja fails silently on anything else."""
    return len(text) <= limit and DARAJA_TEXT.fullmatch(text) is not None


def daraja_text(text: str, limit: int, name: str) -> str:
    """The text as it is, or InvalidStkRequest: cutting or cleaning it would change what it says."""
    if not fits_daraja(text, limit):
        raise InvalidStkRequest(f"{name} {text!r} is not {limit} letters, digits, spaces or '-' at most")
    return text


def account_reference(order_number: str) -> str:
    """What the customer's prompt shows as the account: the whole order number, or none of it."""
    return order_number if fits_daraja(order_number, ACCOUNT_REFERENCE_LIMIT) else "Order"


def transaction_desc(order_number: str) -> str:
    """The push's description: "Order ORD-1042" when it fits, shorter wordings when not, never a cut number."""
    for text in (f"Order {order_number}", f"Pay {order_number}", order_number):
        if fits_daraja(text, TRANSACTION_DESC_LIMIT):
            return text
    return "Order payment"


def _answer(response: httpx.Response) -> dict[str, Any]:
    """Daraja's JSON answer, or DarajaError for its documented error shape and for anything unreadable."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "errorCode" in body:
        raise DarajaError(str(body["errorCode"]), str(body.get("errorMessage", "")))
    if response.is_error or not isinstance(body, dict):
        raise DarajaError(f"http_{response.status_code}", response.text[:200])
    return body


def _answer_text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise DarajaError("invalid_response", f"answer without {key}: {body!r}")
    return value


# --- ledger events and the provider port ---------------------------------------------------------


def callback_event(callback: StkCallback, payload: dict[str, Any], credentials: CallbackCredentials) -> ProviderEvent:
    """A callback that came to a callback URL of ours. Unsigned, so its success is a claim: it counts
    with its Amount and MpesaReceiptNumber, and once Daraja's answer to a query agrees."""
    meaning = callback.meaning
    return ProviderEvent(
        provider=MpesaProvider.name,
        key=EventKey.mpesa_callback(callback.result_code),
        reference=callback.checkout_request_id,
        outcome=meaning.outcome,
        kind="stk_callback",
        amount=callback.amount,
        payload=payload,
        tenant_id=credentials.tenant_id,
        notice=meaning.notice,
        needs_confirmation=True,
        receipt=callback.receipt,
        credentials=credentials,
    )


def query_event(payment: Payment, result_code: int, kind: str) -> ProviderEvent:
    """A final answer to an STK query about `payment`; a prompt that expired ends the order too."""
    meaning = meaning_of(result_code)
    return ProviderEvent(
        provider=MpesaProvider.name,
        key=EventKey.mpesa_query(result_code),
        reference=payment.reference,
        outcome=meaning.outcome,
        kind=kind,
        tenant_id=payment.tenant_id,
        notice=meaning.notice,
        expires_order=meaning.outcome is PaymentStatus.EXPIRED,
    )


def rejected_callback(raw_body: bytes, reason: str, source_address: str, tenant_id: int | None = None) -> Rejected:
    """A callback the ledger does not take (a URL we never gave out, an unknown checkout, an unreadable
    body), kept for staff as it came (bounded by the body size limit)."""
    try:
        reference = parse_stk_callback(raw_body).checkout_request_id
    except MalformedCallback:
        reference = ""
    return Rejected(MpesaProvider.name, reason, source_address, storable(raw_body), reference, tenant_id)


def callback_url(public_base_url: str, tenant_id: int, secret: str, nonce: str) -> str:
    return public_base_url + callback_path(tenant_id, secret, nonce)


class MpesaProvider:
    """STK push for an order, STK query for a silent payment: with the shop's own till or paybill when it
    has one (`AccountSource`), else the platform's Daraja account; a payment's query uses the account
    its push did."""

    name = "mpesa"
    paid_notice = Notice.MPESA_PAID
    unconfigured = "M-Pesa is not configured (MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET, MPESA_PASSKEY)"

    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, tokens: TokenCache, accounts: AccountSource | None = None
    ) -> None:
        self._settings = settings
        self._http = http
        self._tokens = tokens
        self._accounts = accounts or NO_ACCOUNTS

    @property
    def configured(self) -> bool:
        return self._settings.mpesa_configured

    def config(self, account: Account | None = None, callback: str = "") -> DarajaConfig:
        """The Daraja account of a shop (its own), or the platform's when `account` is None."""
        s = self._settings
        if account is None:
            if not self.configured:
                raise PaymentUnavailable(self.unconfigured)
            key, secret, shortcode, passkey = (
                s.mpesa_consumer_key,
                s.mpesa_consumer_secret,
                s.mpesa_shortcode,
                s.mpesa_passkey,
            )
            kind = s.mpesa_transaction_type
        else:
            key, secret, passkey = (account.secrets[n] for n in ("consumer_key", "consumer_secret", "passkey"))
            shortcode, kind = account.settings["shortcode"], account.transaction_type
        return DarajaConfig(
            base_url=s.mpesa_base_url, consumer_key=key, consumer_secret=secret, shortcode=shortcode,
            passkey=passkey, transaction_type=kind, callback_url=callback,
        )  # fmt: skip

    def client(self, callback: str = "", account: Account | None = None) -> DarajaClient:
        return DarajaClient(self.config(account, callback), self._http, self._tokens)

    async def request(self, ask: PaymentAsk) -> Requested:
        if ask.phone is None:
            raise PaymentUnavailable("no M-Pesa number for this customer")
        if not ask.callback_secret or not ask.callback_nonce:
            raise PaymentUnavailable(f"{ask.tenant.slug} has no M-Pesa callback secret, or the payment no nonce")
        order = ask.order
        callback = callback_url(self._settings.public_base_url, ask.tenant.id, ask.callback_secret, ask.callback_nonce)
        account = await self._accounts.current(ask.tenant.id, self.name)
        try:
            accepted = await self.client(callback, account).stk_push(
                order.total,
                ask.phone,
                account_reference=account_reference(order.number),
                description=transaction_desc(order.number),
            )
        except PaymentUnavailable:
            raise
        except Exception as e:  # network errors, Daraja refusals, a number Daraja would refuse
            raise PaymentUnavailable(str(e)) from e
        return Requested(accepted.checkout_request_id, account_id=account.id if account else None)

    async def check(self, payment: Payment, kind: str) -> ProviderEvent | None:
        account = await self._accounts.by_id(payment.account_id) if payment.account_id else None
        result = await self.client(account=account).stk_query(payment.reference)
        if result.pending or result.result_code is None:
            return None
        return query_event(payment, result.result_code, kind)

    async def test_connection(self, account: Account) -> str:
        """Ask Daraja for a token with the account's consumer key and secret: what it said, without secrets.
        (Daraja checks the shortcode and passkey only on a push.)"""
        config = self.config(account)
        await TokenCache(refresh_margin=0)._fetch(config, self._http)
        return f"Daraja accepted the consumer key and secret (shortcode {config.shortcode})."
