"""Fulfilment by staff: paid → packed → out for delivery → delivered, or cancelled with a reason; the
customer's message and the audit row go with each step, and money received for a cancelled order is flagged."""

import pytest

from actions.commerce import fulfilment, notifications, settlement
from actions.commerce.errors import ConversationsUnreachable, NotFound, Refused
from actions.commerce.model import OrderNotice, OrderStatus
from actions.commerce.payments import PaymentStatus
from tests.unit.shop_world import World, event

S = OrderStatus
ALLOWED = [
    (S.PAID, S.PACKED),
    (S.PAID, S.OUT_FOR_DELIVERY),
    (S.PAID, S.DELIVERED),
    (S.PACKED, S.OUT_FOR_DELIVERY),
    (S.PACKED, S.DELIVERED),
    (S.OUT_FOR_DELIVERY, S.DELIVERED),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PAID, S.CANCELLED),
    (S.PACKED, S.CANCELLED),
    (S.OUT_FOR_DELIVERY, S.CANCELLED),
]


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("to", list(S))
def test_only_forward_steps_from_paid_and_cancelling_before_delivery_are_allowed(current, to):
    assert (fulfilment.refusal(current, to) is None) == ((current, to) in ALLOWED)


def test_a_refusal_says_where_the_order_is():
    assert fulfilment.refusal(S.PENDING_PAYMENT, S.PACKED) == "it is pending payment: only a paid order moves on"
    assert fulfilment.refusal(S.DELIVERED, S.PACKED) == "it is delivered already"
    assert fulfilment.refusal(S.CANCELLED, S.PACKED) == "it is cancelled: only a paid order moves on"
    assert fulfilment.refusal(S.OUT_FOR_DELIVERY, S.PACKED) == "it is out for delivery already"
    assert fulfilment.refusal(S.DELIVERED, S.CANCELLED) == "it is delivered and can no longer be cancelled"
    assert fulfilment.refusal(S.PAID, S.EXPIRED) == "expired is not a step staff can set"


async def paid_order(w: World, *lines):
    order, payment = await w.pending_payment(*lines)
    await settlement.record(w.uow, event(payment))
    return order, payment


async def test_each_step_moves_the_order_writes_the_audit_log_and_queues_the_customers_message():
    w = World()
    order, _ = await paid_order(w)
    for step in (S.PACKED, S.OUT_FOR_DELIVERY, S.DELIVERED):
        moved = await fulfilment.move(w.uow, w.staff, order.number.lower(), step)
        assert moved.status is step and w.uow.order(order.id).status is step
    assert [(t.order_id, t.notice) for t in w.uow.committed.told_orders] == [
        (order.id, OrderNotice.PACKED),
        (order.id, OrderNotice.OUT_FOR_DELIVERY),
        (order.id, OrderNotice.DELIVERED),
    ]
    audit = [(a.staff_user_id, a.action, a.subject, a.details) for a in w.uow.committed.audit]
    assert audit == [
        (w.staff.user_id, "order_packed", f"order:{order.number}", {"was": "paid"}),
        (w.staff.user_id, "order_out_for_delivery", f"order:{order.number}", {"was": "packed"}),
        (w.staff.user_id, "order_delivered", f"order:{order.number}", {"was": "out_for_delivery"}),
    ]


async def test_a_refused_step_changes_nothing_and_tells_nobody():
    w = World()
    order, _ = await w.pending_payment()
    with pytest.raises(Refused, match="only a paid order moves on"):
        await fulfilment.move(w.uow, w.staff, order.number, S.DELIVERED)
    paid, _ = await paid_order(w, ("MILK-500ML", 1))
    await fulfilment.move(w.uow, w.staff, paid.number, S.DELIVERED)
    with pytest.raises(Refused, match="delivered and can no longer be cancelled"):
        await fulfilment.move(w.uow, w.staff, paid.number, S.CANCELLED, "customer changed their mind")
    assert w.uow.order(order.id).status is S.PENDING_PAYMENT and w.uow.order(paid.id).status is S.DELIVERED
    assert [t.notice for t in w.uow.committed.told_orders] == [OrderNotice.DELIVERED]
    assert [a.action for a in w.uow.committed.audit] == ["order_delivered"]


async def test_another_shops_order_is_not_found_and_not_touched():
    w = World()
    order, _ = await paid_order(w)
    with pytest.raises(NotFound):
        await fulfilment.move(w.uow, w.other_staff, order.number, S.PACKED)
    assert w.uow.order(order.id).status is S.PAID
    assert (w.uow.committed.audit, w.uow.committed.told_orders) == ([], [])


@pytest.mark.parametrize("reason", ["", "no", "   x   "])
async def test_cancelling_needs_a_reason(reason):
    w = World()
    order, _ = await paid_order(w)
    with pytest.raises(Refused, match="Say why"):
        await fulfilment.move(w.uow, w.staff, order.number, S.CANCELLED, reason)
    assert w.uow.order(order.id).status is S.PAID


async def test_a_reason_the_customer_cannot_read_in_one_go_is_refused():
    w = World()
    order, _ = await paid_order(w)
    with pytest.raises(Refused, match="under 300"):
        await fulfilment.move(w.uow, w.staff, order.number, S.CANCELLED, "x" * 301)


