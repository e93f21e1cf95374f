"""Each provider event is applied at most once, in the same transaction as its effect, on evidence only,
on real PostgreSQL; what the ledger does not take is kept apart and changes nothing."""

import asyncio
import random
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event as sql_events
from sqlalchemy import func, select, update

from actions.commerce import cart, orders, payment_requests, settlement
from actions.commerce.errors import PaymentStillPending, Refused
from actions.commerce.model import CustomerRef, OrderStatus
from actions.commerce.money import Money
from actions.commerce.payments import (
    CallbackCredentials,
    Notice,
    PaymentStatus,
    ProviderEvent,
    Recorded,
    RejectCaps,
    Rejected,
)
from actions.db import tables as t
from tests.conftest import queued_messages

WHO = CustomerRef("demo-shop", "254700000077")
ASKED = Money(36000, "KES")
NONCE = "N" * 43


async def pending_payment(rt, reference="ws_CO_1", provider="mpesa"):
    await cart.add(rt.uow(), WHO, "SUGAR-1KG", 2)
    order = await orders.place(rt.uow(), WHO, "Kilimani")
    nonce = NONCE if provider == "mpesa" else None
    payment = await payment_requests.start(
        rt.uow(), order.id, provider, reference, order.total, "254712345678", callback_nonce=nonce
    )
    return order, payment


def event(key, outcome, reference="ws_CO_1", amount=ASKED):
    """What Daraja itself answered (a query): believed as it is."""
    return ProviderEvent("mpesa", key, reference, outcome, "reconciliation", amount, {"key": key})


async def url_of(rt, payment) -> CallbackCredentials:
    async with rt.sessions() as session:
        secret = await session.scalar(select(t.Tenant.mpesa_callback_secret).where(t.Tenant.id == payment.tenant_id))
    return CallbackCredentials(payment.tenant_id, secret, payment.callback_nonce)


def claim(payment, url, amount=ASKED, receipt="QK71ABCXYZ", code=0):
    """An M-Pesa callback to `url`: a claim, by default a success with its Amount and receipt."""
    outcome = PaymentStatus.PAID if code == 0 else PaymentStatus.CANCELLED
    return ProviderEvent(
        "mpesa", f"callback:{code}", payment.reference, outcome, "stk_callback", amount, {"code": code},
        url.tenant_id, Notice.MPESA_PAID, needs_confirmation=True, receipt=receipt, credentials=url,
    )  # fmt: skip


async def state(rt, order_id):
    async with rt.sessions() as session:
        payment = await session.scalar(select(t.Payment).where(t.Payment.order_id == order_id))
        order_status = await session.scalar(select(t.Order.status).where(t.Order.id == order_id))
        events = await session.scalar(select(func.count()).select_from(t.PaymentEvent))
        return payment.status, payment.needs_review, order_status, events


async def due_now(rt, payment) -> bool:
    async with rt.sessions() as session:
        row = await session.get(t.Payment, payment.id)
        return await session.scalar(select(row.next_check_at <= func.now()))


async def test_ten_concurrent_deliveries_of_one_callback_make_one_transition(shop):
    order, _ = await pending_payment(shop)
    results = await asyncio.gather(
        *(settlement.record(shop.uow(), event("query:0", PaymentStatus.PAID)) for _ in range(10))
    )
    assert sorted(r.result for r in results) == ["applied"] + ["duplicate"] * 9
    assert sum(r.notify for r in results) == 1
    assert await state(shop, order.id) == ("paid", False, "paid", 1)


async def test_a_settlement_is_four_statements_with_its_job_and_a_repeated_delivery_one_read(shop):
    """The webhook's hot path (devstack/bench.py): the payment with its keys, the event with the payment's
    lock, the order, the payment; a repeated delivery is the read alone and writes nothing."""
    order, _ = await pending_payment(shop)
    paid = replace(event("query:0", PaymentStatus.PAID), notice=Notice.MPESA_PAID)
    statements: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0])

    sql_events.listen(shop.engine.sync_engine, "before_cursor_execute", note)
    try:
        first = await settlement.record(shop.uow(), paid)
        settling, statements[:] = list(statements), []
        again = await settlement.record(shop.uow(), paid)
    finally:
        sql_events.remove(shop.engine.sync_engine, "before_cursor_execute", note)
    assert (first.result, again.result) == (Recorded.APPLIED, Recorded.DUPLICATE)
    assert settling == ["SELECT", "WITH", "UPDATE", "UPDATE"]
    assert statements == ["SELECT"]
    assert len(await queued_messages(shop)) == 1  # the job, in the settlement's transaction
    assert await state(shop, order.id) == ("paid", False, "paid", 1)


