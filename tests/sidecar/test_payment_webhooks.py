"""The sidecar as a real process: M-Pesa callbacks and Paystack webhooks over HTTP, on real PostgreSQL."""

import asyncio
import copy
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from actions.commerce import cart, orders, payment_requests
from actions.commerce.model import CustomerRef
from actions.db import tables as t
from actions.payments.callbacks import callback_path, callback_token
from devstack.paths import ROOT
from devstack.processes import start_sidecar
from devstack.services import Services

PROVIDERS = Path(__file__).resolve().parents[1] / "providers"  # the documented payloads, copied into the repo
PAYSTACK_SECRET = "sk_test_" + secrets.token_hex(16)
WHO = CustomerRef("demo-shop", "254708374149")
PER_ADDRESS = 5  # unsigned rejected messages kept per source address and hour, for this sidecar


@pytest.fixture(scope="module")
def sidecar(services, database_url, tmp_path_factory):
    process = start_sidecar(
        Services(database_url, services.redis_url),
        tmp_path_factory.mktemp("sidecar-logs"),
        env={"PAYSTACK_SECRET_KEY": PAYSTACK_SECRET, "REJECTED_PER_ADDRESS_PER_HOUR": str(PER_ADDRESS)},
    )
    yield process
    process.stop()


async def order_with_payment(rt, provider, reference, nonce=True):
    """An order of KES 180 and its pending payment; an M-Pesa one has its own callback nonce unless not `nonce`."""
    await cart.add(rt.uow(), WHO, "SUGAR-1KG", 1)
    order = await orders.place(rt.uow(), WHO, "Kilimani")
    own = payment_requests.new_secret() if provider == "mpesa" and nonce else None
    payment = await payment_requests.start(
        rt.uow(), order.id, provider, reference, order.total, "254708374149", callback_nonce=own
    )
    return order, payment


async def demo_tenant(rt):
    async with rt.sessions() as session:
        return await session.scalar(select(t.Tenant).where(t.Tenant.slug == "demo-shop"))


async def callback_url(rt, payment):
    """The callback URL the payment was given (its shop's secret, its own nonce)."""
    tenant = await demo_tenant(rt)
    if payment.callback_nonce is None:
        return f"/payments/mpesa/callback/{callback_token(tenant.id, tenant.mpesa_callback_secret)}"
    return callback_path(tenant.id, tenant.mpesa_callback_secret, payment.callback_nonce)


def stk_callback(checkout_id, amount=180, result_code=0):
    body = json.loads((PROVIDERS / "mpesa/mpesa_stk_callback_success.json").read_text())
    stk = body["Body"]["stkCallback"]
    stk["CheckoutRequestID"] = checkout_id
    stk["ResultCode"] = result_code
    for item in stk["CallbackMetadata"]["Item"]:
        if item["Name"] == "Amount":
            item["Value"] = amount
    return body


async def status_of(rt, reference):
    async with rt.sessions() as session:
        payment = await session.scalar(select(t.Payment).where(t.Payment.provider_reference == reference))
        order = await session.scalar(select(t.Order.status).where(t.Order.id == payment.order_id))
        events = await session.scalar(
            select(func.count()).select_from(t.PaymentEvent).where(t.PaymentEvent.payment_id == payment.id)
        )
        return payment.status, payment.needs_review, order, events


async def check_of(rt, reference):
    """(how often the provider was asked, whether its next check is due now)."""
    async with rt.sessions() as session:
        row = await session.scalar(select(t.Payment).where(t.Payment.provider_reference == reference))
        return row.check_attempts, await session.scalar(select(row.next_check_at <= func.now()))


async def rejected(rt):
    async with rt.sessions() as session:
        rows = await session.execute(
            select(t.RejectedMessage.reason, t.RejectedMessage.reference, t.RejectedMessage.signed)
        )
        return [tuple(row) for row in rows]


async def ledger_keys(rt):
    async with rt.sessions() as session:
        return list((await session.scalars(select(t.PaymentEvent.event_key).order_by(t.PaymentEvent.id))).all())


async def post(sidecar, path, **kwargs):
    async with httpx.AsyncClient(base_url=sidecar.url, timeout=30) as client:
        return await client.post(path, **kwargs)


# --- M-Pesa: a success is a claim, settled by Daraja's answer to a query ----------------------------


