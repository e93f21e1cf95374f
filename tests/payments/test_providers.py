"""M-Pesa and Paystack behind the commerce core's provider port: what a request sends, and what a
callback becomes, against fakes that answer with the documented payloads."""

from datetime import UTC, datetime

import httpx
import pytest

from actions.commerce.model import Order, OrderStatus, Tenant
from actions.commerce.money import Money
from actions.commerce.payments import CallbackCredentials, Notice, PaymentStatus
from actions.commerce.ports import PaymentAsk
from actions.payments import callbacks
from actions.payments.mpesa import MpesaProvider, TokenCache, callback_event, parse_stk_callback
from actions.payments.paystack import PaystackProvider
from actions.settings import Settings
from tests.payments.providers import PAYSTACK_SECRET, SANDBOX_PASSKEY, FakeDaraja, FakePaystack, mpesa, raw

SHOP = Tenant(3, "demo-shop", "Demo Shop", "KES")
SECRET, NONCE = "s" * 43, "n" * 43
WHATSAPP_CUSTOMER = "106540352242922:254712345678"


def settings(**changes) -> Settings:
    return Settings.load(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        public_base_url="https://pay.example.co.ke",
        mpesa_base_url="https://daraja.test",
        mpesa_consumer_key="key",
        mpesa_consumer_secret="secret",
        mpesa_passkey=SANDBOX_PASSKEY,
        paystack_base_url="https://paystack.test",
        paystack_secret_key=PAYSTACK_SECRET,
        **changes,
    )


def order(number: str = "ORD-1042") -> Order:
    return Order(42, number, OrderStatus.PENDING_PAYMENT, Money(18000, "KES"), (), None, datetime.now(UTC))


def ask(number: str = "ORD-1042", phone: str | None = "254712345678") -> PaymentAsk:
    return PaymentAsk(SHOP, order(number), WHATSAPP_CUSTOMER, phone, SECRET, NONCE)


async def test_an_stk_push_carries_the_payments_own_callback_url_and_the_whole_order_number():
    daraja = FakeDaraja()
    async with httpx.AsyncClient(transport=httpx.MockTransport(daraja.handle)) as http:
        requested = await MpesaProvider(settings(), http, TokenCache()).request(ask("ORD-1042"))
    sent = daraja.sent()
    assert sent["CallBackURL"] == f"https://pay.example.co.ke/payments/mpesa/callback/3.{SECRET}/{NONCE}"
    assert (sent["AccountReference"], sent["TransactionDesc"]) == ("ORD-1042", "Pay ORD-1042")
    assert requested.reference == mpesa("stk_push_response_accepted")["CheckoutRequestID"]


async def test_a_paystack_customer_gets_a_stable_valid_email_without_their_phone_number():
    paystack = FakePaystack()
    async with httpx.AsyncClient(transport=httpx.MockTransport(paystack.handle)) as http:
        provider = PaystackProvider(settings(paystack_email_secret="k" * 32), http)
        await provider.request(ask(phone=None))
        await provider.request(ask(phone=None))
    first, second = paystack.sent(0)["email"], paystack.sent(1)["email"]
    assert first == second and first.endswith("@customers.example.com") and ":" not in first
    assert "254712345678" not in first and "106540352242922" not in first


def test_the_url_of_a_payment_reads_back_as_its_credentials_and_anything_else_as_none():
    path = callbacks.callback_path(3, SECRET, NONCE)
    token, nonce = path.removeprefix("/payments/mpesa/callback/").split("/")
    assert callbacks.credentials(token, nonce) == CallbackCredentials(3, SECRET, NONCE)
    assert callbacks.credentials(token) == CallbackCredentials(3, SECRET, None)  # a URL from before nonces
    for bad_token, bad_nonce in [
        ("3.short", NONCE),
        (f"x.{SECRET}", NONCE),
        (token, "short"),
        (token, "n" * 40 + "!!!"),
    ]:
        assert callbacks.credentials(bad_token, bad_nonce) is None


def test_the_credentials_never_show_their_secrets():
    shown = repr(CallbackCredentials(3, SECRET, NONCE))
    assert SECRET not in shown and NONCE not in shown


def test_a_success_callback_is_a_claim_carrying_its_amount_receipt_and_url():
    url = CallbackCredentials(3, SECRET, NONCE)
    said = callback_event(parse_stk_callback(raw("mpesa", "mpesa_stk_callback_success")), {}, url)
    assert (said.outcome, said.needs_confirmation, said.amount, said.receipt) == (
        PaymentStatus.PAID,
        True,
        Money(100, "KES"),
        "NLJ7RT61SV",
    )
    assert (said.key, said.tenant_id, said.credentials, said.notice) == ("callback:0", 3, url, Notice.MPESA_PAID)


def test_a_cancelled_callback_carries_no_amount_and_ends_the_payment_as_cancelled():
    url = CallbackCredentials(3, SECRET, NONCE)
    said = callback_event(parse_stk_callback(raw("mpesa", "mpesa_stk_callback_failure_1032_cancelled")), {}, url)
    assert (said.outcome, said.amount, said.receipt, said.key) == (PaymentStatus.CANCELLED, None, None, "callback:1032")


@pytest.mark.parametrize("window", ["5", "2", "0"])
def test_a_retry_window_no_longer_than_an_m_pesa_prompt_is_refused(window, monkeypatch):
    monkeypatch.setenv("WEBHOOK_RETRY_WINDOW_MINUTES", window)
    with pytest.raises(SystemExit, match="WEBHOOK_RETRY_WINDOW_MINUTES"):
        settings()
