import hashlib
import hmac
import json
import re

import pytest

from actions.commerce.money import Money
from actions.commerce.payments import Notice, Payment, PaymentStatus
from actions.payments.paystack import (
    MalformedWebhook,
    PaystackError,
    PaystackInit,
    PaystackVerification,
    customer_email,
    new_reference,
    parse_webhook,
    verify_event,
    verify_signature,
    webhook_event,
)
from tests.payments.providers import PAYSTACK_SECRET, paystack, raw

WEBHOOK = raw("paystack", "paystack_webhook_charge_success_card")


def signature(body: bytes, key: str = PAYSTACK_SECRET) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


# --- webhook signature --------------------------------------------------------------------------


def test_the_signature_of_the_raw_bytes_is_accepted():
    assert verify_signature(WEBHOOK, signature(WEBHOOK), PAYSTACK_SECRET) is True


def test_a_signature_made_with_another_key_is_refused():
    assert verify_signature(WEBHOOK, signature(WEBHOOK, "sk_test_someone_else"), PAYSTACK_SECRET) is False


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_signature_is_refused(header):
    assert verify_signature(WEBHOOK, header, PAYSTACK_SECRET) is False


def test_a_body_changed_after_signing_is_refused():
    tampered = WEBHOOK.replace(b'"amount":10000', b'"amount":99999')
    assert tampered != WEBHOOK
    assert verify_signature(tampered, signature(WEBHOOK), PAYSTACK_SECRET) is False


def test_the_same_json_serialised_differently_is_refused_because_bytes_are_what_is_signed():
    reserialised = json.dumps(json.loads(WEBHOOK)).encode()
    assert verify_signature(reserialised, signature(WEBHOOK), PAYSTACK_SECRET) is False


@pytest.mark.parametrize(
    "mangle",
    [
        str.upper,
        lambda s: " " + s,
        lambda s: s + "\n",
        lambda s: "sha512=" + s,
        lambda s: s[:-1],
        lambda s: s[:-1] + "é",
    ],
)
def test_nothing_tolerant_a_near_miss_signature_is_refused(mangle):
    assert verify_signature(WEBHOOK, mangle(signature(WEBHOOK)), PAYSTACK_SECRET) is False


def test_checking_without_a_secret_key_is_a_configuration_error_not_a_pass():
    with pytest.raises(ValueError):
        verify_signature(WEBHOOK, signature(WEBHOOK, ""), "")


# --- webhook body ------------------------------------------------------------------------------


def test_reads_the_documented_charge_success_webhook():
    event = parse_webhook(WEBHOOK)
    assert event.event == "charge.success"
    assert event.reference == "qTPrJoy9Bx"
    assert event.amount == Money(10000, "NGN")
    assert event.status == "success"
    assert event.event_key == "charge.success"  # one per payment: the ledger adds the payment's id


def test_a_repeated_delivery_has_the_same_event_key_and_reference():
    again = parse_webhook(json.dumps(json.loads(WEBHOOK), indent=2).encode())  # the same event, other bytes
    first = parse_webhook(WEBHOOK)
    assert (again.event_key, again.reference) == (first.event_key, first.reference) == ("charge.success", "qTPrJoy9Bx")


def test_a_signed_charge_success_settles_for_its_amount_and_currency_and_a_charge_not_successful_does_not():
    said = webhook_event(parse_webhook(WEBHOOK), json.loads(WEBHOOK))
    assert (said.outcome, said.amount, said.notice, said.flags, said.needs_confirmation) == (
        PaymentStatus.PAID,
        Money(10000, "NGN"),
        Notice.CARD_PAID,
        False,
        False,
    )
    odd = webhook_with(lambda b: b["data"].update(status="failed"))
    assert webhook_event(parse_webhook(odd), json.loads(odd)).outcome is PaymentStatus.PENDING


def other_event(name: str, **data) -> bytes:
    return json.dumps({"event": name, "data": data}).encode()