async def test_a_success_callback_is_kept_and_makes_a_check_due_but_settles_nothing(shop, sidecar):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_ok")
    response = await post(sidecar, await callback_url(shop, payment), json=stk_callback("ws_CO_ok"))
    assert (response.status_code, response.json()) == (200, {"ResultCode": 0, "ResultDesc": "Accepted"})
    assert await status_of(shop, "ws_CO_ok") == ("pending", False, "pending_payment", 1)
    assert await check_of(shop, "ws_CO_ok") == (0, True)  # the worker asks Daraja at its next tick
    assert await ledger_keys(shop) == [f"mpesa:callback:{payment.id}:0"]


async def test_a_success_callback_without_metadata_never_settles_and_is_kept_flagged_and_checked(shop, sidecar):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_bare")
    body = stk_callback("ws_CO_bare")
    del body["Body"]["stkCallback"]["CallbackMetadata"]
    assert (await post(sidecar, await callback_url(shop, payment), json=body)).status_code == 200
    assert await status_of(shop, "ws_CO_bare") == ("pending", True, "pending_payment", 1)
    assert await check_of(shop, "ws_CO_bare") == (0, True)


async def test_ten_concurrent_duplicate_callbacks_record_one_event(shop, sidecar):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_dup")
    url = await callback_url(shop, payment)
    responses = await asyncio.gather(*(post(sidecar, url, json=stk_callback("ws_CO_dup")) for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert await status_of(shop, "ws_CO_dup") == ("pending", False, "pending_payment", 1)


async def test_a_cancelled_prompt_marks_the_payment_cancelled(shop, sidecar):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_1032")
    body = json.loads((PROVIDERS / "mpesa/mpesa_stk_callback_failure_1032_cancelled.json").read_text())
    body["Body"]["stkCallback"]["CheckoutRequestID"] = "ws_CO_1032"
    assert (await post(sidecar, await callback_url(shop, payment), json=body)).status_code == 200
    assert await status_of(shop, "ws_CO_1032") == ("cancelled", False, "pending_payment", 1)


async def test_a_callback_for_the_wrong_amount_is_recorded_and_flagged_not_applied(shop, sidecar):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_amount")
    url = await callback_url(shop, payment)
    assert (await post(sidecar, url, json=stk_callback("ws_CO_amount", amount=1))).status_code == 200
    assert await status_of(shop, "ws_CO_amount") == ("pending", True, "pending_payment", 1)


# --- M-Pesa: whose callback it is ----------------------------------------------------------------


async def test_callbacks_to_forged_urls_are_kept_apart_and_neither_change_nor_hurry_the_payment(shop, sidecar):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_forged")
    real = await callback_url(shop, payment)
    token, nonce = real.removeprefix("/payments/mpesa/callback/").split("/")
    forged_secret = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for url in (
        f"/payments/mpesa/callback/{forged_secret}/{nonce}",
        f"/payments/mpesa/callback/{forged_secret}",
        "/payments/mpesa/callback/1.short/x",
        "/payments/mpesa/callback/not-a-token",
        f"/payments/mpesa/callback/{token}/{'B' * 43}",  # the shop's secret with a nonce of no payment
    ):
        response = await post(sidecar, url, json=stk_callback("ws_CO_forged"))
        assert response.status_code == 404, url
    assert await status_of(shop, "ws_CO_forged") == ("pending", False, "pending_payment", 0)
    assert await check_of(shop, "ws_CO_forged") == (0, False)  # not due: the first check is a minute away
    assert (
        sorted(await rejected(shop))
        == [("bad_nonce", "ws_CO_forged", False)] + [("bad_token", "ws_CO_forged", False)] * 4
    )


async def test_a_url_leaked_from_one_payment_settles_no_other(shop, sidecar):
    _, leaked = await order_with_payment(shop, "mpesa", "ws_CO_leaked")
    await order_with_payment(shop, "mpesa", "ws_CO_other")
    response = await post(sidecar, await callback_url(shop, leaked), json=stk_callback("ws_CO_other"))
    assert response.status_code == 404
    assert await status_of(shop, "ws_CO_other") == ("pending", False, "pending_payment", 0)
    assert await rejected(shop) == [("bad_nonce", "ws_CO_other", False)]


async def test_unsigned_rejected_messages_are_capped_per_source_address_and_counted(shop, sidecar):
    for n in range(PER_ADDRESS + 3):
        body = stk_callback(f"ws_CO_flood_{n}")
        assert (await post(sidecar, "/payments/mpesa/callback/1.forged", json=body)).status_code == 404
    async with shop.sessions() as session:
        received = await session.scalar(
            select(t.RejectedMessageCount.received).where(t.RejectedMessageCount.source_address == "127.0.0.1")
        )
    assert (len(await rejected(shop)), received) == (PER_ADDRESS, PER_ADDRESS + 3)


async def test_a_callback_for_an_unknown_checkout_is_kept_apart_not_in_the_ledger(shop, sidecar):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_known")
    url = await callback_url(shop, payment)
    assert (await post(sidecar, url, json=stk_callback("ws_CO_unknown"))).status_code == 200
    assert await rejected(shop) == [("unknown_payment", "ws_CO_unknown", False)]
    assert await ledger_keys(shop) == []


async def test_a_payment_asked_for_before_nonces_is_still_called_back_on_its_old_url(shop, sidecar):
    await order_with_payment(shop, "mpesa", "ws_CO_legacy", nonce=False)
    async with shop.sessions() as session:
        payment = await session.scalar(select(t.Payment).where(t.Payment.provider_reference == "ws_CO_legacy"))
    body = json.loads((PROVIDERS / "mpesa/mpesa_stk_callback_failure_1032_cancelled.json").read_text())
    body["Body"]["stkCallback"]["CheckoutRequestID"] = "ws_CO_legacy"
    tenant = await demo_tenant(shop)
    url = f"/payments/mpesa/callback/{callback_token(tenant.id, tenant.mpesa_callback_secret)}"
    assert payment.callback_nonce is None
    assert (await post(sidecar, url, json=body)).status_code == 200
    assert await status_of(shop, "ws_CO_legacy") == ("cancelled", False, "pending_payment", 1)


def rotate_from_the_command_line(settings) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actions.cli", "rotate-callback-secret", "demo-shop"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_rotating_the_shops_secret_from_the_command_line_loses_no_callback_in_flight(shop, sidecar, settings):
    _, before = await order_with_payment(shop, "mpesa", "ws_CO_rotated")
    old_url = await callback_url(shop, before)
    run = rotate_from_the_command_line(settings)
    assert run.returncode == 0, run.stderr
    assert await callback_url(shop, before) != old_url  # new payments get the new secret
    body = json.loads((PROVIDERS / "mpesa/mpesa_stk_callback_failure_1032_cancelled.json").read_text())
    body["Body"]["stkCallback"]["CheckoutRequestID"] = "ws_CO_rotated"
    assert (await post(sidecar, old_url, json=body)).status_code == 200
    assert await status_of(shop, "ws_CO_rotated") == ("cancelled", False, "pending_payment", 1)
    again = rotate_from_the_command_line(settings)
    assert again.returncode == 1 and "less than 60 minutes" in again.stderr


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"Body": {"stkCallback": {"ResultCode": 0}}}', b"[1, 2]"])
async def test_a_malformed_callback_gets_a_clear_400_and_changes_nothing(shop, sidecar, body):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_bad")
    response = await post(
        sidecar, await callback_url(shop, payment), content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "Malformed callback" in response.json()["ResultDesc"]
    assert await status_of(shop, "ws_CO_bad") == ("pending", False, "pending_payment", 0)
    assert [reason for reason, _, _ in await rejected(shop)] == ["malformed"]


async def test_an_oversized_body_is_refused(shop, sidecar):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_big")
    response = await post(sidecar, await callback_url(shop, payment), content=b"x" * (65 * 1024))
    assert response.status_code == 413


# --- Paystack ------------------------------------------------------------------------------------


def paystack_body(reference, amount_minor, currency="KES"):
    body = json.loads((PROVIDERS / "paystack/paystack_webhook_charge_success_card.json").read_text())
    body = copy.deepcopy(body)
    body["data"]["reference"] = reference
    body["data"]["amount"] = amount_minor
    body["data"]["currency"] = currency
    return json.dumps(body).encode()


def sign(raw, key=PAYSTACK_SECRET):
    return hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()


async def deliver(sidecar, raw):
    return await post(sidecar, "/payments/paystack/webhook", content=raw, headers={"x-paystack-signature": sign(raw)})


async def test_a_signed_paystack_charge_marks_the_order_paid(shop, sidecar):
    await order_with_payment(shop, "paystack", "ORD-card-1")
    response = await deliver(sidecar, paystack_body("ORD-card-1", 18000))
    assert response.status_code == 200
    assert await status_of(shop, "ORD-card-1") == ("paid", False, "paid", 1)


async def ledger_sequence(rt):
    async with rt.sessions() as session:
        return await session.scalar(
            text("SELECT pg_sequence_last_value(pg_get_serial_sequence('commerce.payment_events', 'id')::regclass)")
        )


async def test_a_repeated_paystack_delivery_is_answered_as_a_duplicate_without_a_write(shop, sidecar):
    await order_with_payment(shop, "paystack", "ORD-card-again")
    raw = paystack_body("ORD-card-again", 18000)
    assert (await deliver(sidecar, raw)).json() == {"status": "applied"}
    used = await ledger_sequence(shop)
    response = await deliver(sidecar, raw)
    assert (response.status_code, response.json()) == (200, {"status": "duplicate"})
    assert await ledger_sequence(shop) == used  # not even an id taken for an INSERT that finds the key
    assert await status_of(shop, "ORD-card-again") == ("paid", False, "paid", 1)


@pytest.mark.parametrize(("amount", "currency"), [(100, "KES"), (18000, "NGN")])
async def test_a_signed_charge_for_another_amount_or_currency_settles_nothing_and_is_flagged(
    shop, sidecar, amount, currency
):
    await order_with_payment(shop, "paystack", "ORD-card-odd")
    response = await deliver(sidecar, paystack_body("ORD-card-odd", amount, currency))
    assert (response.status_code, response.json()) == (200, {"status": "amount_mismatch"})
    assert await status_of(shop, "ORD-card-odd") == ("pending", True, "pending_payment", 1)


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("refund.pending", {"transaction_reference": "ORD-card-r", "refund_reference": "RF-1", "status": "pending"}),
        ("refund.processed", {"transaction_reference": "ORD-card-r", "refund_reference": "RF-1", "amount": 18000}),
        ("refund.failed", {"transaction_reference": "ORD-card-r", "refund_reference": "RF-2"}),
        ("charge.dispute.create", {"id": 9, "transaction_reference": "ORD-card-r", "transaction": {"id": 1}}),
        ("charge.dispute.remind", {"id": 9, "transaction": {"reference": "ORD-card-r"}, "transaction_reference": None}),
        ("charge.dispute.resolve", {"id": 9, "transaction_reference": "ORD-card-r", "resolution": "merchant-accepted"}),
    ],
)
async def test_refunds_and_disputes_are_kept_in_the_ledger_answered_200_and_flag_the_payment(
    shop, sidecar, event, data
):
    await order_with_payment(shop, "paystack", "ORD-card-r")
    assert (await deliver(sidecar, paystack_body("ORD-card-r", 18000))).status_code == 200
    response = await deliver(sidecar, json.dumps({"event": event, "data": data}).encode())
    assert (response.status_code, response.json()) == (200, {"status": "flagged"})
    assert await status_of(shop, "ORD-card-r") == ("paid", True, "paid", 2)