async def test_a_success_callback_without_metadata_ends_not_settled_kept_flagged_and_due(shop):
    """Today's forgery: ResultCode 0 and the right CheckoutRequestID, no CallbackMetadata."""
    order, payment = await pending_payment(shop)
    url = await url_of(shop, payment)
    bare = await settlement.record(shop.uow(), claim(payment, url, amount=None, receipt=None))
    assert bare.result is Recorded.NO_EVIDENCE
    assert await state(shop, order.id) == ("pending", True, "pending_payment", 1)
    assert await due_now(shop, payment)


async def test_a_success_callback_with_its_evidence_waits_for_the_query_and_the_query_settles(shop):
    order, payment = await pending_payment(shop)
    url = await url_of(shop, payment)
    copies = await asyncio.gather(*(settlement.record(shop.uow(), claim(payment, url)) for _ in range(3)))
    assert sorted(c.result for c in copies) == ["awaiting_confirmation", "duplicate", "duplicate"]
    assert await state(shop, order.id) == ("pending", False, "pending_payment", 1)
    assert await due_now(shop, payment)
    confirmed = await settlement.record(shop.uow(), event("query:0", PaymentStatus.PAID, amount=None))
    assert confirmed.result is Recorded.APPLIED
    assert await state(shop, order.id) == ("paid", False, "paid", 2)
    async with shop.sessions() as session:
        keys = (await session.scalars(select(t.PaymentEvent.event_key).order_by(t.PaymentEvent.id))).all()
    assert keys == [f"mpesa:callback:{payment.id}:0", f"mpesa:query:{payment.id}:0"]


async def test_a_callback_with_another_payments_nonce_or_shop_is_refused_and_recorded_nowhere(shop):
    order, payment = await pending_payment(shop)
    url = await url_of(shop, payment)
    for forged in (
        CallbackCredentials(url.tenant_id, url.shop_secret, "X" * 43),
        CallbackCredentials(url.tenant_id, "S" * 43, url.nonce),
    ):
        assert (await settlement.record(shop.uow(), claim(payment, forged, code=1032))).result is Recorded.REJECTED
    assert await state(shop, order.id) == ("pending", False, "pending_payment", 0)


async def test_a_callback_before_its_payment_row_exists_does_not_use_up_the_genuine_ones_key(shop):
    await cart.add(shop.uow(), WHO, "SUGAR-1KG", 2)
    order = await orders.place(shop.uow(), WHO, "Kilimani")
    early = event("query:0", PaymentStatus.PAID, reference="ws_CO_fast")
    assert (await settlement.record(shop.uow(), early)).result is Recorded.UNKNOWN_PAYMENT
    await payment_requests.start(shop.uow(), order.id, "mpesa", "ws_CO_fast", order.total)
    assert (await settlement.record(shop.uow(), early)).result is Recorded.APPLIED
    assert await state(shop, order.id) == ("paid", False, "paid", 1)


async def test_after_a_rotation_the_previous_secret_is_admitted_and_a_second_rotation_waits(shop):
    order, payment = await pending_payment(shop)
    before = await url_of(shop, payment)
    await payment_requests.rotate_callback_secret(shop.uow(), "demo-shop", timedelta(hours=1))
    assert (await url_of(shop, payment)).shop_secret != before.shop_secret
    with pytest.raises(Refused):
        await payment_requests.rotate_callback_secret(shop.uow(), "demo-shop", timedelta(hours=1))
    assert (await settlement.record(shop.uow(), claim(payment, before, code=1032))).result is Recorded.APPLIED
    assert await state(shop, order.id) == ("cancelled", False, "pending_payment", 1)


async def test_a_late_failure_after_a_success_changes_nothing(shop):
    order, _ = await pending_payment(shop)
    await settlement.record(shop.uow(), event("query:0", PaymentStatus.PAID))
    late = await settlement.record(shop.uow(), event("query:1", PaymentStatus.FAILED))
    assert (late.result, late.notify) == ("unchanged", False)
    assert await state(shop, order.id) == ("paid", False, "paid", 2)


async def test_money_after_expiry_is_kept_and_flagged_never_dropped(shop):
    order, _ = await pending_payment(shop)
    await settlement.record(shop.uow(), event("expiry", PaymentStatus.EXPIRED))
    late = await settlement.record(shop.uow(), event("query:0", PaymentStatus.PAID))
    assert late.result == "unchanged"
    assert await state(shop, order.id) == ("expired", True, "pending_payment", 2)


