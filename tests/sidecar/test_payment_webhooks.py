"""The sidecar as a real process: M-Pesa callbacks and Paystack webhooks over HTTP, on real PostgreSQL."""

import asyncio
import copy
import hashlib
import hmac
import json
import secrets
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from actions.commerce import cart, orders, payment_requests
from actions.commerce.model import CustomerRef
from actions.db import tables as t
from actions.payments.callbacks import callback_token
from devstack.processes import start_sidecar
from devstack.services import Services

PROVIDERS = Path(__file__).resolve().parents[1] / "providers"  # the documented payloads, copied into the repo
PAYSTACK_SECRET = "sk_test_" + secrets.token_hex(16)
WHO = CustomerRef("demo-shop", "254708374149")


@pytest.fixture(scope="module")
def sidecar(services, database_url, tmp_path_factory):
    process = start_sidecar(
        Services(database_url, services.redis_url),
        tmp_path_factory.mktemp("sidecar-logs"),
        env={"PAYSTACK_SECRET_KEY": PAYSTACK_SECRET},
    )
    yield process
    process.stop()


async def order_with_payment(rt, provider, reference):
    await cart.add(rt.uow(), WHO, "SUGAR-1KG", 1)  # KES 180
    order = await orders.place(rt.uow(), WHO, "Kilimani")
    await payment_requests.start(rt.uow(), order.id, provider, reference, order.total, "254708374149")
    return order


async def callback_url(rt):
    async with rt.sessions() as session:
        tenant = await session.scalar(select(t.Tenant).where(t.Tenant.slug == "demo-shop"))
    return f"/payments/mpesa/callback/{callback_token(tenant.id, tenant.mpesa_callback_secret)}"


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


async def post(sidecar, path, **kwargs):
    async with httpx.AsyncClient(base_url=sidecar.url, timeout=30) as client:
        return await client.post(path, **kwargs)


async def test_a_successful_callback_marks_the_payment_and_the_order_paid(shop, sidecar):
    await order_with_payment(shop, "mpesa", "ws_CO_ok")
    response = await post(sidecar, await callback_url(shop), json=stk_callback("ws_CO_ok"))
    assert (response.status_code, response.json()) == (200, {"ResultCode": 0, "ResultDesc": "Accepted"})
    assert await status_of(shop, "ws_CO_ok") == ("paid", False, "paid", 1)


async def test_ten_concurrent_duplicate_callbacks_make_one_transition(shop, sidecar):
    await order_with_payment(shop, "mpesa", "ws_CO_dup")
    url = await callback_url(shop)
    responses = await asyncio.gather(*(post(sidecar, url, json=stk_callback("ws_CO_dup")) for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert await status_of(shop, "ws_CO_dup") == ("paid", False, "paid", 1)


async def test_a_cancelled_prompt_marks_the_payment_cancelled(shop, sidecar):
    await order_with_payment(shop, "mpesa", "ws_CO_1032")
    body = json.loads((PROVIDERS / "mpesa/mpesa_stk_callback_failure_1032_cancelled.json").read_text())
    body["Body"]["stkCallback"]["CheckoutRequestID"] = "ws_CO_1032"
    assert (await post(sidecar, await callback_url(shop), json=body)).status_code == 200
    assert await status_of(shop, "ws_CO_1032") == ("cancelled", False, "pending_payment", 1)


async def test_a_callback_to_a_forged_url_changes_nothing(shop, sidecar):
    await order_with_payment(shop, "mpesa", "ws_CO_forged")
    real = await callback_url(shop)
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for url in (forged, "/payments/mpesa/callback/1.short", "/payments/mpesa/callback/not-a-token"):
        response = await post(sidecar, url, json=stk_callback("ws_CO_forged", amount=180 + len(url)))
        assert response.status_code == 404
    assert await status_of(shop, "ws_CO_forged") == ("pending", False, "pending_payment", 0)
    async with shop.sessions() as session:
        kept = (await session.scalars(select(t.PaymentEvent.kind).where(t.PaymentEvent.payment_id.is_(None)))).all()
        next_check = await session.scalar(
            select(t.Payment.next_check_at <= func.now()).where(t.Payment.provider_reference == "ws_CO_forged")
        )
    assert kept == ["forged_callback"] * 3  # kept for review
    assert next_check is True  # and the provider is asked about that payment at once


async def test_a_callback_for_the_wrong_amount_is_recorded_and_flagged_not_applied(shop, sidecar):
    await order_with_payment(shop, "mpesa", "ws_CO_amount")
    assert (
        await post(sidecar, await callback_url(shop), json=stk_callback("ws_CO_amount", amount=1))
    ).status_code == 200
    assert await status_of(shop, "ws_CO_amount") == ("pending", True, "pending_payment", 1)


async def test_a_callback_for_an_unknown_checkout_is_recorded_for_review(shop, sidecar):
    assert (await post(sidecar, await callback_url(shop), json=stk_callback("ws_CO_unknown"))).status_code == 200
    async with shop.sessions() as session:
        kinds = (await session.scalars(select(t.PaymentEvent.kind).where(t.PaymentEvent.payment_id.is_(None)))).all()
    assert kinds == ["unknown_payment"]


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"Body": {"stkCallback": {"ResultCode": 0}}}', b"[1, 2]"])
async def test_a_malformed_callback_gets_a_clear_400_and_changes_nothing(shop, sidecar, body):
    await order_with_payment(shop, "mpesa", "ws_CO_bad")
    response = await post(sidecar, await callback_url(shop), content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "Malformed callback" in response.json()["ResultDesc"]
    assert await status_of(shop, "ws_CO_bad") == ("pending", False, "pending_payment", 0)


async def test_an_oversized_body_is_refused(shop, sidecar):
    response = await post(sidecar, await callback_url(shop), content=b"x" * (65 * 1024))
    assert response.status_code == 413


def paystack_body(reference, amount_minor):
    body = json.loads((PROVIDERS / "paystack/paystack_webhook_charge_success_card.json").read_text())
    body = copy.deepcopy(body)
    body["data"]["reference"] = reference
    body["data"]["amount"] = amount_minor
    body["data"]["currency"] = "KES"
    return json.dumps(body).encode()


def sign(raw, key=PAYSTACK_SECRET):
    return hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()


async def test_a_signed_paystack_charge_marks_the_order_paid(shop, sidecar):
    await order_with_payment(shop, "paystack", "ORD-card-1")
    raw = paystack_body("ORD-card-1", 18000)
    response = await post(
        sidecar, "/payments/paystack/webhook", content=raw, headers={"x-paystack-signature": sign(raw)}
    )
    assert response.status_code == 200
    assert await status_of(shop, "ORD-card-1") == ("paid", False, "paid", 1)


@pytest.mark.parametrize("signature", [None, "", "00" * 64, sign(b"other body"), sign(b"x", key="sk_test_wrong")])
async def test_a_paystack_webhook_with_a_bad_signature_gets_401_and_changes_nothing(shop, sidecar, signature):
    await order_with_payment(shop, "paystack", "ORD-card-2")
    raw = paystack_body("ORD-card-2", 18000)
    headers = {} if signature is None else {"x-paystack-signature": signature}
    response = await post(sidecar, "/payments/paystack/webhook", content=raw, headers=headers)
    assert response.status_code == 401
    assert await status_of(shop, "ORD-card-2") == ("pending", False, "pending_payment", 0)
