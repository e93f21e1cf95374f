"""Fulfilment on real PostgreSQL: each step's customer message is a job written in the step's own
transaction, with the audit row naming the staff member; the worker tells the customer each step once, in
order; cancelling a paid order flags its payment for a refund."""

import pytest
from sqlalchemy import select, text

from actions.commerce import fulfilment, settlement
from actions.commerce.model import OrderNotice, OrderStatus
from actions.commerce.ports import StaffMember
from actions.db import tables as t
from tests.fakes import FakeConversations
from tests.integration.test_outbox import Crash, crashing, paid, pending_payment, reachable_rasa, run_worker_until_idle

S = OrderStatus


async def order_jobs(rt) -> list[dict]:
    query = text(
        "SELECT status::text, lock, queueing_lock, args FROM procrastinate_jobs"
        " WHERE queue_name = :queue AND task_name = 'notify_order' ORDER BY id"
    )
    async with rt.engine.connect() as conn:
        rows = (await conn.execute(query, {"queue": rt.settings.jobs_queue})).mappings().all()
    return [{**row["args"], **{k: v for k, v in row.items() if k != "args"}} for row in rows]


@pytest.fixture
async def staff(shop):
    async with shop.sessions() as session, session.begin():
        tenant_id = await session.scalar(select(t.Tenant.id).where(t.Tenant.slug == "demo-shop"))
        user = t.StaffUser(tenant_id=tenant_id, email="amina@demo.example", name="Amina", password_hash="-")
        session.add(user)
        await session.flush()
        return StaffMember(user.id, tenant_id, user.email)


async def paid_order(rt, reference="ws_CO_fulfil"):
    payment = await pending_payment(rt, reference)
    await settlement.record(rt.uow(), paid(payment))
    async with rt.sessions() as session:
        number = await session.scalar(select(t.Order.number).where(t.Order.id == payment.order_id))
    return number, payment


async def order_row(rt, number: str) -> t.Order:
    async with rt.sessions() as session:
        return await session.scalar(select(t.Order).where(t.Order.number == number))


async def test_a_step_writes_its_job_and_its_audit_row_in_its_own_transaction(shop, staff):
    number, _ = await paid_order(shop)
    await fulfilment.move(shop.uow(), staff, number, S.PACKED)
    order = await order_row(shop, number)
    [job] = await order_jobs(shop)
    assert (job["order_id"], job["notice"], job["status"]) == (order.id, "packed", "todo")
    assert (job["lock"], job["queueing_lock"]) == (f"order:{order.id}", f"order:{order.id}:packed")
    async with shop.sessions() as session:
        audit = (
            await session.execute(
                select(t.AuditEntry.action, t.AuditEntry.subject, t.AuditEntry.details, t.StaffUser.email).join(
                    t.StaffUser, t.StaffUser.id == t.AuditEntry.staff_user_id
                )
            )
        ).all()
    assert audit == [("order_packed", f"order:{number}", {"was": "paid"}, "amina@demo.example")]


async def test_a_step_whose_transaction_rolls_back_leaves_no_job_no_audit_row_and_the_order_as_it_was(shop, staff):
    number, _ = await paid_order(shop)
    with pytest.raises(Crash):
        await fulfilment.move(crashing(shop.uow(), after_commit=False), staff, number, S.DELIVERED)
    assert (await order_row(shop, number)).status == "paid"
    assert await order_jobs(shop) == []
    async with shop.sessions() as session:
        assert await session.scalar(select(t.AuditEntry.id)) is None


async def test_the_worker_tells_each_step_once_and_in_order(shop, staff):
    number, _ = await paid_order(shop)
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)  # the payment's own message
        await fulfilment.move(shop.uow(), staff, number, S.OUT_FOR_DELIVERY)
        await run_worker_until_idle(shop)
        await fulfilment.move(shop.uow(), staff, number, S.DELIVERED)
        await run_worker_until_idle(shop)
        await run_worker_until_idle(shop)
    assert [(r.order_number, n, r.status) for r, n, _ in rasa.order_updates] == [
        (number, OrderNotice.OUT_FOR_DELIVERY, S.OUT_FOR_DELIVERY),
        (number, OrderNotice.DELIVERED, S.DELIVERED),
    ]
    assert [j["status"] for j in await order_jobs(shop)] == ["succeeded", "succeeded"]
    assert (await order_row(shop, number)).customer_told_status == "delivered"


async def test_steps_queued_while_the_bot_was_away_end_in_the_latest_one_only(shop, staff):
    number, _ = await paid_order(shop)
    for step in (S.PACKED, S.OUT_FOR_DELIVERY, S.DELIVERED):
        await fulfilment.move(shop.uow(), staff, number, step)
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)
    assert [n for _, n, _ in rasa.order_updates] == [OrderNotice.DELIVERED]


async def test_cancelling_a_paid_order_flags_its_payment_puts_the_stock_back_and_tells_the_customer_why(shop, staff):
    number, payment = await paid_order(shop)
    async with shop.sessions() as session:
        before = await session.scalar(select(t.Product.stock).where(t.Product.sku == "SUGAR-1KG"))
    await fulfilment.move(shop.uow(), staff, number, S.CANCELLED, "Rider could not find the address")
    async with shop.sessions() as session:
        flagged = await session.get(t.Payment, payment.id)
        stock = await session.scalar(select(t.Product.stock).where(t.Product.sku == "SUGAR-1KG"))
    assert (flagged.status, flagged.needs_review, stock) == ("paid", True, before + 1)
    [job] = await order_jobs(shop)
    assert (job["notice"], job["reason"]) == ("cancelled_refund", "Rider could not find the address")
    async with reachable_rasa(shop, FakeConversations()) as rasa:
        await run_worker_until_idle(shop)
    assert [(n, r) for _, n, r in rasa.order_updates] == [
        (OrderNotice.CANCELLED_REFUND, "Rider could not find the address")
    ]