@pytest.mark.parametrize("name", ["refund.pending", "refund.processed", "refund.failed"])
def test_a_refund_is_about_its_transaction_reference_one_event_per_refund_and_flags_the_payment(name):
    body = other_event(name, status="processed", transaction_reference="ORD-1-abc", refund_reference="RF-1", amount=500)
    event = parse_webhook(body)
    assert (event.reference, event.event_key, event.needs_review) == ("ORD-1-abc", f"{name}:RF-1", True)
    said = webhook_event(event, json.loads(body))
    assert (said.reference, said.outcome, said.flags, said.notice) == ("ORD-1-abc", PaymentStatus.PENDING, True, None)
    another = parse_webhook(other_event(name, transaction_reference="ORD-1-abc", refund_reference="RF-2"))
    assert another.event_key != event.event_key


@pytest.mark.parametrize("name", ["charge.dispute.create", "charge.dispute.remind", "charge.dispute.resolve"])
def test_a_dispute_is_about_its_transaction_and_flags_the_payment(name):
    body = other_event(name, id=7, transaction_reference="ORD-1-abc", transaction={"reference": "ORD-1-abc"})
    event = parse_webhook(body)
    assert (event.reference, event.needs_review) == ("ORD-1-abc", True)
    assert parse_webhook(body).event_key == event.event_key  # a redelivery
    reminded_later = parse_webhook(other_event(name, id=7, transaction_reference="ORD-1-abc", due_at="tomorrow"))
    assert reminded_later.event_key != event.event_key  # another reminder is another event
    via_transaction = parse_webhook(other_event(name, id=7, transaction={"reference": "ORD-2-def"}))
    assert via_transaction.reference == "ORD-2-def"
    assert webhook_event(event, json.loads(body)).flags is True


def test_a_transfer_is_about_no_payment_and_an_unknown_event_about_what_its_data_names():
    transfer = parse_webhook(other_event("transfer.success", reference="TRF-1", amount=100))
    assert (transfer.reference, webhook_event(transfer, {})) == (None, None)
    unknown = parse_webhook(other_event("charge.something_new", reference="ORD-1-abc"))
    said = webhook_event(unknown, {})
    assert (said.reference, said.outcome, said.flags, said.kind) == (
        "ORD-1-abc",
        PaymentStatus.PENDING,
        False,
        "charge.something_new",
    )
    nameless = parse_webhook(other_event("subscription.create", code="SUB_1"))
    assert nameless.reference is None


@pytest.mark.parametrize(
    "body",
    [
        other_event("refund.processed", refund_reference="RF-1"),  # no transaction_reference
        other_event("charge.dispute.create", id=7),
    ],
)
def test_a_refund_or_dispute_that_names_no_transaction_is_malformed(body):
    with pytest.raises(MalformedWebhook):
        parse_webhook(body)


PAYMENT = Payment(1, 1, 1, "paystack", "ORD-1-abc", PaymentStatus.PENDING, Money(18000, "KES"))


@pytest.mark.parametrize(
    ("status", "amount", "outcome", "flags"),
    [
        ("success", Money(18000, "KES"), PaymentStatus.PAID, False),
        ("success", Money(18000, "NGN"), PaymentStatus.PAID, False),  # the amount goes along: record compares it
        ("failed", Money(18000, "KES"), PaymentStatus.FAILED, False),
        ("reversed", Money(18000, "KES"), PaymentStatus.FAILED, True),  # taken, then given back: staff look
    ],
)
def test_verify_says_what_it_says_with_the_amount_and_a_reversal_flags_the_payment(status, amount, outcome, flags):
    said = verify_event(PAYMENT, PaystackVerification(status, amount, PAYMENT.reference, status == "success"), "k")
    assert (said.outcome, said.amount, said.flags, said.key) == (outcome, amount, flags, f"verify:{status}")


def test_verify_without_a_final_answer_says_nothing():
    assert verify_event(PAYMENT, PaystackVerification("ongoing", Money(18000, "KES"), "r", False), "k") is None


