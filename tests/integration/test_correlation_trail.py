"""One correlation id follows a payment: from the turn that asked for it to the worker's checks and jobs."""

import io
import json
import logging
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, update

from actions.chat.payment import started
from actions.commerce import cart, orders, payment_requests, reconciliation, settlement
from actions.commerce.model import CustomerRef
from actions.commerce.payments import Notice, PaymentStatus, ProviderEvent
from actions.db import tables as t
from actions.observability import correlation, logs
from actions.observability.metrics import RECONCILIATION_KEY
from actions.worker import check_one, correlated
from tests.conftest import queued_messages, settings_changed

WHO = CustomerRef("demo-shop", "254700000099")


@pytest.fixture
def json_lines():
    """JSON lines of the payments loggers while the test runs."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.Scrubber())
    logger = logging.getLogger("payments")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logs.begin()


@pytest.fixture
def unreachable_daraja(shop):
    with settings_changed(
        shop, mpesa_base_url="http://127.0.0.1:9", mpesa_consumer_key="k", mpesa_consumer_secret="s",
        mpesa_passkey="p", reconcile_max_checks=5,
    ):  # fmt: skip
        yield shop


async def started_in_a_turn(rt, turn_id: str):
    """A pending M-Pesa payment, asked for during the turn `turn_id`, and due for a check now."""
    await cart.add(rt.uow(), WHO, "EGGS-TRAY", 1)
    order = await orders.place(rt.uow(), WHO, "Kilimani")
    reference = f"ws_CO_trail_{uuid.uuid4().hex[:8]}"
    payment = await payment_requests.start(rt.uow(), order.id, "mpesa", reference, order.total, "254712345678")
    logs.begin(correlation_id=turn_id)
    await started(rt, payment)
    logs.begin()
    async with rt.sessions() as session, session.begin():
        await session.execute(update(t.Payment).where(t.Payment.id == payment.id).values(next_check_at=func.now()))
    return payment


async def counted(rt, outcome: str) -> int:
    return int(await rt.redis.hget(RECONCILIATION_KEY, f"mpesa:{outcome}") or 0)


async def test_the_workers_check_of_a_payment_logs_under_the_turn_that_started_it(unreachable_daraja, json_lines):
    rt = unreachable_daraja
    payment = await started_in_a_turn(rt, "turn-7f3a")
    assert await correlation.of_payment(rt.redis, payment) == "turn-7f3a"
    errors, pending = await counted(rt, "provider_error"), await counted(rt, "pending")

    logs.begin(correlation_id="cron-tick")
    [due] = await reconciliation.claim_due(rt.uow(), rt.settings.check_policy)
    checked = await check_one(rt, due)

    assert (checked.payment_id, checked.applied) == (payment.id, None)
    requested, failed = json_lines()
    assert requested["message"] == f"payment {payment.id} requested from mpesa: {payment.reference}"
    assert failed["message"].startswith(f"payment {payment.id}: provider check failed")
    assert {(line["correlation_id"], line["payment_id"], line["provider"]) for line in (requested, failed)} == {
        ("turn-7f3a", payment.id, "mpesa")
    }
    assert "254712345678" not in json.dumps(json_lines())
    assert await counted(rt, "provider_error") > errors and await counted(rt, "pending") > pending
    assert correlation.current() == "cron-tick"  # the tick's own id is back after the payment's check


async def test_a_message_carries_the_turns_correlation_id_and_the_worker_runs_it_under_that_id(shop):
    payment = await started_in_a_turn(shop, "turn-5c1d")
    logs.begin(correlation_id="callback-9")  # the callback that ends the payment comes later, with its own id
    paid = ProviderEvent(
        "mpesa", "query:paid", payment.reference, PaymentStatus.PAID, "reconciliation", payment.amount,
        notice=Notice.MPESA_PAID,
    )  # fmt: skip
    await settlement.record(shop.uow(), paid)
    logs.begin()
    [message] = await queued_messages(shop)
    assert (message["payment_id"], message["notice"], message["correlation_id"]) == (
        payment.id, "mpesa_paid", "turn-5c1d",
    )  # fmt: skip

    seen = []

    @correlated
    async def job(context, payment_id, notice):
        seen.append((payment_id, notice, correlation.current(), logs.fields().get("job")))

    context = SimpleNamespace(job=SimpleNamespace(id=message["id"]))
    await job(context, payment_id=payment.id, notice="mpesa_paid", correlation_id=message["correlation_id"])
    await job(context, payment_id=9, notice="expired")  # queued without an id
    assert seen[0] == (payment.id, "mpesa_paid", "turn-5c1d", message["id"])
    assert seen[1][:2] == (9, "expired") and len(seen[1][2]) == 32
    assert job.__name__ == "job"