async def test_cancelling_a_paid_order_puts_the_stock_back_and_flags_the_money_for_a_refund():
    w = World()
    order, payment = await paid_order(w, ("SUGAR-1KG", 3))
    assert w.stock("SUGAR-1KG") == 7
    await fulfilment.move(w.uow, w.staff, order.number, S.CANCELLED, "  out of   delivery range ")
    assert w.uow.order(order.id).status is S.CANCELLED and w.stock("SUGAR-1KG") == 10
    assert w.uow.payment(payment.id).needs_review and w.uow.payment(payment.id).status is PaymentStatus.PAID
    [told] = w.uow.committed.told_orders
    assert (told.notice, told.reason) == (OrderNotice.CANCELLED_REFUND, "out of delivery range")
    actions = [(a.action, a.subject, a.reason) for a in w.uow.committed.audit]
    assert actions == [
        ("refund_needed", f"payment:{payment.id}", "out of delivery range"),
        ("order_cancelled", f"order:{order.number}", "out of delivery range"),
    ]


async def test_cancelling_an_unpaid_order_flags_nothing():
    w = World()
    order = await w.order(("EGGS-TRAY", 2))
    await fulfilment.move(w.uow, w.staff, order.number, S.CANCELLED, "customer called to cancel")
    assert w.uow.order(order.id).status is S.CANCELLED and w.stock("EGGS-TRAY") == 3
    assert [t.notice for t in w.uow.committed.told_orders] == [OrderNotice.CANCELLED]


async def test_an_unpaid_order_with_an_open_mpesa_prompt_is_not_cancelled():
    w = World()
    order, payment = await w.pending_payment()
    with pytest.raises(Refused, match="M-Pesa prompt"):
        await fulfilment.move(w.uow, w.staff, order.number, S.CANCELLED, "customer called to cancel")
    assert w.uow.order(order.id).status is S.PENDING_PAYMENT and not w.uow.payment(payment.id).needs_review


async def test_bulk_moves_the_orders_that_can_move_and_says_why_the_others_did_not():
    w = World()
    first, _ = await paid_order(w, ("SUGAR-1KG", 1))
    second, _ = await paid_order(w, ("MILK-500ML", 1))
    await fulfilment.move(w.uow, w.staff, second.number, S.DELIVERED)
    unpaid = await w.order(("SUGAR-2KG", 1))
    numbers = [first.number, second.number, unpaid.number, "ZZZZZ9", first.number.lower(), " "]
    result = await fulfilment.move_many(w.uow, w.staff, numbers, S.OUT_FOR_DELIVERY)
    assert result.moved == [first.number]
    assert result.refused == [
        (second.number, "it is delivered already"),
        (unpaid.number, "it is pending payment: only a paid order moves on"),
        ("ZZZZZ9", "no such order"),
    ]
    assert w.uow.order(first.id).status is S.OUT_FOR_DELIVERY
    assert w.uow.order(second.id).status is S.DELIVERED and w.uow.order(unpaid.id).status is S.PENDING_PAYMENT
    assert f"1 order(s) marked out for delivery: {first.number}" in result.summary(S.OUT_FOR_DELIVERY)


async def test_bulk_cancelling_without_a_reason_or_without_orders_changes_nothing():
    w = World()
    order, _ = await paid_order(w)
    with pytest.raises(Refused, match="Say why"):
        await fulfilment.move_many(w.uow, w.staff, [order.number], S.CANCELLED, "")
    with pytest.raises(Refused, match="Tick at least one"):
        await fulfilment.move_many(w.uow, w.staff, [], S.PACKED)
    with pytest.raises(Refused, match="At most 100"):
        await fulfilment.move_many(w.uow, w.staff, [f"A{n:05d}" for n in range(101)], S.PACKED)
    assert w.uow.order(order.id).status is S.PAID and w.uow.committed.audit == []


# --- telling the customer (the worker's job) --------------------------------------------------------


async def test_the_customer_is_told_each_step_once():
    w = World()
    order, _ = await paid_order(w)
    await fulfilment.move(w.uow, w.staff, order.number, S.PACKED)
    assert await notifications.tell_order_step(w.uow, w.conversations, order.id, OrderNotice.PACKED)
    assert not await notifications.tell_order_step(w.uow, w.conversations, order.id, OrderNotice.PACKED)
    [(recipient, notice, reason)] = w.conversations.order_updates
    assert (recipient.conversation_id, recipient.order_number, notice, reason) == (
        w.who.external_id,
        order.number,
        OrderNotice.PACKED,
        "",
    )


async def test_a_step_the_order_has_moved_past_is_not_told():
    w = World()
    order, _ = await paid_order(w)
    await fulfilment.move(w.uow, w.staff, order.number, S.PACKED)
    await fulfilment.move(w.uow, w.staff, order.number, S.DELIVERED)
    assert not await notifications.tell_order_step(w.uow, w.conversations, order.id, OrderNotice.PACKED)
    assert await notifications.tell_order_step(w.uow, w.conversations, order.id, OrderNotice.DELIVERED)
    assert [n for _, n, _ in w.conversations.order_updates] == [OrderNotice.DELIVERED]


async def test_a_cancellation_is_told_with_its_reason_and_an_unreachable_bot_leaves_it_untold():
    w = World()
    order, _ = await paid_order(w)
    await fulfilment.move(w.uow, w.staff, order.number, S.CANCELLED, "rain closed the road")
    w.conversations.unreachable = True
    with pytest.raises(ConversationsUnreachable):
        await notifications.tell_order_step(
            w.uow, w.conversations, order.id, OrderNotice.CANCELLED_REFUND, "rain closed the road"
        )
    assert w.uow.order(order.id).customer_told_status is None
    w.conversations.unreachable = False
    assert await notifications.tell_order_step(
        w.uow, w.conversations, order.id, OrderNotice.CANCELLED_REFUND, "rain closed the road"
    )
    assert [(n, r) for _, n, r in w.conversations.order_updates] == [
        (OrderNotice.CANCELLED_REFUND, "rain closed the road")
    ]
