"""Hearing from a provider: each event recorded once, applied to the payment and its order only on
evidence, the customer told once; what the ledger does not take is kept apart and changes nothing."""

from dataclasses import replace
from datetime import timedelta

import pytest

from actions.commerce import notifications, orders, payment_requests, settlement
from actions.commerce.errors import ConversationsUnreachable
from actions.commerce.model import OrderStatus
from actions.commerce.money import Money
from actions.commerce.payments import (
    CallbackCredentials,
    Notice,
    PaymentStatus,
    ProviderEvent,
    Recorded,
    RejectCaps,
    Rejected,
    expiry,
)
from tests.unit.shop_world import World, event


async def test_the_providers_own_answer_of_paid_marks_the_payment_and_its_order_paid():
    w = World()
    order, payment = await w.pending_payment()
    applied = await settlement.record(w.uow, event(payment, tenant_id=w.shop.id))
    assert (applied.result, applied.notify, applied.notice) == (Recorded.APPLIED, True, Notice.MPESA_PAID)
    assert applied.payment.status is PaymentStatus.PAID
    assert w.uow.payment(payment.id).status is PaymentStatus.PAID
    assert w.uow.order(order.id).status is OrderStatus.PAID
    assert [(e.kind, e.key) for e in w.uow.committed.events_of(payment.id)] == [
        ("reconciliation", f"mpesa:query:{payment.id}:paid")
    ]


# --- an M-Pesa success callback is a claim: kept, and settled by the query's answer ----------------


async def test_a_success_callback_with_its_evidence_is_kept_and_asks_daraja_at_once_but_settles_nothing():
    w = World()
    order, payment = await w.pending_payment()
    w.uow.advance(seconds=10)  # the first check is still 50 s away
    claimed = await settlement.record(w.uow, w.callback(payment))
    assert (claimed.result, claimed.notify) == (Recorded.AWAITING_CONFIRMATION, False)
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review, row.next_check_at) == (PaymentStatus.PENDING, False, w.uow.now)
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    assert [e.key for e in w.uow.committed.events_of(payment.id)] == [f"mpesa:callback:{payment.id}:0"]
    assert w.told == []

    confirmed = await settlement.record(w.uow, event(payment, key="query:0"))
    assert (confirmed.result, confirmed.notice) == (Recorded.APPLIED, Notice.MPESA_PAID)
    assert (w.uow.payment(payment.id).status, w.uow.order(order.id).status) == (PaymentStatus.PAID, OrderStatus.PAID)
    assert [t.notice for t in w.told] == [Notice.MPESA_PAID]


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("no CallbackMetadata at all", {"amount": None, "receipt": None}),
        ("no Amount", {"amount": None}),
        ("no MpesaReceiptNumber", {"receipt": None}),
        ("a blank MpesaReceiptNumber", {"receipt": ""}),
    ],
)
async def test_a_success_callback_without_its_amount_or_receipt_never_settles_is_kept_flagged_and_asks_daraja(
    what, change
):
    w = World()
    order, payment = await w.pending_payment()
    w.uow.advance(seconds=10)
    doubtful = await settlement.record(w.uow, w.callback(payment, **change))
    assert (doubtful.result, doubtful.notify) == (Recorded.NO_EVIDENCE, False), what
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review, row.next_check_at) == (PaymentStatus.PENDING, True, w.uow.now)
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    assert len(w.uow.committed.events_of(payment.id)) == 1  # what was said is kept
    assert w.told == []


async def test_a_success_callback_for_another_amount_is_flagged_and_made_due_not_applied():
    w = World()
    order, payment = await w.pending_payment()
    w.uow.advance(seconds=10)
    wrong = await settlement.record(w.uow, w.callback(payment, amount=Money(100, "KES")))
    assert (wrong.result, wrong.notify) == (Recorded.AMOUNT_MISMATCH, False)
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review, row.next_check_at) == (PaymentStatus.PENDING, True, w.uow.now)
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    assert w.told == []
    assert len(w.uow.committed.events_of(payment.id)) == 1


