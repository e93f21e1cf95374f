"""What staff do from the admin pages: confirm or refresh a payment, hand a conversation back to the bot."""

import pytest

from actions.commerce import backoffice, handoffs, settlement
from actions.commerce.errors import ConversationsUnreachable, NotFound, Refused
from actions.commerce.model import CustomerRef, OrderStatus
from actions.commerce.payments import Notice, PaymentStatus
from tests.unit.shop_world import World, event

RECEIPT = "  M-Pesa   receipt SGH7Y2K1LM  "


async def mark_verified(w: World, payment_id: int, reason: str = RECEIPT, staff=None):
    return await backoffice.mark_verified(w.uow, w.providers, staff or w.staff, payment_id, reason)


# --- confirming a payment by hand ---------------------------------------------------------------


async def test_staff_confirming_a_payment_marks_it_and_its_order_paid_tells_the_customer_and_writes_the_audit_log():
    w = World()
    order, payment = await w.pending_payment()
    assert "Marked as paid" in await mark_verified(w, payment.id)
    assert w.uow.payment(payment.id).status is PaymentStatus.PAID
    assert w.uow.order(order.id).status is OrderStatus.PAID
    assert [(t.payment.id, t.notice) for t in w.told] == [(payment.id, Notice.MPESA_PAID)]
    [entry] = w.uow.committed.audit
    assert (entry.tenant_id, entry.staff_user_id, entry.action, entry.subject, entry.reason, entry.details) == (
        w.shop.id,
        w.staff.user_id,
        "mark_verified",
        f"payment:{payment.id}",
        "M-Pesa receipt SGH7Y2K1LM",
        {"result": "applied"},
    )
    [ledger] = w.uow.committed.events_of(payment.id)
    assert (ledger.kind, ledger.payload["staff"]) == ("manual_verification", w.staff.email)


async def test_a_card_payment_confirmed_by_hand_tells_the_customer_of_a_card_payment():
    w = World()
    _, payment = await w.pending_payment(provider="paystack")
    await mark_verified(w, payment.id)
    assert [t.notice for t in w.told] == [Notice.CARD_PAID]


@pytest.mark.parametrize("reason", ["", "ok", "  sure  "])
async def test_confirming_a_payment_needs_a_reason(reason):
    w = World()
    _, payment = await w.pending_payment()
    with pytest.raises(Refused, match="Say why"):
        await mark_verified(w, payment.id, reason)
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    assert (w.uow.committed.audit, w.told) == ([], [])


async def test_a_payment_that_already_ended_cannot_be_confirmed_by_hand():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 1))
    await settlement.record(w.uow, event(payment, PaymentStatus.FAILED, notice=Notice.MPESA_FAILED))
    with pytest.raises(Refused, match="already ended as failed"):
        await mark_verified(w, payment.id)
    assert w.uow.payment(payment.id).status is PaymentStatus.FAILED
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    assert [t.notice for t in w.told] == [Notice.MPESA_FAILED]  # the failure's own message, none from staff
    assert len(w.uow.committed.events_of(payment.id)) == 1  # no manual verification in the ledger


async def test_another_shops_payment_is_not_found_and_not_touched():
    w = World()
    _, payment = await w.pending_payment()
    with pytest.raises(NotFound):
        await mark_verified(w, payment.id, staff=w.other_staff)
    with pytest.raises(NotFound):
        await backoffice.refresh_payment(w.uow, w.providers, w.other_staff, payment.id)
    with pytest.raises(NotFound):
        await mark_verified(w, 999)
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    assert (w.uow.committed.audit, w.told, w.providers["mpesa"].checks) == ([], [], [])


# --- refreshing a payment's status ---------------------------------------------------------------


