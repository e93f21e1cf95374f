"""Asking for an order's money, and asking the provider about payments whose callback never came."""

from datetime import timedelta

import pytest

from actions.commerce import orders, payment_requests, reconciliation, settlement
from actions.commerce.errors import PaymentStillPending, PaymentUnavailable, Refused, UnknownTenant
from actions.commerce.model import OrderStatus
from actions.commerce.payments import CheckPolicy, Notice, PaymentStatus, Recorded, RejectCaps, Rejected
from tests.unit.shop_world import PHONE, POLICY, World, event


async def request(w: World, order, method: str = "mpesa", phone: str | None = PHONE):
    return await payment_requests.request_payment(w.uow, w.providers, w.who, order, method, phone, POLICY)


# --- asking for the money -----------------------------------------------------------------------


async def test_requesting_a_payment_records_it_pending_under_the_providers_reference():
    w = World()
    order = await w.order(("SUGAR-1KG", 2))
    requested = await request(w, order)
    [ask] = w.providers["mpesa"].requests
    assert (ask.tenant, ask.order, ask.customer_id, ask.phone) == (w.shop, order, w.who.external_id, PHONE)
    assert ask.callback_secret == w.uow.committed.tenants[w.shop.id].callback_secret
    row = w.uow.payment(requested.payment.id)
    assert row.callback_nonce == ask.callback_nonce and len(ask.callback_nonce) >= 43  # 32 random bytes
    assert (row.provider, row.reference, row.status, row.amount, row.phone) == (
        "mpesa",
        "mpesa-ref-1",
        PaymentStatus.PENDING,
        order.total,
        PHONE,
    )
    assert row.next_check_at == w.uow.now + POLICY.first_check
    assert requested.authorization_url is None


async def test_a_second_prompt_is_refused_while_the_first_is_still_pending():
    w = World()
    order = await w.order()
    await request(w, order)
    with pytest.raises(PaymentStillPending):
        await request(w, order)
    assert len(w.providers["mpesa"].requests) == 1
    assert len(w.uow.committed.payments) == 1


async def test_after_a_failed_prompt_the_customer_can_be_asked_again():
    w = World()
    order = await w.order()
    first = await request(w, order)
    await settlement.record(w.uow, event(first.payment, PaymentStatus.CANCELLED, notice=Notice.MPESA_CANCELLED))
    second = await request(w, order)
    assert second.payment.reference == "mpesa-ref-2"
    assert len(w.providers["mpesa"].requests) == 2
    assert second.payment.callback_nonce != first.payment.callback_nonce  # each payment its own


async def test_no_prompt_is_sent_for_an_order_that_no_longer_waits_for_payment():
    w = World()
    order = await w.order()
    await orders.cancel(w.uow, w.who, order.number)
    with pytest.raises(PaymentUnavailable, match="cancelled"):
        await request(w, order)
    assert w.providers["mpesa"].requests == [] and w.uow.committed.payments == {}


async def test_asking_for_the_money_keeps_an_old_order_from_being_taken_for_abandoned():
    """The customer comes back after the window to pay: the worker must not expire the order while
    the prompt goes out (its payment row is written only once Daraja has taken the push)."""
    w = World()
    order = await w.order(("EGGS-TRAY", 1))
    w.uow.advance(hours=2)
    asked = {}

    async def expire_while_pushing(ask):
        asked["expired"] = await orders.expire_abandoned(w.uow, older_than=POLICY.retry_window)
        return await type(w.providers["mpesa"]).request(w.providers["mpesa"], ask)

    w.providers["mpesa"].request = expire_while_pushing
    await request(w, order)
    assert asked["expired"] == []
    assert w.uow.order(order.id).status is OrderStatus.PENDING_PAYMENT


async def test_a_card_payment_goes_to_paystack_and_gives_the_page_to_pay_on():
    w = World()
    order = await w.order()
    requested = await request(w, order, method="card", phone=None)
    assert (requested.payment.provider, requested.authorization_url) == ("paystack", "https://pay.example/abc")
    assert w.providers["mpesa"].requests == []


async def test_when_the_provider_cannot_be_asked_no_payment_is_started():
    w = World()
    order = await w.order()
    w.providers["mpesa"].refusal = PaymentUnavailable("Daraja said no")
    with pytest.raises(PaymentUnavailable):
        await request(w, order)
    w.providers.unconfigured.add("paystack")
    with pytest.raises(PaymentUnavailable):
        await request(w, order, method="card", phone=None)
    assert w.uow.committed.payments == {}


# --- the worker's checks ------------------------------------------------------------------------


