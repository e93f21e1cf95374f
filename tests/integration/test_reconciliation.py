"""Reconciliation on real PostgreSQL: claiming due checks, surviving a killed worker, expiring at the end."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from actions.commerce import cart, orders, payment_requests, reconciliation, settlement
from actions.commerce.model import CustomerRef
from actions.commerce.money import Money
from actions.commerce.payments import CheckPolicy, PaymentStatus, ProviderEvent
from actions.db import tables as t
from actions.worker import check_one
from tests.conftest import settings_changed

WHO = CustomerRef("demo-shop", "254700000088")


async def silent_payment(rt, reference="ws_CO_silent"):
    await cart.add(rt.uow(), WHO, "EGGS-TRAY", 2)
    order = await orders.place(rt.uow(), WHO, "Kilimani")
    payment = await payment_requests.start(rt.uow(), order.id, "mpesa", reference, order.total, "254712345678")
    async with rt.sessions() as session, session.begin():  # due now
        await session.execute(update(t.Payment).where(t.Payment.id == payment.id).values(next_check_at=func.now()))
    return order, payment


async def claim(rt, backoff=60.0):
    async with rt.uow() as uow:
        claimed = await uow.payments.claim_due(20, CheckPolicy(backoff=timedelta(seconds=backoff)))
        await uow.commit()
    return claimed


async def test_a_claimed_check_moves_back_with_a_doubling_wait(shop):
    _, payment = await silent_payment(shop)
    [due] = await claim(shop)
    assert (due.payment.id, due.checks_before) == (payment.id, 0)
    assert await claim(shop) == []  # not due again until the backoff has passed


async def test_a_worker_killed_after_claiming_loses_no_check(shop):
    _, payment = await silent_payment(shop)
    [first] = await claim(shop, backoff=0)  # the worker claims, then dies before asking the provider
    [again] = await claim(shop, backoff=0)  # the next worker finds the same payment due
    assert again.payment.id == first.payment.id == payment.id and again.checks_before == 1


@pytest.fixture
def unreachable_daraja(shop):
    """Daraja on a closed local port: every query fails at once."""
    with settings_changed(
        shop,
        mpesa_base_url="http://127.0.0.1:9",
        mpesa_consumer_key="k",
        mpesa_consumer_secret="s",
        mpesa_passkey="p",
        reconcile_max_checks=2,
    ):
        yield shop


async def check_due(rt):
    """What the worker's tick does: claim the due checks, then check each."""
    return [await check_one(rt, due) for due in await reconciliation.claim_due(rt.uow(), rt.settings.check_policy)]


async def stock_of(rt, sku):
    async with rt.sessions() as session:
        return await session.scalar(select(t.Product.stock).where(t.Product.sku == sku))


async def test_an_unanswered_payment_expires_only_once_the_retry_window_has_closed(unreachable_daraja):
    rt = unreachable_daraja
    before = await stock_of(rt, "EGGS-TRAY")
    order, payment = await silent_payment(rt)
    assert await stock_of(rt, "EGGS-TRAY") == before - 2

    for _ in range(3):  # the 2 regular checks, and more: no answer, and Daraja could still say paid
        [check] = await check_due(rt)
        assert check.applied is None
        async with rt.sessions() as session, session.begin():
            await session.execute(update(t.Payment).values(next_check_at=func.now()))
    async with rt.sessions() as session:
        row = await session.get(t.Payment, payment.id)
        assert (row.status, row.check_attempts) == ("pending", 3)
    async with rt.sessions() as session, session.begin():  # the window has passed
        await session.execute(update(t.Payment).values(created_at=func.now() - timedelta(hours=2)))
    [last] = await check_due(rt)  # no answer after the window: the payment expires
    assert (last.applied.result, last.applied.notice) == ("applied", "expired")

    async with rt.sessions() as session:
        payment = await session.scalar(select(t.Payment.status))
        order_status = await session.scalar(select(t.Order.status).where(t.Order.id == order.id))
    assert (payment, order_status) == ("expired", "expired")
    assert await stock_of(rt, "EGGS-TRAY") == before


async def test_a_doubtful_callback_makes_the_next_check_due_at_once(shop):
    _, payment = await silent_payment(shop)
    await claim(shop)  # pushed back a minute
    wrong = ProviderEvent("mpesa", "cb-wrong", payment.reference, PaymentStatus.PAID, "stk_callback", Money(100, "KES"))
    assert (await settlement.record(shop.uow(), wrong)).result == "amount_mismatch"
    assert [due.payment.id for due in await claim(shop)] == [payment.id]


async def test_an_order_nobody_pays_for_gives_its_stock_back_after_the_window(shop):
    before = await stock_of(shop, "EGGS-TRAY")
    order, payment = await silent_payment(shop)
    two_hours_ago = func.now() - timedelta(hours=2)
    async with shop.sessions() as session, session.begin():
        await session.execute(update(t.Order).values(created_at=two_hours_ago, updated_at=two_hours_ago))
    assert await orders.expire_abandoned(shop.uow(), older_than=timedelta(minutes=60)) == []  # its payment is pending
    await settlement.record(
        shop.uow(), ProviderEvent("mpesa", "cb-1032", payment.reference, PaymentStatus.CANCELLED, "cb")
    )
    assert await orders.expire_abandoned(shop.uow(), older_than=timedelta(minutes=60)) == [order.id]
    assert await stock_of(shop, "EGGS-TRAY") == before
    assert await orders.expire_abandoned(shop.uow(), older_than=timedelta(minutes=60)) == []  # and only once


async def test_an_order_asked_to_be_paid_again_is_not_abandoned_for_another_window(shop):
    await cart.add(shop.uow(), WHO, "EGGS-TRAY", 1)
    order = await orders.place(shop.uow(), WHO, "Kilimani")
    async with shop.sessions() as session, session.begin():
        await session.execute(update(t.Order).values(created_at=func.now() - timedelta(hours=2)))
        await session.execute(update(t.Order).values(updated_at=func.now() - timedelta(hours=2)))
    async with shop.uow() as uow:  # what asking for a payment does first
        await uow.orders.touch(order.id)
        await uow.commit()
    assert await orders.expire_abandoned(shop.uow(), older_than=timedelta(minutes=60)) == []