async def test_a_signed_or_verified_success_for_another_amount_or_currency_is_flagged_not_applied():
    w = World()
    order, payment = await w.pending_payment(provider="paystack")
    for amount in (Money(100, "KES"), Money(payment.amount.minor, "NGN")):
        said = event(payment, key=f"charge.success:{amount.currency}", amount=amount, notice=Notice.CARD_PAID)
        assert (await settlement.record(w.uow, said)).result is Recorded.AMOUNT_MISMATCH
    assert (w.uow.payment(payment.id).status, w.uow.payment(payment.id).needs_review) == (PaymentStatus.PENDING, True)
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT


async def test_a_late_success_callback_after_the_query_settled_the_payment_changes_nothing():
    w = World()
    _, payment = await w.pending_payment()
    await settlement.record(w.uow, event(payment, key="query:0"))
    late = await settlement.record(w.uow, w.callback(payment))
    assert (late.result, late.notify) == (Recorded.UNCHANGED, False)
    assert (w.uow.payment(payment.id).status, w.uow.payment(payment.id).needs_review) == (PaymentStatus.PAID, False)
    assert len(w.told) == 1


async def test_a_cancelled_prompt_ends_the_payment_from_its_callback_alone():
    w = World()
    order, payment = await w.pending_payment()
    cancelled = await settlement.record(w.uow, w.callback(payment, 1032))
    assert (cancelled.result, cancelled.notice) == (Recorded.APPLIED, Notice.MPESA_CANCELLED)
    assert w.uow.payment(payment.id).status is PaymentStatus.CANCELLED
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT  # the customer can pay again


# --- whose callback it is -------------------------------------------------------------------------


async def test_a_callback_without_the_payments_own_nonce_is_rejected_and_recorded_nowhere():
    """A URL leaked from one payment settles no other: the shop's part is right, the nonce is another's."""
    w = World()
    _, payment = await w.pending_payment()
    _, leaked_from = await w.pending_payment()
    for url in (
        replace(w.url_of(payment), nonce=leaked_from.callback_nonce),
        replace(w.url_of(payment), nonce=None),
        replace(w.url_of(payment), shop_secret="secret-other-shop"),
    ):
        rejected = await settlement.record(w.uow, w.callback(payment, 1032, url=url))
        assert (rejected.result, rejected.payment) == (Recorded.REJECTED, None)
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    assert w.uow.committed.events == [] and w.told == []


async def test_after_the_shops_secret_is_rotated_payments_in_flight_are_still_called_back():
    w = World()
    _, before = await w.pending_payment()
    old_url = w.url_of(before)
    await payment_requests.rotate_callback_secret(w.uow, "demo-shop", keep_previous_for=timedelta(hours=1))
    assert w.uow.committed.tenants[w.shop.id].callback_secret != old_url.shop_secret
    applied = await settlement.record(w.uow, w.callback(before, 1032, url=old_url))
    assert applied.result is Recorded.APPLIED


async def test_a_payment_asked_for_before_nonces_existed_is_admitted_on_the_shops_secret_alone():
    w = World()
    order = await w.order()
    legacy = await payment_requests.start(w.uow, order.id, "mpesa", "ws_CO_legacy", order.total)
    assert legacy.callback_nonce is None
    without_nonce = w.url_of(legacy)
    with_a_nonce = replace(without_nonce, nonce="n" * 43)
    assert (await settlement.record(w.uow, w.callback(legacy, 1032, url=with_a_nonce))).result is Recorded.REJECTED
    assert (await settlement.record(w.uow, w.callback(legacy, 1032, url=without_nonce))).result is Recorded.APPLIED


async def test_an_event_sent_to_another_shops_callback_is_an_unknown_payment_and_changes_nothing():
    w = World()
    order, payment = await w.pending_payment()
    theirs = CallbackCredentials(w.other_shop.id, "secret-other-shop", payment.callback_nonce)
    foreign = await settlement.record(w.uow, w.callback(payment, url=theirs))
    assert (foreign.result, foreign.payment, foreign.notify) == (Recorded.UNKNOWN_PAYMENT, None, False)
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT
    assert w.uow.committed.events == []  # nothing in the ledger: the caller keeps it apart
    assert w.told == []


