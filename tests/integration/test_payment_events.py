"""Each provider event is applied at most once, in the same transaction as its effect, on real PostgreSQL."""

import asyncio

from sqlalchemy import func, select

from actions.commerce import cart, orders, payment_requests, settlement
from actions.commerce.model import CustomerRef
from actions.commerce.money import Money
from actions.commerce.payments import PaymentStatus, ProviderEvent
from actions.db import tables as t

WHO = CustomerRef("demo-shop", "254700000077")
ASKED = Money(36000, "KES")


async def pending_payment(rt, reference="ws_CO_1"):
    await cart.add(rt.uow(), WHO, "SUGAR-1KG", 2)
    order = await orders.place(rt.uow(), WHO, "Kilimani")
    return order, await payment_requests.start(rt.uow(), order.id, "mpesa", reference, order.total, "254712345678")


def event(key, outcome, reference="ws_CO_1", amount=ASKED):
    return ProviderEvent("mpesa", key, reference, outcome, "stk_callback", amount, {"key": key})


async def state(rt, order_id):
    async with rt.sessions() as session:
        payment = await session.scalar(select(t.Payment).where(t.Payment.order_id == order_id))
        order_status = await session.scalar(select(t.Order.status).where(t.Order.id == order_id))
        events = await session.scalar(select(func.count()).select_from(t.PaymentEvent))
        return payment.status, payment.needs_review, order_status, events


async def test_ten_concurrent_deliveries_of_one_callback_make_one_transition(shop):
    order, _ = await pending_payment(shop)
    results = await asyncio.gather(
        *(settlement.record(shop.uow(), event("cb-1", PaymentStatus.PAID)) for _ in range(10))
    )
    assert sorted(r.result for r in results) == ["applied"] + ["duplicate"] * 9
    assert sum(r.notify for r in results) == 1
    assert await state(shop, order.id) == ("paid", False, "paid", 1)


async def test_a_late_failure_after_a_success_changes_nothing(shop):
    order, _ = await pending_payment(shop)
    await settlement.record(shop.uow(), event("cb-1", PaymentStatus.PAID))
    late = await settlement.record(shop.uow(), event("query-1", PaymentStatus.FAILED))
    assert (late.result, late.notify) == ("unchanged", False)
    assert await state(shop, order.id) == ("paid", False, "paid", 2)


async def test_money_after_expiry_is_kept_and_flagged_never_dropped(shop):
    order, _ = await pending_payment(shop)
    await settlement.record(shop.uow(), event("expiry", PaymentStatus.EXPIRED))
    late = await settlement.record(shop.uow(), event("cb-late", PaymentStatus.PAID))
    assert late.result == "unchanged"
    assert await state(shop, order.id) == ("expired", True, "pending_payment", 2)


async def test_a_success_for_the_wrong_amount_is_flagged_not_applied(shop):
    order, _ = await pending_payment(shop)
    wrong = await settlement.record(shop.uow(), event("cb-1", PaymentStatus.PAID, amount=Money(100, "KES")))
    assert wrong.result == "amount_mismatch"
    assert await state(shop, order.id) == ("pending", True, "pending_payment", 1)


async def test_an_event_for_an_unknown_payment_is_recorded_for_review(shop):
    order, _ = await pending_payment(shop)
    unknown = await settlement.record(shop.uow(), event("cb-x", PaymentStatus.PAID, reference="ws_CO_forged"))
    assert unknown.result == "unknown_payment"
    assert await state(shop, order.id) == ("pending", False, "pending_payment", 1)