def test_a_customers_email_is_valid_stable_per_shop_and_customer_and_holds_no_phone_number():
    whatsapp = "106540352242922:254712345678"
    email = customer_email(1, whatsapp, "key", "customers.example.com")
    assert re.fullmatch(r"c[0-9a-f]{32}@customers\.example\.com", email)
    assert "254712345678" not in email and "12345678" not in email
    assert customer_email(1, whatsapp, "key", "customers.example.com") == email
    assert customer_email(2, whatsapp, "key", "customers.example.com") != email
    assert customer_email(1, "106540352242922:254712345679", "key", "customers.example.com") != email
    assert customer_email(1, whatsapp, "other key", "customers.example.com") != email  # keyed: not guessable


def webhook_with(change) -> bytes:
    body = paystack("webhook_charge_success_card")
    change(body)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"{oops", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (webhook_with(lambda b: b.pop("event")), "has no event"),
        (webhook_with(lambda b: b.pop("data")), "has no data"),
        (webhook_with(lambda b: b.update(data="x")), "data should be dict"),
        (webhook_with(lambda b: b["data"].pop("reference")), "has no reference"),
        (webhook_with(lambda b: b["data"].update(reference="")), "reference is empty"),
        (webhook_with(lambda b: b["data"].update(amount="10000")), "amount should be int"),
        (webhook_with(lambda b: b["data"].update(amount=100.5)), "amount should be int"),
        (webhook_with(lambda b: b["data"].update(amount=True)), "amount should be int"),
        (webhook_with(lambda b: b["data"].pop("currency")), "has no currency"),
        (webhook_with(lambda b: b["data"].update(currency="XYZ")), "unsupported currency"),
        (webhook_with(lambda b: b["data"].pop("status")), "has no status"),
    ],
)
def test_a_webhook_without_the_documented_shape_is_refused_with_a_reason(body, complaint):
    with pytest.raises(MalformedWebhook, match=complaint):
        parse_webhook(body)


# --- references --------------------------------------------------------------------------------


def test_new_references_use_paystacks_alphabet_and_name_the_order():
    reference = new_reference("ORD-00042")
    assert re.fullmatch(r"[A-Za-z0-9.=\-]+", reference)
    assert reference.startswith("ORD-00042-")


def test_new_references_are_unique_for_the_same_order():
    assert len({new_reference("ORD-00042") for _ in range(1000)}) == 1000


@pytest.mark.parametrize(("order_number", "prefix"), [("ORD/42 #1", "ORD421-"), ("", "order-"), ("///", "order-")])
def test_odd_characters_in_an_order_number_never_reach_the_reference(order_number, prefix):
    reference = new_reference(order_number)
    assert reference.startswith(prefix)
    assert re.fullmatch(r"[A-Za-z0-9.=\-]+", reference)


# --- initialize --------------------------------------------------------------------------------


async def test_initialize_sends_the_amount_in_subunits_with_its_currency_and_the_order_in_metadata(
    paystack_fake, paystack_client
):
    await paystack_client.initialize(
        Money(150050, "KES"), "amina@example.com", "ORD-42-abc", 42, "https://shop.test/paid"
    )
    request = paystack_fake.requests[-1]
    assert (request.method, str(request.url)) == ("POST", "https://paystack.test/transaction/initialize")
    assert request.headers["Authorization"] == f"Bearer {PAYSTACK_SECRET}"
    assert paystack_fake.sent() == {
        "email": "amina@example.com",
        "amount": 150050,
        "currency": "KES",
        "reference": "ORD-42-abc",
        "metadata": {"order_id": 42},
        "callback_url": "https://shop.test/paid",
    }


async def test_initialize_without_a_callback_url_leaves_paystacks_default(paystack_fake, paystack_client):
    await paystack_client.initialize(Money(40333, "NGN"), "a@example.com", "ORD-1-x", 1, None)
    assert "callback_url" not in paystack_fake.sent()
    assert paystack_fake.sent()["amount"] == 40333


async def test_initialize_returns_where_to_send_the_customer(paystack_client):
    started = await paystack_client.initialize(Money(40333, "NGN"), "a@example.com", "nms6uvr1pl", 1)
    assert started == PaystackInit(
        authorization_url="https://checkout.paystack.com/nkdks46nymizns7",
        access_code="nkdks46nymizns7",
        reference="nms6uvr1pl",
    )