@pytest.mark.parametrize(
    ("event", "data", "reason"),
    [
        ("transfer.success", {"reference": "TRF-1", "amount": 5000}, "not_a_payment"),
        ("subscription.create", {"code": "SUB_1"}, "not_a_payment"),
        ("charge.success", {"reference": "ORD-nobody", "amount": 1, "currency": "KES", "status": "success"},
         "unknown_payment"),
        ("refund.processed", {"refund_reference": "RF-9"}, "malformed"),
    ],
)  # fmt: skip
async def test_signed_events_about_no_payment_of_ours_are_kept_apart_and_answered_200(
    shop, sidecar, event, data, reason
):
    response = await deliver(sidecar, json.dumps({"event": event, "data": data}).encode())
    assert response.status_code == 200
    [(kept, _, signed)] = await rejected(shop)
    assert (kept, signed) == (reason, True)
    assert await ledger_keys(shop) == []


async def test_an_unknown_event_about_one_of_our_payments_is_kept_in_its_ledger(shop, sidecar):
    await order_with_payment(shop, "paystack", "ORD-card-new")
    response = await deliver(
        sidecar, json.dumps({"event": "charge.new_thing", "data": {"reference": "ORD-card-new"}}).encode()
    )
    assert (response.status_code, response.json()) == (200, {"status": "unchanged"})
    assert await status_of(shop, "ORD-card-new") == ("pending", False, "pending_payment", 1)


@pytest.mark.parametrize("signature", [None, "", "00" * 64, sign(b"other body"), sign(b"x", key="sk_test_wrong")])
async def test_a_paystack_webhook_with_a_bad_signature_gets_401_and_changes_nothing(shop, sidecar, signature):
    await order_with_payment(shop, "paystack", "ORD-card-2")
    raw = paystack_body("ORD-card-2", 18000)
    headers = {} if signature is None else {"x-paystack-signature": signature}
    response = await post(sidecar, "/payments/paystack/webhook", content=raw, headers=headers)
    assert response.status_code == 401
    assert await status_of(shop, "ORD-card-2") == ("pending", False, "pending_payment", 0)
    assert await check_of(shop, "ORD-card-2") == (0, False)
    assert await rejected(shop) == [("bad_signature", "", False)]