async def claim_and_check(w: World, policy: CheckPolicy = POLICY) -> list[reconciliation.Checked]:
    """What the worker's tick does: claim the due checks, then check each."""
    due = await reconciliation.claim_due(w.uow, policy)
    return [await reconciliation.check(w.uow, w.providers, policy, d) for d in due]


async def test_a_payment_is_checked_on_only_once_its_first_check_is_due_then_after_a_doubling_wait():
    w = World()
    _, payment = await w.pending_payment()
    assert await reconciliation.claim_due(w.uow, POLICY) == []
    w.uow.advance(POLICY.first_check)
    [due] = await reconciliation.claim_due(w.uow, POLICY)
    assert (due.payment.id, due.checks_before) == (payment.id, 0)
    assert await reconciliation.claim_due(w.uow, POLICY) == []  # a claim pushes the next check back
    w.uow.advance(POLICY.delay_after(0))
    [again] = await reconciliation.claim_due(w.uow, POLICY)
    assert again.checks_before == 1
    w.uow.advance(POLICY.delay_after(1) - timedelta(seconds=1))
    assert await reconciliation.claim_due(w.uow, POLICY) == []
    w.uow.advance(seconds=1)
    assert len(await reconciliation.claim_due(w.uow, POLICY)) == 1


async def test_no_answer_keeps_the_payment_pending_through_the_checks_until_the_window_closes_then_it_expires():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2))
    w.providers["mpesa"].answer = None  # the provider has no final answer, every time
    outcomes = []
    for wait in (POLICY.first_check, POLICY.delay_after(0), POLICY.delay_after(1)):  # the max_checks (3) checks
        w.uow.advance(wait)
        [checked] = await claim_and_check(w)
        outcomes.append((checked.outcome, w.uow.payment(payment.id).status, w.stock("EGGS-TRAY")))
    assert outcomes == [("pending", PaymentStatus.PENDING, 1)] * 3  # 4 minutes in: Daraja could still say paid
    assert (
        w.uow.payment(payment.id).next_check_at == w.uow.committed.payments[payment.id].created_at + POLICY.retry_window
    )
    w.uow.advance(POLICY.retry_window - timedelta(minutes=4, seconds=1))
    assert await claim_and_check(w) == []  # nothing until the window closes
    w.uow.advance(seconds=1)
    [last] = await claim_and_check(w)
    assert (last.outcome, w.uow.payment(payment.id).status, w.stock("EGGS-TRAY")) == (
        "expired",
        PaymentStatus.EXPIRED,
        3,
    )
    assert w.uow.order(order.id).status is OrderStatus.EXPIRED
    assert [(t.payment.id, t.notice) for t in w.told] == [(payment.id, Notice.EXPIRED)]
    assert len(w.providers["mpesa"].checks) == 4
    w.uow.advance(hours=1)
    assert await claim_and_check(w) == []  # an ended payment is never checked again


async def test_the_checks_never_wait_past_the_end_of_the_retry_window():
    policy = CheckPolicy(first_check=timedelta(minutes=1), backoff=timedelta(minutes=20), max_checks=10)
    assert policy.next_check_in(0, timedelta(minutes=1)) == timedelta(minutes=20)
    assert policy.next_check_in(2, timedelta(minutes=41)) == timedelta(minutes=19)  # not 80
    assert policy.next_check_in(9, timedelta(minutes=50)) == timedelta(minutes=10)  # the last regular: at the end
    assert policy.gives_up(99, timedelta(minutes=59)) is False and policy.gives_up(0, timedelta(hours=1)) is True


async def test_a_callback_claiming_success_makes_the_check_due_and_the_check_settles_the_payment():
    w = World()
    order, payment = await w.pending_payment()
    w.uow.advance(seconds=5)
    assert await claim_and_check(w) == []
    await settlement.record(w.uow, w.callback(payment))
    w.providers["mpesa"].answer = lambda p, kind: event(p, key="query:0", kind=kind)
    [checked] = await claim_and_check(w)
    assert checked.outcome == "paid"
    assert (w.uow.payment(payment.id).status, w.uow.order(order.id).status) == (PaymentStatus.PAID, OrderStatus.PAID)
    assert [t.notice for t in w.told] == [Notice.MPESA_PAID]


async def test_forged_messages_neither_count_as_checks_nor_bring_the_expiry_closer():
    w = World()
    _, payment = await w.pending_payment()
    for n in range(5):
        forged = Rejected("mpesa", "bad_token", f"10.0.0.{n}", {}, payment.reference)
        await settlement.record_rejected(w.uow, forged, RejectCaps())
    assert await claim_and_check(w) == []  # nothing was made due
    w.uow.advance(POLICY.first_check)
    [checked] = await claim_and_check(w)
    assert (checked.outcome, w.uow.payment(payment.id).check_attempts) == ("pending", 1)


