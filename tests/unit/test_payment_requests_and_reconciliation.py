"""Asking for an order's money, and asking the provider about payments whose callback never came."""

from datetime import timedelta

import pytest

from actions.commerce import payment_requests, reconciliation, settlement
from actions.commerce.errors import PaymentStillPending, PaymentUnavailable
from actions.commerce.model import OrderStatus
from actions.commerce.payments import CheckPolicy, Notice, PaymentStatus, Recorded
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
    return [await reconciliation.check(w.uow, w.providers, w.jobs, policy, d) for d in due]


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


async def test_no_answer_keeps_the_payment_pending_until_the_last_check_then_it_expires_and_the_stock_returns():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 2))
    w.providers["mpesa"].answer = None  # the provider has no final answer, every time
    outcomes = []
    for wait in (POLICY.first_check, POLICY.delay_after(0), POLICY.delay_after(1)):
        w.uow.advance(wait)
        [checked] = await claim_and_check(w)
        outcomes.append((checked.outcome, w.uow.payment(payment.id).status, w.stock("EGGS-TRAY")))
    assert outcomes == [
        ("pending", PaymentStatus.PENDING, 1),
        ("pending", PaymentStatus.PENDING, 1),
        ("expired", PaymentStatus.EXPIRED, 3),
    ]
    assert w.uow.order(order.id).status is OrderStatus.EXPIRED
    assert [(t.payment.id, t.notice) for t in w.jobs.told] == [(payment.id, Notice.EXPIRED)]
    assert len(w.providers["mpesa"].checks) == 3
    w.uow.advance(hours=1)
    assert await claim_and_check(w) == []  # an ended payment is never checked again


async def test_once_the_retry_window_has_closed_an_unanswered_check_expires_the_payment_at_once():
    w = World()
    _, payment = await w.pending_payment()
    w.uow.advance(POLICY.retry_window)
    [checked] = await claim_and_check(w, CheckPolicy(max_checks=100, retry_window=POLICY.retry_window))
    assert checked.applied.result is Recorded.APPLIED
    assert w.uow.payment(payment.id).status is PaymentStatus.EXPIRED


async def test_a_provider_error_counts_as_a_check():
    w = World()
    order, payment = await w.pending_payment(("EGGS-TRAY", 1))
    w.providers["mpesa"].answer = ConnectionError("Daraja is down")
    checks = []
    for wait in (POLICY.first_check, POLICY.delay_after(0), POLICY.delay_after(1)):
        w.uow.advance(wait)
        checks.extend(await claim_and_check(w))
    assert [c.provider_error for c in checks] == ["Daraja is down"] * 3
    assert [c.outcome for c in checks] == ["pending", "pending", "expired"]
    assert (w.uow.payment(payment.id).status, w.uow.order(order.id).status) == (
        PaymentStatus.EXPIRED,
        OrderStatus.EXPIRED,
    )
    assert w.uow.payment(payment.id).check_attempts == 3


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
    await settlement.record_and_tell(w.uow, w.jobs, event(payment, key=f"callback:{payment.reference}:0"))
    assert [t.notice for t in w.jobs.told] == [Notice.MPESA_PAID]  # the late callback tells nobody


async def test_a_refresh_by_staff_never_expires_a_payment_the_provider_has_no_answer_for():
    w = World()
    _, payment = await w.pending_payment()
    w.uow.advance(hours=5)
    checked = await reconciliation.refresh(w.uow, w.providers, w.jobs, payment)
    assert checked.applied is None
    assert w.uow.payment(payment.id).status is PaymentStatus.PENDING
    w.providers["mpesa"].answer = TimeoutError("no answer")
    with pytest.raises(PaymentUnavailable):
        await reconciliation.refresh(w.uow, w.providers, w.jobs, payment)
