"""Hearing from a provider: each event recorded once, applied to the payment and its order, the customer told once."""

from dataclasses import replace

from actions.commerce import notifications, orders, settlement
from actions.commerce.model import OrderStatus
from actions.commerce.money import Money
from actions.commerce.payments import Notice, PaymentStatus, Recorded, expiry
from tests.unit.shop_world import World, event


async def test_a_success_marks_the_payment_and_its_order_paid():
    w = World()
    order, payment = await w.pending_payment()
    applied = await settlement.record(w.uow, event(payment, tenant_id=w.shop.id))
    assert (applied.result, applied.notify, applied.notice) == (Recorded.APPLIED, True, Notice.MPESA_PAID)
    assert applied.payment.status is PaymentStatus.PAID
    assert w.uow.payment(payment.id).status is PaymentStatus.PAID
    assert w.uow.order(order.id).status is OrderStatus.PAID
    assert [e.kind for e in w.uow.committed.events_of(payment.id)] == ["stk_callback"]


async def test_the_same_event_delivered_again_is_a_duplicate_and_notifies_nobody():
    w = World()
    _, payment = await w.pending_payment()
    await settlement.record_and_tell(w.uow, w.jobs, event(payment))
    again = await settlement.record_and_tell(w.uow, w.jobs, event(payment))
    assert (again.result, again.notify) == (Recorded.DUPLICATE, False)
    assert len(w.jobs.told) == 1
    assert len(w.uow.committed.events) == 1


async def test_a_success_for_another_amount_is_flagged_and_made_due_not_applied():
    w = World()
    order, payment = await w.pending_payment()
    w.uow.advance(seconds=10)  # the first check is still 50 s away
    wrong = await settlement.record_and_tell(w.uow, w.jobs, event(payment, amount=Money(100, "KES")))
    assert (wrong.result, wrong.notify) == (Recorded.AMOUNT_MISMATCH, False)
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review, row.next_check_at) == (PaymentStatus.PENDING, True, w.uow.now)
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    assert w.jobs.told == []
    assert len(w.uow.committed.events_of(payment.id)) == 1  # what the provider said is kept


async def test_an_event_sent_to_another_shops_callback_is_an_unknown_payment_and_changes_nothing():
    w = World()
    order, payment = await w.pending_payment()
    foreign = await settlement.record_and_tell(w.uow, w.jobs, event(payment, tenant_id=w.other_shop.id))
    assert (foreign.result, foreign.payment, foreign.notify) == (Recorded.UNKNOWN_PAYMENT, None, False)
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    assert [(e.payment_id, e.kind) for e in w.uow.committed.events] == [(None, "unknown_payment")]
    assert w.jobs.told == []


async def test_an_event_for_a_reference_nobody_knows_is_kept_for_review():
    w = World()
    _, payment = await w.pending_payment()
    forged = replace(event(payment), reference="ws_CO_forged")
    assert (await settlement.record(w.uow, forged)).result is Recorded.UNKNOWN_PAYMENT
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    assert [e.kind for e in w.uow.committed.events_of(None)] == ["unknown_payment"]


async def test_a_success_after_the_payment_expired_is_kept_as_expired_and_flagged_for_review():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2))
    await settlement.record_and_tell(w.uow, w.jobs, expiry(payment))
    assert (w.uow.order(order.id).status, w.stock("EGGS-TRAY")) == (OrderStatus.EXPIRED, 3)
    late = await settlement.record_and_tell(w.uow, w.jobs, event(payment, key="callback:late:0"))
    assert (late.result, late.notify) == (Recorded.UNCHANGED, False)
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review) == (PaymentStatus.EXPIRED, True)
    assert w.uow.order(order.id).status is OrderStatus.EXPIRED
    assert [t.notice for t in w.jobs.told] == [Notice.EXPIRED]  # the customer heard of the expiry only


async def test_a_late_failure_after_a_success_changes_nothing_and_is_not_flagged():
    w = World()
    order, payment = await w.pending_payment()
    await settlement.record(w.uow, event(payment))
    late = await settlement.record(w.uow, event(payment, PaymentStatus.FAILED, notice=Notice.MPESA_FAILED))
    assert (late.result, late.notify) == (Recorded.UNCHANGED, False)
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review) == (PaymentStatus.PAID, False)
    assert w.uow.order(order.id).status is OrderStatus.PAID


async def test_record_and_tell_queues_exactly_one_message_per_payment_ending():
    w = World()
    _, payment = await w.pending_payment()
    callback = event(payment, key="callback:ws:0")
    query = event(payment, key="query:ws:0", kind="reconciliation")
    for delivered in (callback, callback, query, callback, query):
        await settlement.record_and_tell(w.uow, w.jobs, delivered, correlation_id="turn-1")
    [told] = w.jobs.told
    assert (told.payment.id, told.payment.status, told.notice, told.correlation_id) == (
        payment.id,
        PaymentStatus.PAID,
        Notice.MPESA_PAID,
        "turn-1",
    )


async def test_a_failed_prompt_tells_the_customer_why_it_failed():
    w = World()
    _, payment = await w.pending_payment()
    await settlement.record_and_tell(w.uow, w.jobs, event(payment, PaymentStatus.FAILED, notice=Notice.MPESA_WRONG_PIN))
    assert [(t.payment.id, t.notice) for t in w.jobs.told] == [(payment.id, Notice.MPESA_WRONG_PIN)]


async def test_money_arriving_for_an_order_cancelled_meanwhile_is_flagged_for_staff():
    """The customer cancels while the M-Pesa prompt is on their phone, then enters their PIN anyway:
    the stock is back on the shelf and the money has arrived. Someone must look at it."""
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2))
    await orders.cancel(w.uow, w.who, order.number)
    await settlement.record_and_tell(w.uow, w.jobs, event(payment))
    assert w.uow.order(order.id).status is OrderStatus.CANCELLED
    assert w.uow.payment(payment.id).needs_review is True


async def test_a_rejected_message_changes_no_payment_but_makes_the_named_one_due_at_once():
    w = World()
    _, payment = await w.pending_payment()
    w.uow.advance(seconds=5)
    await settlement.record_rejected(w.uow, event(payment, key="rejected:abc"), note="bad_signature")
    row = w.uow.payment(payment.id)
    assert (row.status, row.next_check_at) == (PaymentStatus.PENDING, w.uow.now)
    assert [e.kind for e in w.uow.committed.events_of(None)] == ["bad_signature"]


async def test_the_customer_is_told_in_their_own_conversation_about_their_order():
    w = World()
    order, payment = await w.pending_payment()
    await settlement.record(w.uow, event(payment))
    assert await notifications.tell_customer(w.uow, w.conversations, payment.id, Notice.MPESA_PAID) is True
    [(recipient, notice)] = w.conversations.updates
    assert (recipient.conversation_id, recipient.order_number, recipient.status, notice) == (
        w.who.external_id,
        order.number,
        PaymentStatus.PAID,
        Notice.MPESA_PAID,
    )
    assert await notifications.tell_customer(w.uow, w.conversations, 999, Notice.MPESA_PAID) is False