async def test_once_the_retry_window_has_closed_an_unanswered_check_expires_the_payment_at_once():
    w = World()
    _, payment = await w.pending_payment()
    w.uow.advance(POLICY.retry_window)
    [checked] = await claim_and_check(w, CheckPolicy(max_checks=100, retry_window=POLICY.retry_window))
    assert checked.applied.result is Recorded.APPLIED
    assert w.uow.payment(payment.id).status is PaymentStatus.EXPIRED


async def test_a_provider_error_counts_as_a_check_and_after_the_window_the_payment_expires_all_the_same():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 1))
    w.providers["mpesa"].answer = ConnectionError("Daraja is down")
    checks = []
    for wait in (POLICY.first_check, POLICY.delay_after(0), POLICY.delay_after(1)):
        w.uow.advance(wait)
        checks.extend(await claim_and_check(w))
    w.uow.advance(POLICY.retry_window)
    checks.extend(await claim_and_check(w))
    assert [c.provider_error for c in checks] == ["Daraja is down"] * 4
    assert [c.outcome for c in checks] == ["pending", "pending", "pending", "expired"]
    assert (w.uow.payment(payment.id).status, w.uow.order(order.id).status) == (
        PaymentStatus.EXPIRED,
        OrderStatus.EXPIRED,
    )
    assert w.uow.payment(payment.id).check_attempts == 4


async def test_a_provider_that_is_no_longer_configured_also_counts_as_a_check():
    w = World()
    _, payment = await w.pending_payment()
    w.providers.unconfigured.add("mpesa")
    w.uow.advance(POLICY.first_check)
    [checked] = await claim_and_check(w)
    assert (checked.applied, w.uow.payment(payment.id).check_attempts) == (None, 1)
    assert "configured" in checked.provider_error


async def test_the_providers_answer_to_a_check_ends_the_payment_and_the_customer_is_told_once():
    w = World()
    order, payment = await w.pending_payment()
    w.providers["mpesa"].answer = lambda p, kind: event(p, key=f"query:{p.reference}:0", kind=kind)
    w.uow.advance(POLICY.first_check)
    [checked] = await claim_and_check(w)
    assert checked.outcome == "paid"
    assert w.uow.order(order.id).status is OrderStatus.PAID
    assert w.providers["mpesa"].checks == [(payment, "reconciliation")]
    await settlement.record(w.uow, event(payment, key=f"callback:{payment.reference}:0"))
    assert [t.notice for t in w.told] == [Notice.MPESA_PAID]  # the late callback tells nobody


async def test_a_refresh_by_staff_never_expires_a_payment_the_provider_has_no_answer_for():
    w = World()
    _, payment = await w.pending_payment()
    w.uow.advance(hours=5)
    checked = await reconciliation.refresh(w.uow, w.providers, payment)
    assert checked.applied is None
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    w.providers["mpesa"].answer = TimeoutError("no answer")
    with pytest.raises(PaymentUnavailable):
        await reconciliation.refresh(w.uow, w.providers, payment)


# --- the shop's callback secret ---------------------------------------------------------------------


async def test_rotating_the_callback_secret_keeps_the_previous_one_and_is_refused_again_within_the_window():
    w = World()
    first = w.uow.committed.tenants[w.shop.id].callback_secret
    await payment_requests.rotate_callback_secret(w.uow, "demo-shop", POLICY.retry_window)
    shop = w.uow.committed.tenants[w.shop.id]
    assert (shop.previous_callback_secret, len(shop.callback_secret)) == (first, 43)
    w.uow.advance(minutes=59)
    with pytest.raises(Refused, match="less than 60 minutes"):
        await payment_requests.rotate_callback_secret(w.uow, "demo-shop", POLICY.retry_window)
    assert w.uow.committed.tenants[w.shop.id].callback_secret == shop.callback_secret
    await payment_requests.rotate_callback_secret(w.uow, "demo-shop", POLICY.retry_window, force=True)
    assert w.uow.committed.tenants[w.shop.id].previous_callback_secret == shop.callback_secret
    w.uow.advance(hours=1)
    await payment_requests.rotate_callback_secret(w.uow, "demo-shop", POLICY.retry_window)
    with pytest.raises(UnknownTenant):
        await payment_requests.rotate_callback_secret(w.uow, "no-such-shop", POLICY.retry_window)
