"""A local stand-in for Safaricom Daraja (M-Pesa STK push) and Paystack, for development and tests.

Run it with `.venv/bin/python -m devstack.simulator` and point the real clients at it
(`DarajaConfig(base_url=...)`, `PaystackClient(..., base_url=...)`). Everything lives in memory.

Environment:
    SIMULATOR_PORT             port on 127.0.0.1 (default 8090)
    PAYSTACK_SECRET_KEY        the Bearer key Paystack calls must carry, and the webhook signing key
                               (default "sk_test_simulator")
    PAYSTACK_WEBHOOK_URL       where charge.success webhooks are POSTed (unset: logged, not sent)
    SIMULATOR_CALLBACK_DELAY   seconds from an STK push to its callback and to its decided outcome (default 1.0)
    SIMULATOR_LATE_DELAY       seconds before a "late" callback is sent (default 20)
    WHATSAPP_ACCESS_TOKEN      the Bearer token the fake Graph API (devstack/fake_graph.py) expects
    SIMULATOR_PAYSTACK_AUTOPAY seconds after initialize when a checkout pays itself (default 2.0; 0 = never)
    SIMULATOR_PUBLIC_URL       base of the checkout links (default: the Host the request came to)

M-Pesa outcomes, chosen by the LAST FOUR DIGITS of the STK push's PhoneNumber:

    ====== ================================================================================
    ends   what happens
    ====== ================================================================================
    1032   cancelled by the customer: callback ResultCode 1032
    2001   wrong PIN: callback ResultCode 2001
    0001   insufficient funds: callback ResultCode 1
    1037   phone unreachable: callback ResultCode 1037
    0000   no callback at all; the query reports success once the callback delay has passed
    2222   duplicate callbacks: the same success callback is sent 3 times concurrently
    3333   late callback: success, but the callback comes after SIMULATOR_LATE_DELAY
           (the query already reports success after the callback delay)
    other  success: callback ResultCode 0 with Amount, MpesaReceiptNumber, TransactionDate, PhoneNumber
    ====== ================================================================================

For example 0708 371 032 is cancelled, 0708 370 000 never calls back, 0712 345 678 pays.
Until the outcome is decided (SIMULATOR_CALLBACK_DELAY after the push) the query answers
500.001.1001 "The transaction is being processed".

Paystack: `POST /transaction/initialize` answers an authorization_url pointing at this simulator's
`GET /paystack/checkout/<reference>`, a page with a Pay button (`POST /paystack/checkout/<reference>/pay`).
Paying marks the transaction "success" for `GET /transaction/verify/<reference>` and sends a signed
charge.success webhook (x-paystack-signature = hex HMAC-SHA512 of the raw body with the secret key).

Several merchants: `POST /simulator/accounts` with `{"mpesa": [{"consumer_key", "consumer_secret",
"shortcode", "passkey"}], "paystack": ["sk_test_…"]}` (or the same JSON in SIMULATOR_ACCOUNTS) registers
shops' own accounts, refused the way Daraja and Paystack refuse wrong credentials: a registered consumer key
with another secret gets no token (400.008.01), its token pushes and queries only for its own shortcode
(400.002.02 Invalid BusinessShortCode) with its own passkey (500.001.1001 Wrong credentials); a
registered Paystack key is accepted beside PAYSTACK_SECRET_KEY, sees only its own transactions, and
their webhooks are signed with it. Consumer keys nobody registered are taken with any secret, shortcode
and passkey (the platform's dev account), as before.

`GET /simulator/log` lists every callback and webhook sent: url, status (the answer's status code,
null when the request failed or was not sent), body, and kind.

`GET /simulator/record` is the provider's own books: every STK push (its CheckoutRequestID, amount,
callback URL, result code, and whether it completed: paid, as the query reports once decided) and
every Paystack transaction (reference, amount, currency, whether it was paid). The fault suite
(devstack/faults.py) audits the shop's database against it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import html
import itertools
import json
import logging
import os
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import html as html_response
from sanic.response import json as json_response

from devstack import fake_graph

log = logging.getLogger("devstack.simulator")

NAIROBI = ZoneInfo("Africa/Nairobi")
TOKEN_LIFETIME = 3599
TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
MSISDN = re.compile(r"254[17]\d{8}")
REFERENCE = re.compile(r"[A-Za-z0-9.=\-]+")
PAYSTACK_CURRENCIES = {"NGN": 2, "GHS": 2, "ZAR": 2, "KES": 2, "USD": 2, "EGP": 2, "RWF": 0, "XOF": 0}
SEND_TIMEOUT = 10.0


@dataclass(frozen=True)
class SimulatorConfig:
    paystack_secret_key: str = field(default="sk_test_simulator", repr=False)
    paystack_webhook_url: str | None = None
    callback_delay: float = 1.0
    late_delay: float = 20.0
    paystack_autopay: float = 2.0
    public_url: str | None = None
    whatsapp_access_token: str | None = field(default=None, repr=False)
    app_name: str = "payment-simulator"
    accounts: str = field(default="", repr=False)  # SIMULATOR_ACCOUNTS: shops' own accounts, JSON

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SimulatorConfig:
        env = os.environ if environ is None else environ
        return cls(
            paystack_secret_key=env.get("PAYSTACK_SECRET_KEY") or "sk_test_simulator",
            paystack_webhook_url=env.get("PAYSTACK_WEBHOOK_URL") or None,
            callback_delay=float(env.get("SIMULATOR_CALLBACK_DELAY") or 1.0),
            late_delay=float(env.get("SIMULATOR_LATE_DELAY") or 20.0),
            paystack_autopay=float(env.get("SIMULATOR_PAYSTACK_AUTOPAY") or 2.0),
            public_url=env.get("SIMULATOR_PUBLIC_URL") or None,
            whatsapp_access_token=env.get("WHATSAPP_ACCESS_TOKEN") or None,
            accounts=env.get("SIMULATOR_ACCOUNTS") or "",
        )


# --- outcomes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    result_code: int
    result_desc: str
    callbacks: int = 1  # how many identical callbacks are sent at once; 0 = none
    late: bool = False


SUCCESS_DESC = "The service request is processed successfully."
SUCCESS = Outcome(0, SUCCESS_DESC)
OUTCOMES = {
    "1032": Outcome(1032, "Request cancelled by user"),
    "2001": Outcome(2001, "The initiator information is invalid."),
    "0001": Outcome(1, "The balance is insufficient for the transaction."),
    "1037": Outcome(1037, "DS timeout user cannot be reached"),
    "0000": Outcome(0, SUCCESS_DESC, callbacks=0),
    "2222": Outcome(0, SUCCESS_DESC, callbacks=3),
    "3333": Outcome(0, SUCCESS_DESC, late=True),
}


def outcome_for(phone: str) -> Outcome:
    return OUTCOMES.get(phone[-4:], SUCCESS)


# --- state -----------------------------------------------------------------------------------------


@dataclass
class StkPush:
    merchant_request_id: str
    checkout_request_id: str
    shortcode: str
    amount: int
    phone: str
    callback_url: str
    outcome: Outcome
    decided_at: float  # time.monotonic() from which the query knows the outcome
    receipt: str
    transaction_date: int
    consumer_key: str = ""


@dataclass
class PaystackTransaction:
    id: int
    reference: str
    access_code: str
    amount: int
    currency: str
    email: str
    metadata: Any
    callback_url: str | None
    created_at: datetime
    customer_id: int
    customer_code: str
    authorization_code: str
    signature: str
    paid_at: datetime | None = None
    secret_key: str = field(default="", repr=False)  # the account it belongs to: signs its webhooks

    @property
    def status(self) -> str:
        return "success" if self.paid_at is not None else "ongoing"


@dataclass
class State:
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # consumer key -> (token, expires_at)
    pushes: dict[str, StkPush] = field(default_factory=dict)
    transactions: dict[str, PaystackTransaction] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    tasks: set[asyncio.Task] = field(default_factory=set)
    ids: itertools.count = field(default_factory=lambda: itertools.count(4_099_260_516 + secrets.randbelow(10**6)))
    http: httpx.AsyncClient | None = None
    mpesa_accounts: dict[str, dict[str, str]] = field(default_factory=dict)  # consumer key -> registered account
    paystack_keys: set[str] = field(default_factory=set)

    def valid_token(self, token: str) -> bool:
        return self.token_owner(token) is not None

    def token_owner(self, token: str) -> str | None:
        """The consumer key a live token was issued to."""
        now = time.monotonic()
        for key, (current, expires) in self.tokens.items():
            if hmac.compare_digest(token, current) and now < expires:
                return key
        return None

    def register(self, accounts: dict[str, Any]) -> None:
        for account in accounts.get("mpesa") or []:
            self.mpesa_accounts[account["consumer_key"]] = {k: str(account[k]) for k in (
                "consumer_key", "consumer_secret", "shortcode", "passkey")}  # fmt: skip
        self.paystack_keys.update(accounts.get("paystack") or [])


# --- helpers ---------------------------------------------------------------------------------------


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _request_id() -> str:
    """Like Daraja's "2654-4b64-97ff-b827b542881d3130"."""
    hexdigits = string.hexdigits[:16]
    parts = (_random(hexdigits, 4), _random(hexdigits, 4), _random(hexdigits, 4), _random(hexdigits, 12))
    return "-".join(parts) + _random(string.digits, 4)