async def test_a_success_for_the_wrong_amount_is_flagged_not_applied(shop):
    order, _ = await pending_payment(shop)
    wrong = await settlement.record(shop.uow(), event("query:0", PaymentStatus.PAID, amount=Money(100, "KES")))
    assert wrong.result == "amount_mismatch"
    assert await state(shop, order.id) == ("pending", True, "pending_payment", 1)


async def test_an_order_under_a_live_m_pesa_prompt_is_not_cancelled(shop):
    order, payment = await pending_payment(shop)
    with pytest.raises(PaymentStillPending):
        await orders.cancel(shop.uow(), WHO, order.number)
    assert await state(shop, order.id) == ("pending", False, "pending_payment", 0)
    await settlement.record(shop.uow(), claim(payment, await url_of(shop, payment), amount=None, code=1032))
    assert (await orders.cancel(shop.uow(), WHO, order.number)).status is OrderStatus.CANCELLED


async def test_card_money_for_an_order_cancelled_meanwhile_is_flagged_and_the_customer_told_the_truth(shop):
    order, payment = await pending_payment(shop, "ORD-card-ended", provider="paystack")
    await orders.cancel(shop.uow(), WHO, order.number)  # a card link does not hold the order
    paid = ProviderEvent("paystack", "charge.success", payment.reference, PaymentStatus.PAID, "charge.success", ASKED)
    applied = await settlement.record(shop.uow(), paid)
    assert (applied.result, applied.notice) == (Recorded.APPLIED, Notice.PAID_FOR_ENDED_ORDER)
    assert await state(shop, order.id) == ("paid", True, "cancelled", 1)
    assert [(m["payment_id"], m["notice"]) for m in await queued_messages(shop)] == [
        (payment.id, Notice.PAID_FOR_ENDED_ORDER.value)
    ]


async def test_forged_and_unknown_messages_are_kept_apart_capped_and_change_no_payment(shop):
    order, payment = await pending_payment(shop)
    async with shop.sessions() as session, session.begin():  # not due for a while
        await session.execute(update(t.Payment).values(next_check_at=func.now() + timedelta(minutes=5)))
    caps = RejectCaps(per_address_per_hour=3, per_hour=100)
    forged = Rejected("mpesa", "bad_token", "41.90.1.2", {"Body": {}}, payment.reference)
    kept = await asyncio.gather(*(settlement.record_rejected(shop.uow(), forged, caps) for _ in range(5)))
    assert sorted(kept) == [False, False, True, True, True]
    async with shop.sessions() as session:
        stored = (await session.scalars(select(t.RejectedMessage.reason))).all()
        [(received,)] = (
            await session.execute(
                select(t.RejectedMessageCount.received).where(t.RejectedMessageCount.source_address == "41.90.1.2")
            )
        ).all()
        row = await session.get(t.Payment, payment.id)
        due = await session.scalar(select(row.next_check_at <= func.now()))
    assert (stored, received) == (["bad_token"] * 3, 5)  # three kept, all five counted
    assert (row.status, row.check_attempts, row.needs_review, due) == ("pending", 0, False, False)
    assert await state(shop, order.id) == ("pending", False, "pending_payment", 0)


async def test_fifty_concurrent_orders_over_overlapping_products_never_deadlock_and_keep_stock_exact(shop):
    """Every writing transaction of a shop moves its cache version: revision 0003's per-shop row made each
    wait for the others, and two orders sharing products deadlocked (each held the version row, or a
    product, that the other wanted)."""
    skus = ["SUGAR-1KG", "SUGAR-2KG", "MILK-500ML", "BREAD-400G", "EGGS-6"]
    async with shop.sessions() as session, session.begin():
        await session.execute(update(t.Product).where(t.Product.sku.in_(skus)).values(stock=200))
    rng = random.Random(7)
    customers = [CustomerRef("demo-shop", f"2547100{n:05d}") for n in range(50)]
    wanted = {}
    for who in customers:
        lines = {sku: rng.randint(1, 2) for sku in rng.sample(skus, 3)}
        wanted[who.external_id] = lines
        for sku, quantity in lines.items():
            await cart.add(shop.uow(), who, sku, quantity)
    results = await asyncio.gather(*(orders.place(shop.uow(), who) for who in customers), return_exceptions=True)

    assert [r for r in results if isinstance(r, Exception)] == []  # no deadlock, no lock timeout
    taken = {sku: sum(lines.get(sku, 0) for lines in wanted.values()) for sku in skus}
    async with shop.sessions() as session:
        query = select(t.Product.sku, t.Product.stock).where(t.Product.sku.in_(skus))
        stock = dict((await session.execute(query)).all())
        placed = await session.scalar(select(func.count()).select_from(t.Order))
    assert (placed, stock) == (50, {sku: 200 - taken[sku] for sku in skus})