async def test_refreshing_a_payment_the_provider_says_was_paid_settles_it_and_writes_the_audit_log():
    w = World()
    order, payment = await w.pending_payment()
    w.providers["mpesa"].answer = lambda p, kind: event(p, key=f"query:{p.reference}:0", kind=kind)
    assert await backoffice.refresh_payment(w.uow, w.providers, w.staff, payment.id) == "mpesa says: paid."
    assert w.uow.order(order.id).status is OrderStatus.PAID
    assert [t.notice for t in w.told] == [Notice.MPESA_PAID]
    assert [(a.action, a.details) for a in w.uow.committed.audit] == [("refresh_status", {"result": "applied"})]


async def test_refreshing_while_the_provider_has_no_answer_leaves_the_payment_pending():
    w = World()
    _, payment = await w.pending_payment()
    message = await backoffice.refresh_payment(w.uow, w.providers, w.staff, payment.id)
    assert "stays pending" in message
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    assert [a.details for a in w.uow.committed.audit] == [{"result": "still_pending"}]


async def test_refreshing_while_the_provider_is_unreachable_is_refused_and_audited():
    w = World()
    _, payment = await w.pending_payment()
    w.providers["mpesa"].answer = ConnectionError("connection refused")
    with pytest.raises(Refused, match="could not be reached"):
        await backoffice.refresh_payment(w.uow, w.providers, w.staff, payment.id)
    assert [a.details for a in w.uow.committed.audit] == [{"result": "provider_unreachable"}]


# --- hand-offs ---------------------------------------------------------------------------------


async def waiting_handoff(w: World, conversation_id: str = "254700000001") -> int:
    await handoffs.ask_for_person(w.uow, CustomerRef("demo-shop", conversation_id), "I want to speak to a person")
    [handoff_id] = [h.id for h in w.uow.committed.handoffs.values() if h.conversation_id == conversation_id]
    return handoff_id


async def test_asking_for_a_person_more_than_once_keeps_one_waiting_hand_off_with_the_first_words():
    w = World()
    await handoffs.ask_for_person(w.uow, w.who, "x" * 800)
    await handoffs.ask_for_person(w.uow, w.who, "hello??")
    [handoff] = w.uow.committed.handoffs.values()
    assert (handoff.tenant_id, handoff.conversation_id, handoff.reason) == (w.shop.id, w.who.external_id, "x" * 500)


async def test_handing_back_resumes_the_conversation_resolves_the_hand_off_and_writes_the_audit_log():
    w = World()
    handoff_id = await waiting_handoff(w)
    await handoffs.hand_back(w.uow, w.conversations, w.staff, handoff_id)
    assert w.conversations.resumed == ["254700000001"]
    row = w.uow.committed.handoffs[handoff_id]
    assert (row.resolved_at, row.resolved_by) == (w.uow.now, w.staff.user_id)
    assert [(a.action, a.subject) for a in w.uow.committed.audit] == [("hand_back", "conversation:254700000001")]
    with pytest.raises(NotFound):  # resolved: no longer waiting
        await handoffs.hand_back(w.uow, w.conversations, w.staff, handoff_id)
    assert len(w.conversations.resumed) == 1


async def test_when_the_bot_cannot_be_reached_the_hand_off_stays_waiting():
    w = World()
    handoff_id = await waiting_handoff(w)
    w.conversations.unreachable = True
    with pytest.raises(ConversationsUnreachable):
        await handoffs.hand_back(w.uow, w.conversations, w.staff, handoff_id)
    assert w.uow.committed.handoffs[handoff_id].resolved_at is None
    assert w.uow.committed.audit == []
    w.conversations.unreachable = False
    await handoffs.hand_back(w.uow, w.conversations, w.staff, handoff_id)  # staff try again later
    assert w.uow.committed.handoffs[handoff_id].resolved_at is not None


async def test_another_shops_hand_off_is_not_found_and_its_conversation_not_resumed():
    w = World()
    handoff_id = await waiting_handoff(w)
    with pytest.raises(NotFound):
        await handoffs.hand_back(w.uow, w.conversations, w.other_staff, handoff_id)
    assert w.conversations.resumed == []
    assert w.uow.committed.handoffs[handoff_id].resolved_at is None