async def test_a_callback_that_comes_before_its_payment_is_recorded_cannot_use_up_the_genuine_ones_key():
    w = World()
    order = await w.order()
    early = ProviderEvent("mpesa", "callback:0", "ws_CO_fast", PaymentStatus.PAID, "stk_callback")
    assert (await settlement.record(w.uow, early)).result is Recorded.UNKNOWN_PAYMENT
    payment = await payment_requests.start(w.uow, order.id, "mpesa", "ws_CO_fast", order.total)
    assert (await settlement.record(w.uow, early)).result is Recorded.APPLIED
    assert [e.key for e in w.uow.committed.events] == [f"mpesa:callback:{payment.id}:0"]


# --- once, and after the end ---------------------------------------------------------------------


async def test_the_same_event_delivered_again_is_a_duplicate_and_notifies_nobody():
    w = World()
    _, payment = await w.pending_payment()
    await settlement.record(w.uow, event(payment))
    again = await settlement.record(w.uow, event(payment))
    assert (again.result, again.notify) == (Recorded.DUPLICATE, False)
    assert len(w.told) == 1
    assert len(w.uow.committed.events) == 1


async def test_a_success_after_the_payment_expired_is_kept_as_expired_and_flagged_for_review():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2))
    await settlement.record(w.uow, expiry(payment))
    assert (w.uow.order(order.id).status, w.stock("EGGS-TRAY")) == (OrderStatus.EXPIRED, 3)
    late = await settlement.record(w.uow, event(payment, key="query:late:0"))
    assert (late.result, late.notify) == (Recorded.UNCHANGED, False)
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review) == (PaymentStatus.EXPIRED, True)
    assert w.uow.order(order.id).status is OrderStatus.EXPIRED
    assert [t.notice for t in w.told] == [Notice.EXPIRED]  # the customer heard of the expiry only


async def test_a_late_failure_after_a_success_changes_nothing_and_is_not_flagged():
    w = World()
    order, payment = await w.pending_payment()
    await settlement.record(w.uow, event(payment))
    late = await settlement.record(w.uow, event(payment, PaymentStatus.FAILED, notice=Notice.MPESA_FAILED))
    assert (late.result, late.notify) == (Recorded.UNCHANGED, False)
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review) == (PaymentStatus.PAID, False)
    assert w.uow.order(order.id).status is OrderStatus.PAID


async def test_a_payment_ending_queues_exactly_one_message_however_often_it_is_heard():
    w = World()
    _, payment = await w.pending_payment()
    callback, query = w.callback(payment), event(payment, key="query:0")
    for delivered in (callback, callback, query, callback, query):
        await settlement.record(w.uow, delivered, correlation_id="turn-1")
    [told] = w.told
    assert (told.payment.id, told.payment.status, told.notice, told.correlation_id) == (
        payment.id,
        PaymentStatus.PAID,
        Notice.MPESA_PAID,
        "turn-1",
    )


async def test_a_failed_prompt_tells_the_customer_why_it_failed():
    w = World()
    _, payment = await w.pending_payment()
    await settlement.record(w.uow, event(payment, PaymentStatus.FAILED, notice=Notice.MPESA_WRONG_PIN))
    assert [(t.payment.id, t.notice) for t in w.told] == [(payment.id, Notice.MPESA_WRONG_PIN)]


async def test_card_money_arriving_for_an_order_cancelled_meanwhile_is_flagged_and_the_customer_told_the_truth():
    """A pending card link does not hold the order: the customer cancels, then pays on the link anyway.
    The stock is back on the shelf and the money has arrived: someone must look, and the customer hears so."""
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2), provider="paystack")
    await orders.cancel(w.uow, w.who, order.number)
    paid = event(payment, key="charge.success", kind="charge.success", notice=Notice.CARD_PAID)
    applied = await settlement.record(w.uow, paid)
    assert (applied.result, applied.notice) == (Recorded.APPLIED, Notice.PAID_FOR_ENDED_ORDER)
    assert w.uow.order(order.id).status is OrderStatus.CANCELLED
    assert (w.uow.payment(payment.id).status, w.uow.payment(payment.id).needs_review) == (PaymentStatus.PAID, True)
    assert [(t.payment.id, t.notice) for t in w.told] == [(payment.id, Notice.PAID_FOR_ENDED_ORDER)]
    assert w.stock("EGGS-TRAY") == 3


