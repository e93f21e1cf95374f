"""A second shop with its own M-Pesa till and Paystack key, over HTTP: its pushes carry its own shortcode
and credentials (the simulator refuses anyone else's), its callback reaches the real sidecar and the
worker's query with the same account settles it; a shop without its own account is paid through the
platform's; rotating SHOP_SECRETS_KEY while a payment waits loses nothing."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, update

from actions.commerce import cart, onboarding, orders, payment_requests, shop_accounts, staff
from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.commerce.errors import PaymentUnavailable
from actions.commerce.model import CustomerRef
from actions.commerce.ports import StaffMember
from actions.db import tables as t
from devstack.processes import start_sidecar
from devstack.services import Services
from tests.conftest import settings_changed
from tests.sidecar.test_payments_through_the_simulator import recorded, worker_tick
from tests.sidecar.test_simulator import start_simulator
from tests.waiting import eventually

SHOP2 = {"consumer_key": "duka2-consumer-key", "consumer_secret": "duka2-consumer-secret", "shortcode": "600111",
         "passkey": "duka2-passkey-0123456789"}  # fmt: skip
SHOP2_PAYSTACK = "sk_test_duka2shopownkey0123"
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
CATALOG = "sku,name,category,price,stock\nSOAP-1,Sabuni Bar,Home,150,20\n"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    accounts = json.dumps({"mpesa": [SHOP2], "paystack": [SHOP2_PAYSTACK]})
    process = start_simulator(
        tmp_path_factory.mktemp("simulator-logs"),
        SIMULATOR_CALLBACK_DELAY="0.3",
        SIMULATOR_ACCOUNTS=accounts,
        SIMULATOR_PAYSTACK_AUTOPAY="0",
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def sidecar(services, database_url, tmp_path_factory):
    env = {"SHOP_SECRETS_KEY": KEY_A, "PAYSTACK_SECRET_KEY": "sk_test_platform_key_0123"}
    process = start_sidecar(Services(database_url, services.redis_url), tmp_path_factory.mktemp("logs"), env=env)
    yield process
    process.stop()


@pytest.fixture
def stack(shop, simulator, sidecar):
    with settings_changed(
        shop,
        mpesa_base_url=simulator.url,
        paystack_base_url=simulator.url,
        paystack_secret_key="sk_test_platform_key_0123",
        mpesa_consumer_key="platform-key",
        mpesa_consumer_secret="platform-secret",
        mpesa_passkey="platform-passkey",
        public_base_url=sidecar.url,
        shop_secrets_key=KEY_A,
    ):
        yield shop


async def second_shop(rt, mpesa: dict | None = SHOP2):
    """Created as the pages create it: by an operator, with an account of its own."""
    await staff.set_staff(rt.uow(), "demo-shop", "ops@platform.example", "Ops", "operator-password-1", "operator")
    async with rt.uow() as uow:
        ops = await uow.staff.active("ops@platform.example")
    operator = StaffMember(ops.user_id, ops.tenant_id, ops.email, ops.role)
    new = onboarding.NewShop("duka-mbili", "Duka Mbili", "KES", "1065403522", "owner@mbili.example", "Wanjiru")
    tenant, _ = await onboarding.create_shop(rt.uow(), operator, new)
    await import_catalog(rt.uow(), "duka-mbili", "Duka Mbili", "KES", parse_catalog(CATALOG, "KES"))
    if mpesa:
        form = {"kind": "till", **mpesa}
        await shop_accounts.save(rt.uow(), rt.sealer, operator, tenant.id, "mpesa", form)
    return tenant, operator


async def pay(rt, slug, sku, phone, method="mpesa"):
    who = CustomerRef(slug, phone)
    await cart.add(rt.uow(), who, sku, 1)
    order = await orders.place(rt.uow(), who, "Kilimani")
    policy = rt.settings.check_policy
    return await payment_requests.request_payment(rt.uow(), rt.providers, who, order, method, phone, policy)


async def pushes(simulator):
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{simulator.url}/simulator/record")).json()


async def test_the_second_shops_payment_goes_to_its_own_till_and_its_own_callback_settles_it(stack, simulator):
    rt = stack
    tenant, _ = await second_shop(rt)
    requested = await pay(rt, "duka-mbili", "SOAP-1", "254712345678")
    payment = requested.payment
    assert payment.account_id is not None
    [push] = [p for p in (await pushes(simulator))["mpesa"] if p["checkout_request_id"] == payment.reference]
    assert push["shortcode"] == "600111" and push["callback_url"].startswith(f"{rt.settings.public_base_url}/")
    assert f"/callback/{tenant.id}." in push["callback_url"]

    async def called_back():
        found = await recorded(rt, payment)
        return found if found[2] == ["stk_callback"] else None

    await eventually(called_back, within=15, what="the second shop's callback recorded by the sidecar")
    [checked] = await worker_tick(rt)
    assert (checked.payment_id, checked.outcome) == (payment.id, "paid")  # the query used the shop's till too
    assert (await recorded(rt, payment))[:2] == ("paid", "paid")


async def test_a_shop_without_its_own_account_is_paid_through_the_platforms(stack, simulator):
    rt = stack
    await second_shop(rt)
    requested = await pay(rt, "demo-shop", "SUGAR-1KG", "254712345679")
    assert requested.payment.account_id is None
    [push] = [p for p in (await pushes(simulator))["mpesa"] if p["checkout_request_id"] == requested.payment.reference]
    assert push["shortcode"] == rt.settings.mpesa_shortcode


async def test_wrong_credentials_are_refused_as_daraja_refuses_them_and_no_payment_is_made(stack):
    rt = stack
    tenant, operator = await second_shop(rt, {**SHOP2, "passkey": "not-the-passkey-at-all"})
    with pytest.raises(PaymentUnavailable, match=r"500\.001\.1001"):
        await pay(rt, "duka-mbili", "SOAP-1", "254712345678")
    async with rt.sessions() as session:
        assert (await session.scalars(select(t.Payment.id))).all() == []
    wrong_secret = {**SHOP2, "kind": "paybill", "consumer_secret": "guessed-secret-xyz"}
    account = await shop_accounts.draft(rt.uow(), rt.sealer, operator, tenant.id, "mpesa", wrong_secret)
    with pytest.raises(PaymentUnavailable) as refused:
        await rt.providers.test_connection(account)
    assert "400.008.01" in str(refused.value) and "guessed-secret-xyz" not in str(refused.value)
    right = await shop_accounts.draft(rt.uow(), rt.sealer, operator, tenant.id, "mpesa", {"kind": "till", **SHOP2})
    assert "accepted" in await rt.providers.test_connection(right)


async def test_rotating_the_secrets_key_loses_no_payment_in_flight(stack):
    rt = stack
    await second_shop(rt)
    payment = (await pay(rt, "duka-mbili", "SOAP-1", "254712340000")).payment  # no callback: only the query settles
    with settings_changed(rt, shop_secrets_key=f"{KEY_B},{KEY_A}"):
        assert await shop_accounts.reseal_all(rt.uow(), rt.sealer) == 1
    with settings_changed(rt, shop_secrets_key=KEY_B):  # the old key removed

        async def settled():
            async with rt.sessions() as session, session.begin():  # due now
                await session.execute(
                    update(t.Payment).where(t.Payment.id == payment.id).values(next_check_at=func.now())
                )
            await worker_tick(rt)
            return (await recorded(rt, payment))[0] == "paid"

        await eventually(settled, within=15, what="the query with the resealed account to say paid")


async def test_a_card_payment_of_the_second_shop_is_settled_by_a_webhook_signed_with_its_own_key(stack, simulator):
    rt = stack
    tenant, operator = await second_shop(rt)
    await shop_accounts.save(rt.uow(), rt.sealer, operator, tenant.id, "paystack", {"secret_key": SHOP2_PAYSTACK})
    requested = await pay(rt, "duka-mbili", "SOAP-1", "254712345678", method="card")
    reference = requested.payment.reference
    body = json.dumps({"event": "charge.success", "data": {
        "reference": reference, "amount": 15000, "currency": "KES", "status": "success"}}).encode()  # fmt: skip
    url = f"{rt.settings.public_base_url}/payments/paystack/webhook"
    async with httpx.AsyncClient() as http:
        for forger in (
            "sk_test_platform_key_0123",
            "sk_test_someone_else_000",
        ):  # the platform's key is not this shop's
            signature = hmac.new(forger.encode(), body, hashlib.sha512).hexdigest()
            answer = await http.post(url, content=body, headers={"x-paystack-signature": signature})
            assert answer.status_code == 401
        signature = hmac.new(SHOP2_PAYSTACK.encode(), body, hashlib.sha512).hexdigest()
        answer = await http.post(url, content=body, headers={"x-paystack-signature": signature})
    assert answer.status_code == 200
    assert (await recorded(rt, requested.payment))[:2] == ("paid", "paid")
