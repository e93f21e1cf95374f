"""An M-Pesa payment from request to settlement, over HTTP: the real provider adapter pushes to the
simulator, the simulator calls the real sidecar back on the payment's own URL, and the worker's
check (run here, as its tick would) asks the simulator's Daraja before anything is paid."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from actions.commerce import cart, orders, payment_requests, reconciliation
from actions.commerce.model import CustomerRef
from actions.db import tables as t
from actions.worker import check_one
from devstack.processes import start_sidecar
from devstack.services import Services
from tests.conftest import settings_changed
from tests.sidecar.test_simulator import start_simulator
from tests.waiting import eventually


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    process = start_simulator(tmp_path_factory.mktemp("simulator-logs"), SIMULATOR_CALLBACK_DELAY="0.3")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def sidecar(services, database_url, tmp_path_factory):
    process = start_sidecar(Services(database_url, services.redis_url), tmp_path_factory.mktemp("sidecar-logs"))
    yield process
    process.stop()


@pytest.fixture
def stack(shop, simulator, sidecar):
    """The in-process runtime (the action server's and the worker's part) pointed at the simulator."""
    with settings_changed(
        shop,
        mpesa_base_url=simulator.url,
        mpesa_consumer_key="key",
        mpesa_consumer_secret="secret",
        mpesa_passkey="passkey",
        public_base_url=sidecar.url,
    ):
        yield shop


async def pay_by_mpesa(rt, phone):
    who = CustomerRef("demo-shop", phone)
    await cart.add(rt.uow(), who, "SUGAR-1KG", 1)
    order = await orders.place(rt.uow(), who, "Kilimani")
    requested = await payment_requests.request_payment(
        rt.uow(), rt.providers, who, order, "mpesa", phone, rt.settings.check_policy
    )
    return order, requested.payment


async def recorded(rt, payment):
    async with rt.sessions() as session:
        row = await session.get(t.Payment, payment.id)
        kinds = (
            await session.scalars(select(t.PaymentEvent.kind).where(t.PaymentEvent.payment_id == payment.id))
        ).all()
        due = await session.scalar(select(row.next_check_at <= func.now()))
        order = await session.scalar(select(t.Order.status).where(t.Order.id == row.order_id))
        return row.status, order, list(kinds), due


async def worker_tick(rt):
    return [await check_one(rt, due) for due in await reconciliation.claim_due(rt.uow(), rt.settings.check_policy)]


async def test_a_paid_prompt_is_settled_by_the_query_its_callback_made_due(stack):
    rt = stack
    _, payment = await pay_by_mpesa(rt, "254712345678")
    called_back = await eventually(
        lambda: _with_kinds(rt, payment, ["stk_callback"]), within=15, what="the simulator's callback recorded"
    )
    assert called_back == ("pending", "pending_payment", ["stk_callback"], True)  # kept, and asked about at once
    [checked] = await worker_tick(rt)
    assert (checked.payment_id, checked.outcome) == (payment.id, "paid")
    assert await recorded(rt, payment) == ("paid", "paid", ["stk_callback", "reconciliation"], False)


async def test_without_a_callback_the_query_settles_the_payment(stack):
    rt = stack
    _, payment = await pay_by_mpesa(rt, "254712340000")  # the simulator never calls back
    async with rt.sessions() as session, session.begin():
        await session.execute(update(t.Payment).where(t.Payment.id == payment.id).values(next_check_at=func.now()))

    async def settled():
        await worker_tick(rt)
        async with rt.sessions() as session, session.begin():  # not answered yet: ask again at once
            await session.execute(update(t.Payment).where(t.Payment.id == payment.id).values(next_check_at=func.now()))
        return (await recorded(rt, payment))[:3] == ("paid", "paid", ["reconciliation"])

    await eventually(settled, within=15, what="the query to say paid")


async def test_a_cancelled_prompt_ends_the_payment_from_its_callback(stack):
    rt = stack
    _, payment = await pay_by_mpesa(rt, "254712341032")
    ended = await eventually(lambda: _with_kinds(rt, payment, ["stk_callback"]), within=15, what="the callback")
    assert ended[:3] == ("cancelled", "pending_payment", ["stk_callback"])


async def _with_kinds(rt, payment, kinds):
    found = await recorded(rt, payment)
    return found if found[2] == kinds else None