# --- refunds, disputes, reversals -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["refund.processed", "charge.dispute.create"])
async def test_a_refund_or_dispute_is_recorded_and_flags_the_payment_without_changing_it(kind):
    w = World()
    order, payment = await w.pending_payment(provider="paystack")
    await settlement.record(w.uow, event(payment, key="charge.success", notice=Notice.CARD_PAID))
    said = ProviderEvent("paystack", f"{kind}:1", payment.reference, PaymentStatus.PENDING, kind, flags=True)
    flagged = await settlement.record(w.uow, said)
    assert (flagged.result, flagged.notify, flagged.payment.needs_review) == (Recorded.FLAGGED, False, True)
    row = w.uow.payment(payment.id)
    assert (row.status, row.needs_review) == (PaymentStatus.PAID, True)
    assert w.uow.order(order.id).status is OrderStatus.PAID
    assert [e.kind for e in w.uow.committed.events_of(payment.id)][-1] == kind


# --- what the ledger does not take ------------------------------------------------------------------


def forged(address: str = "41.90.1.2", reference: str = "ws_CO_1", signed: bool = False) -> Rejected:
    return Rejected("mpesa", "bad_token", address, {"Body": {}}, reference, signed=signed)


async def test_forged_messages_naming_a_payment_are_kept_apart_and_neither_hurry_nor_end_it():
    w = World()
    _, payment = await w.pending_payment()
    w.uow.advance(seconds=5)
    for _ in range(5):
        assert await settlement.record_rejected(w.uow, forged(reference=payment.reference), RejectCaps()) is True
    row = w.uow.payment(payment.id)
    assert (row.status, row.check_attempts, row.needs_review) == (PaymentStatus.PENDING, 0, False)
    assert row.next_check_at == w.uow.now + timedelta(seconds=55)  # not made due
    assert w.uow.committed.events == []
    assert [r.message.reason for r in w.uow.committed.rejected] == ["bad_token"] * 5


async def test_rejected_messages_are_capped_per_address_and_in_all_each_hour_and_the_rest_counted():
    w = World()
    caps = RejectCaps(per_address_per_hour=2, per_hour=3)
    kept = [await settlement.record_rejected(w.uow, forged("10.0.0.1"), caps) for _ in range(3)]
    kept += [await settlement.record_rejected(w.uow, forged("10.0.0.2"), caps) for _ in range(2)]
    assert kept == [True, True, False, True, False]  # the address's cap, then everyone's
    assert await settlement.record_rejected(w.uow, forged("10.0.0.3", signed=True), caps) is True  # signed: kept
    assert [r.message.source_address for r in w.uow.committed.rejected] == ["10.0.0.1"] * 2 + ["10.0.0.2", "10.0.0.3"]
    received = {address: n for (_, address), n in w.uow.committed.rejected_counts.items()}
    assert received == {"10.0.0.1": 3, "10.0.0.2": 2, "*": 4}  # "*": the ones within their address's cap
    w.uow.advance(hours=1)
    assert await settlement.record_rejected(w.uow, forged("10.0.0.1"), caps) is True  # a new hour


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


async def test_a_message_delivered_twice_tells_the_customer_once():
    w = World()
    _, payment = await w.pending_payment()
    await settlement.record(w.uow, event(payment))
    told = [await notifications.tell_customer(w.uow, w.conversations, payment.id, Notice.MPESA_PAID) for _ in range(2)]
    assert told == [True, False] and len(w.conversations.updates) == 1


async def test_a_message_rasa_did_not_take_is_not_noted_as_told():
    w = World()
    _, payment = await w.pending_payment()
    await settlement.record(w.uow, event(payment))
    w.conversations.unreachable = True
    with pytest.raises(ConversationsUnreachable):
        await notifications.tell_customer(w.uow, w.conversations, payment.id, Notice.MPESA_PAID)
    w.conversations.unreachable = False
    assert await notifications.tell_customer(w.uow, w.conversations, payment.id, Notice.MPESA_PAID) is True
    assert len(w.conversations.updates) == 1