def _nairobi_now() -> datetime:
    return datetime.now(NAIROBI)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def daraja_error(status: int, code: str, message: str, request_id: str | None = None) -> HTTPResponse:
    return json_response(
        {"requestId": request_id or _request_id(), "errorCode": code, "errorMessage": message}, status=status
    )


def invalid_field(name: str) -> HTTPResponse:
    return daraja_error(400, "400.002.02", f"Bad Request - Invalid {name}")


def paystack_error(status: int, message: str) -> HTTPResponse:
    return json_response({"status": False, "message": message}, status=status)


def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _bearer(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (key, secret) if sep and key and secret else None


def _digits(value: object) -> str | None:
    """A field Daraja takes as a number or as text: its digits, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    return None


def _timestamp(value: object) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{14}", value):
        return None
    try:
        datetime.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return value


def _password_fits(password: object, shortcode: str, timestamp: str) -> bool:
    """We cannot know the passkey: the decoded Password must start with the shortcode and end with the Timestamp."""
    if not isinstance(password, str) or not password:
        return False
    try:
        decoded = base64.b64decode(password, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    return (
        len(decoded) > len(shortcode) + len(timestamp) and decoded.startswith(shortcode) and decoded.endswith(timestamp)
    )


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode("ascii")


def _short_text(value: object, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= limit


def _callback_url(value: object) -> bool:
    return isinstance(value, str) and re.match(r"https?://[^\s/]+", value) is not None


def _major(amount: int, currency: str) -> str:
    places = PAYSTACK_CURRENCIES.get(currency, 2)
    return f"{currency} {amount / 10**places:,.{places}f}"


# --- payloads --------------------------------------------------------------------------------------


def stk_callback_body(push: StkPush) -> dict[str, Any]:
    stk: dict[str, Any] = {
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": push.outcome.result_code,
        "ResultDesc": push.outcome.result_desc,
    }
    if push.outcome.result_code == 0:
        stk["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": float(push.amount)},
                {"Name": "MpesaReceiptNumber", "Value": push.receipt},
                {"Name": "TransactionDate", "Value": push.transaction_date},
                {"Name": "PhoneNumber", "Value": int(push.phone)},
            ]
        }
    return {"Body": {"stkCallback": stk}}


def _fees(txn: PaystackTransaction) -> int:
    return min(txn.amount * 15 // 1000 + (10_000 if txn.currency == "NGN" and txn.amount >= 250_000 else 0), 200_000)


def verify_data(txn: PaystackTransaction) -> dict[str, Any]:
    paid = txn.paid_at is not None
    paid_at = _iso(txn.paid_at) if txn.paid_at else None
    created_at = _iso(txn.created_at)
    spent = int((txn.paid_at - txn.created_at).total_seconds()) if txn.paid_at else 0
    return {
        "id": txn.id,
        "domain": "test",
        "status": txn.status,
        "reference": txn.reference,
        "receipt_number": None,
        "amount": txn.amount,
        "message": None,
        "gateway_response": "Successful" if paid else "The transaction is ongoing",
        "paid_at": paid_at,
        "created_at": created_at,
        "channel": "card",
        "currency": txn.currency,
        "ip_address": "127.0.0.1",
        "metadata": txn.metadata if txn.metadata is not None else "",
        "log": {
            "start_time": int(txn.created_at.timestamp()),
            "time_spent": spent,
            "attempts": 1 if paid else 0,
            "errors": 0,
            "success": paid,
            "mobile": False,
            "input": [],
            "history": (
                [
                    {"type": "action", "message": "Attempted to pay with card", "time": max(spent - 1, 0)},
                    {"type": "success", "message": "Successfully paid with card", "time": spent},
                ]
                if paid
                else []
            ),
        },
        "fees": _fees(txn) if paid else None,
        "fees_split": None,
        "authorization": {
            "authorization_code": txn.authorization_code,
            "bin": "408408",
            "last4": "4081",
            "exp_month": "12",
            "exp_year": "2030",
            "channel": "card",
            "card_type": "visa ",
            "bank": "TEST BANK",
            "country_code": "NG",
            "brand": "visa",
            "reusable": True,
            "signature": txn.signature,
            "account_name": None,
        }
        if paid
        else {},
        "customer": {
            "id": txn.customer_id,
            "first_name": None,
            "last_name": None,
            "email": txn.email,
            "customer_code": txn.customer_code,
            "phone": None,
            "metadata": None,
            "risk_action": "default",
            "international_format_phone": None,
        },
        "plan": None,
        "split": {},
        "order_id": None,
        "paidAt": paid_at,
        "createdAt": created_at,
        "requested_amount": txn.amount,
        "pos_transaction_data": None,
        "source": None,
        "fees_breakdown": None,
        "connect": None,
        "transaction_date": created_at,
        "plan_object": {},
        "subaccount": {},
    }


def charge_success_body(txn: PaystackTransaction) -> dict[str, Any]:
    assert txn.paid_at is not None
    spent = int((txn.paid_at - txn.created_at).total_seconds())
    return {
        "event": "charge.success",
        "data": {
            "id": txn.id,
            "domain": "test",
            "status": "success",
            "reference": txn.reference,
            "amount": txn.amount,
            "message": None,
            "gateway_response": "Approved by Financial Institution",
            "paid_at": _iso(txn.paid_at),
            "created_at": _iso(txn.created_at),
            "channel": "card",
            "currency": txn.currency,
            "ip_address": "127.0.0.1",
            "metadata": txn.metadata if txn.metadata is not None else 0,
            "log": {
                "time_spent": spent,
                "attempts": 1,
                "authentication": "pin",
                "errors": 0,
                "success": True,
                "mobile": False,
                "input": [],
                "channel": None,
                "history": [
                    {
                        "type": "input",
                        "message": "Filled these fields: card number, card expiry, card cvv",
                        "time": max(spent - 1, 0),
                    },
                    {"type": "action", "message": "Attempted to pay", "time": max(spent - 1, 0)},
                    {"type": "success", "message": "Successfully paid", "time": spent},
                ],
            },
            "fees": _fees(txn),
            "customer": {
                "id": txn.customer_id,
                "first_name": "Simulated",
                "last_name": "Customer",
                "email": txn.email,
                "customer_code": txn.customer_code,
                "phone": None,
                "metadata": None,
                "risk_action": "default",
            },
            "authorization": {
                "authorization_code": txn.authorization_code,
                "bin": "408408",
                "last4": "4081",
                "exp_month": "12",
                "exp_year": "2030",
                "card_type": "visa DEBIT",
                "bank": "TEST BANK",
                "country_code": "NG",
                "brand": "visa",
                "account_name": "Simulated Customer",
            },
            "plan": {},
        },
    }


# --- the app ---------------------------------------------------------------------------------------


def create_app(config: SimulatorConfig) -> Sanic:
    app = Sanic(config.app_name, configure_logging=False)
    state = State()
    if config.accounts:
        state.register(json.loads(config.accounts))
    app.ctx.state = state
    app.ctx.config = config
    app.blueprint(fake_graph.blueprint(config.whatsapp_access_token))  # WhatsApp's Graph API

    @app.before_server_start
    async def open_http(app: Sanic) -> None:
        state.http = httpx.AsyncClient(timeout=SEND_TIMEOUT)

    @app.after_server_stop
    async def close_http(app: Sanic) -> None:
        for task in list(state.tasks):
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
        if state.http is not None:
            await state.http.aclose()

    def background(coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)

    async def send(kind: str, url: str | None, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """POST the exact bytes of body and log what was answered."""
        raw = json.dumps(body).encode()
        entry: dict[str, Any] = {"kind": kind, "url": url, "status": None, "body": body}
        if url is None:
            entry["error"] = "no URL configured"
        else:
            assert state.http is not None
            try:
                response = await state.http.post(
                    url, content=raw, headers={"Content-Type": "application/json", **(headers or {})}
                )
                entry["status"] = response.status_code
            except httpx.HTTPError as error:
                entry["error"] = f"{type(error).__name__}: {error}"
        state.sent.append(entry)
        log.info("%s to %s: %s", kind, url, entry["status"] if entry["status"] is not None else entry["error"])

    # --- misc

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    @app.get("/simulator/log")
    async def sent_log(request: Request) -> HTTPResponse:
        return json_response(state.sent)

    @app.get("/simulator/record")
    async def record(request: Request) -> HTTPResponse:
        now = time.monotonic()
        pushes = [
            {
                "checkout_request_id": push.checkout_request_id,
                "shortcode": push.shortcode,
                "amount": push.amount,
                "phone": push.phone,
                "callback_url": push.callback_url,
                "result_code": push.outcome.result_code,
                "decided": now >= push.decided_at,
                "completed": now >= push.decided_at and push.outcome.result_code == 0,
            }
            for push in state.pushes.values()
        ]
        transactions = [
            {"reference": t.reference, "amount": t.amount, "currency": t.currency, "paid": t.paid_at is not None}
            for t in state.transactions.values()
        ]
        return json_response({"mpesa": pushes, "paystack": transactions})

    @app.post("/simulator/accounts")
    async def register_accounts(request: Request) -> HTTPResponse:
        body = _body(request)
        try:
            state.register(body or {})
        except (KeyError, TypeError, AttributeError) as e:
            return json_response({"error": f"not an accounts object: {e}"}, status=400)
        return json_response({"mpesa": sorted(state.mpesa_accounts), "paystack": len(state.paystack_keys)})

    # --- Daraja

    @app.get("/oauth/v1/generate")
    async def generate_token(request: Request) -> HTTPResponse:
        if request.args.get("grant_type") != "client_credentials":
            return daraja_error(400, "400.008.02", "Invalid grant type passed")
        credentials = _basic(request)
        if credentials is None:
            return daraja_error(400, "400.008.01", "Invalid Authentication passed")
        registered = state.mpesa_accounts.get(credentials[0])
        if registered is not None and not hmac.compare_digest(credentials[1], registered["consumer_secret"]):
            return daraja_error(400, "400.008.01", "Invalid Authentication passed")
        token = _random(string.ascii_letters + string.digits, 28)
        state.tokens[credentials[0]] = (token, time.monotonic() + TOKEN_LIFETIME)  # the previous one dies
        return json_response({"access_token": token, "expires_in": str(TOKEN_LIFETIME)})

    def token_refused(request: Request) -> HTTPResponse | None:
        token = _bearer(request)
        if token is None or not state.valid_token(token):
            return daraja_error(404, "404.001.03", "Invalid Access Token")
        return None

    def shortcode_and_timestamp(body: dict[str, Any], request: Request) -> tuple[str, str] | HTTPResponse:
        shortcode = _digits(body.get("BusinessShortCode"))
        if shortcode is None:
            return invalid_field("BusinessShortCode")
        timestamp = _timestamp(body.get("Timestamp"))
        if timestamp is None:
            return invalid_field("Timestamp")
        if not _password_fits(body.get("Password"), shortcode, timestamp):
            return invalid_field("Password")
        registered = state.mpesa_accounts.get(state.token_owner(_bearer(request) or "") or "")
        if registered is not None:  # a merchant's own credentials: its shortcode and passkey only
            if shortcode != registered["shortcode"]:
                return daraja_error(400, "400.002.02", "Bad Request - Invalid BusinessShortCode")
            expected = stk_password(shortcode, registered["passkey"], timestamp)
            if not hmac.compare_digest(str(body.get("Password")), expected):
                return daraja_error(500, "500.001.1001", "Wrong credentials")
        return shortcode, timestamp

    @app.post("/mpesa/stkpush/v1/processrequest")
    async def stk_push(request: Request) -> HTTPResponse:
        if (refused := token_refused(request)) is not None:
            return refused
        body = _body(request)
        if body is None:
            return invalid_field("JSON body")
        checked = shortcode_and_timestamp(body, request)
        if isinstance(checked, HTTPResponse):
            return checked
        shortcode, _ = checked
        if body.get("TransactionType") not in TRANSACTION_TYPES:
            return invalid_field("TransactionType")
        amount = _digits(body.get("Amount"))
        if amount is None or int(amount) < 1:
            return invalid_field("Amount")
        for name in ("PartyA", "PhoneNumber"):
            if (value := _digits(body.get(name))) is None or not MSISDN.fullmatch(value):
                return invalid_field(name)
        if _digits(body.get("PartyB")) is None:
            return invalid_field("PartyB")
        if not _callback_url(body.get("CallBackURL")):
            return invalid_field("CallBackURL")
        if not _short_text(body.get("AccountReference"), 12):
            return invalid_field("AccountReference")
        if not _short_text(body.get("TransactionDesc"), 13):
            return invalid_field("TransactionDesc")

        phone = _digits(body["PhoneNumber"]) or ""
        now = _nairobi_now()
        checkout_id = f"ws_CO_{now:%d%m%Y%H%M%S}{now.microsecond // 1000:03d}{_random(string.digits, 10)}"
        push = StkPush(
            merchant_request_id=_request_id(),
            checkout_request_id=checkout_id,
            shortcode=shortcode,
            amount=int(amount),
            phone=phone,
            callback_url=body["CallBackURL"],
            outcome=outcome_for(phone),
            decided_at=time.monotonic() + config.callback_delay,
            receipt=_random(string.ascii_uppercase + string.digits, 10),
            transaction_date=int(f"{now:%Y%m%d%H%M%S}"),
        )
        state.pushes[checkout_id] = push
        background(call_back(push))
        return json_response(
            {
                "MerchantRequestID": push.merchant_request_id,
                "CheckoutRequestID": push.checkout_request_id,
                "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing",
            }
        )

    async def call_back(push: StkPush) -> None:
        if push.outcome.callbacks == 0:
            return
        await asyncio.sleep(config.late_delay if push.outcome.late else config.callback_delay)
        body = stk_callback_body(push)
        await asyncio.gather(*(send("mpesa_callback", push.callback_url, body) for _ in range(push.outcome.callbacks)))

    @app.post("/mpesa/stkpushquery/v1/query")
    async def stk_query(request: Request) -> HTTPResponse:
        if (refused := token_refused(request)) is not None:
            return refused
        body = _body(request)
        if body is None:
            return invalid_field("JSON body")
        checked = shortcode_and_timestamp(body, request)
        if isinstance(checked, HTTPResponse):
            return checked
        checkout_id = body.get("CheckoutRequestID")
        push = state.pushes.get(checkout_id) if isinstance(checkout_id, str) else None
        if push is None or push.shortcode != checked[0]:
            return invalid_field("CheckoutRequestID")
        if time.monotonic() < push.decided_at:
            return daraja_error(500, "500.001.1001", "The transaction is being processed", push.checkout_request_id)
        return json_response(
            {
                "ResponseCode": "0",
                "ResponseDescription": "The service request has been accepted successfully",
                "MerchantRequestID": push.merchant_request_id,
                "CheckoutRequestID": push.checkout_request_id,
                "ResultCode": str(push.outcome.result_code),
                "ResultDesc": push.outcome.result_desc,
            }
        )

    # --- Paystack

    def key_refused(request: Request) -> HTTPResponse | None:
        token = _bearer(request)
        known = (config.paystack_secret_key, *state.paystack_keys)
        if token is None or not any(hmac.compare_digest(token, key) for key in known):
            return paystack_error(401, "Invalid key")
        return None

    @app.post("/transaction/initialize")
    async def initialize(request: Request) -> HTTPResponse:
        if (refused := key_refused(request)) is not None:
            return refused
        body = _body(request)
        if body is None:
            return paystack_error(400, "Invalid JSON body")
        email = body.get("email")
        if not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            return paystack_error(400, "Invalid Email Address Passed")
        amount = _digits(body.get("amount"))
        if amount is None or int(amount) <= 0:
            return paystack_error(400, "Invalid Amount Sent")
        currency = body.get("currency", "NGN")
        if currency not in PAYSTACK_CURRENCIES:
            return paystack_error(400, "Currency not supported by merchant")
        reference = body.get("reference")
        if reference is None:
            reference = _random(string.ascii_lowercase + string.digits, 10)
        if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
            return paystack_error(400, "Invalid transaction reference")
        if reference in state.transactions:
            return paystack_error(400, "Duplicate Transaction Reference")
        callback_url = body.get("callback_url")
        txn = PaystackTransaction(
            id=next(state.ids),
            reference=reference,
            access_code=_random(string.ascii_lowercase + string.digits, 15),
            amount=int(amount),
            currency=currency,
            email=email,
            metadata=body.get("metadata"),
            callback_url=callback_url if isinstance(callback_url, str) else None,
            created_at=datetime.now(UTC),
            customer_id=100_000_000 + secrets.randbelow(10**8),
            customer_code="CUS_" + _random(string.ascii_lowercase + string.digits, 15),
            authorization_code="AUTH_" + _random(string.ascii_lowercase + string.digits, 10),
            signature="SIG_" + _random(string.ascii_letters + string.digits, 20),
            secret_key=_bearer(request) or "",
        )
        state.transactions[reference] = txn
        if config.paystack_autopay > 0:
            background(autopay(txn))
        base = (config.public_url or f"{request.scheme}://{request.host}").rstrip("/")
        return json_response(
            {
                "status": True,
                "message": "Authorization URL created",
                "data": {
                    "authorization_url": f"{base}/paystack/checkout/{reference}",
                    "access_code": txn.access_code,
                    "reference": reference,
                },
            }
        )

    @app.get("/transaction/verify/<reference:str>")
    async def verify(request: Request, reference: str) -> HTTPResponse:
        if (refused := key_refused(request)) is not None:
            return refused
        txn = state.transactions.get(reference)
        if txn is None or not hmac.compare_digest(txn.secret_key, _bearer(request) or ""):  # another account's
            return paystack_error(400, "Transaction reference not found")
        return json_response({"status": True, "message": "Verification successful", "data": verify_data(txn)})

    async def pay(txn: PaystackTransaction) -> bool:
        """Mark it paid and send the webhook; False when it was paid already."""
        if txn.paid_at is not None:
            return False
        txn.paid_at = datetime.now(UTC)
        body = charge_success_body(txn)
        raw = json.dumps(body).encode()
        signature = hmac.new((txn.secret_key or config.paystack_secret_key).encode(), raw, hashlib.sha512).hexdigest()
        background(send("paystack_webhook", config.paystack_webhook_url, body, {"x-paystack-signature": signature}))
        return True

    async def autopay(txn: PaystackTransaction) -> None:
        await asyncio.sleep(config.paystack_autopay)
        await pay(txn)

    @app.get("/paystack/checkout/<reference:str>")
    async def checkout(request: Request, reference: str) -> HTTPResponse:
        txn = state.transactions.get(reference)
        if txn is None:
            return html_response("<!doctype html><title>Not found</title><p>No such transaction.</p>", status=404)
        what = html.escape(_major(txn.amount, txn.currency))
        if txn.paid_at is not None:
            action = "<p>Paid.</p>"
        else:
            path = html.escape(f"/paystack/checkout/{reference}/pay", quote=True)
            action = f'<form method="post" action="{path}"><button type="submit">Pay</button></form>'
        return html_response(
            f"<!doctype html><title>Simulated checkout</title>"
            f"<h1>Simulated card payment for {what}</h1>"
            f"<p>Reference {html.escape(reference)}, {html.escape(txn.email)}</p>{action}"
        )

    @app.post("/paystack/checkout/<reference:str>/pay")
    async def pay_now(request: Request, reference: str) -> HTTPResponse:
        txn = state.transactions.get(reference)
        if txn is None:
            return html_response("<!doctype html><title>Not found</title><p>No such transaction.</p>", status=404)
        fresh = await pay(txn)
        what = html.escape(_major(txn.amount, txn.currency))
        done = "Payment successful" if fresh else "Already paid"
        back = ""
        if txn.callback_url:
            link = html.escape(f"{txn.callback_url}?trxref={reference}&reference={reference}", quote=True)
            back = f'<p><a href="{link}">Back to the shop</a></p>'
        return html_response(f"<!doctype html><title>{done}</title><h1>{done}: {what}</h1>{back}")

    return app


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    port = int(os.environ.get("SIMULATOR_PORT", "8090"))
    create_app(SimulatorConfig.from_env()).run(
        host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False
    )


if __name__ == "__main__":
    main()