async def test_a_reused_reference_is_a_paystack_error_with_paystacks_message(paystack_fake, paystack_client):
    refused = paystack("transaction_initialize_response") | {
        "status": False,
        "message": "Duplicate Transaction Reference",
    }
    del refused["data"]
    paystack_fake.initialize_answer = (400, refused)
    with pytest.raises(PaystackError) as caught:
        await paystack_client.initialize(Money(40333, "NGN"), "a@example.com", "nms6uvr1pl", 1)
    assert (caught.value.message, caught.value.status_code) == ("Duplicate Transaction Reference", 400)


@pytest.mark.parametrize("reference", ["has space", "a/b", "..", ".", "ref#1", ""])
async def test_a_reference_outside_paystacks_alphabet_is_refused_before_sending(
    paystack_fake, paystack_client, reference
):
    with pytest.raises(ValueError, match="reference"):
        await paystack_client.initialize(Money(100, "NGN"), "a@example.com", reference, 1)
    with pytest.raises(ValueError, match="reference"):
        await paystack_client.verify(reference)
    assert paystack_fake.requests == []


async def test_a_zero_amount_is_refused_before_sending(paystack_fake, paystack_client):
    with pytest.raises(ValueError):
        await paystack_client.initialize(Money(0, "NGN"), "a@example.com", "ref-1", 1)
    assert paystack_fake.requests == []


# --- verify ------------------------------------------------------------------------------------


async def test_verify_reads_the_documented_success(paystack_fake, paystack_client):
    verification = await paystack_client.verify("re4lyvq3s3")
    request = paystack_fake.requests[-1]
    assert (request.method, request.url.path) == ("GET", "/transaction/verify/re4lyvq3s3")
    assert request.headers["Authorization"] == f"Bearer {PAYSTACK_SECRET}"
    assert verification.status == "success"
    assert verification.amount == Money(40333, "NGN")
    assert verification.reference == "re4lyvq3s3"
    assert verification.paid is True


@pytest.mark.parametrize(
    ("status", "paid"),
    [
        ("success", True),
        ("abandoned", False),
        ("failed", False),
        ("ongoing", False),
        ("pending", False),
        ("processing", False),
        ("queued", False),
        ("reversed", False),
        ("Success", False),
    ],
)
async def test_only_a_success_status_is_paid(paystack_fake, paystack_client, status, paid):
    answer = paystack("transaction_verify_response_success")
    answer["data"]["status"] = status
    paystack_fake.verify_answer = (200, answer)
    verification = await paystack_client.verify("re4lyvq3s3")
    assert (verification.status, verification.paid) == (status, paid)


@pytest.mark.parametrize(
    ("expected", "settles"),
    [(Money(40333, "NGN"), True), (Money(40332, "NGN"), False), (Money(40333, "GHS"), False)],
)
async def test_a_payment_settles_an_order_only_for_its_exact_amount_and_currency(paystack_client, expected, settles):
    verification = await paystack_client.verify("re4lyvq3s3")
    assert verification.settles(expected) is settles


async def test_a_reversed_payment_settles_nothing_even_for_the_right_amount(paystack_fake, paystack_client):
    answer = paystack("transaction_verify_response_success")
    answer["data"]["status"] = "reversed"
    paystack_fake.verify_answer = (200, answer)
    assert (await paystack_client.verify("re4lyvq3s3")).settles(Money(40333, "NGN")) is False


async def test_an_unknown_reference_is_a_paystack_error(paystack_fake, paystack_client):
    paystack_fake.verify_answer = (400, {"status": False, "message": "Transaction reference not found"})
    with pytest.raises(PaystackError, match="Transaction reference not found"):
        await paystack_client.verify("nope")


async def test_a_verify_answer_without_an_amount_is_a_paystack_error(paystack_fake, paystack_client):
    answer = paystack("transaction_verify_response_success")
    del answer["data"]["amount"]
    paystack_fake.verify_answer = (200, answer)
    with pytest.raises(PaystackError, match="amount"):
        await paystack_client.verify("re4lyvq3s3")


def test_the_client_never_shows_its_secret_key(paystack_client):
    assert PAYSTACK_SECRET not in repr(paystack_client)
