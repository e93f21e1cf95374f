"""The sidecar as a real process: correlation ids in and out, JSON logs, /health, /ready and /metrics."""

import asyncio
import json
import secrets
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy import select

from actions.db import tables as t
from actions.observability.metrics import RECONCILIATION_KEY, count_reconciliation
from devstack.processes import Process, start_sidecar
from devstack.services import Services
from tests.sidecar.test_payment_webhooks import callback_url, order_with_payment, paystack_body, sign, stk_callback

PAYSTACK_SECRET = "sk_test_" + secrets.token_hex(16)
METRICS_TOKEN = secrets.token_urlsafe(16)
PROBE = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture(scope="module")
def sidecar(services, database_url, tmp_path_factory):
    process = start_sidecar(
        Services(database_url, services.redis_url),
        tmp_path_factory.mktemp("sidecar-ops-logs"),
        env={"PAYSTACK_SECRET_KEY": PAYSTACK_SECRET, "METRICS_TOKEN": METRICS_TOKEN},
    )
    yield process
    process.stop()


def log_lines(process: Process) -> list[dict]:
    return [json.loads(line) for line in process.log.read_text().splitlines() if line.startswith("{")]


async def lines_with(process: Process, correlation_id: str, count: int) -> list[dict]:
    """The process's log lines carrying the id, once at least `count` of them are written."""
    for _ in range(50):
        found = [line for line in log_lines(process) if line.get("correlation_id") == correlation_id]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    return found


async def get(process: Process, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        return await client.get(path, **kwargs)


async def post(process: Process, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        return await client.post(path, **kwargs)


async def scrape(process: Process) -> dict[tuple, float]:
    """{(sample name, (label, value), …): value} from GET /metrics."""
    response = await get(process, "/metrics", headers=PROBE)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def declared(process: Process) -> dict[str, str]:
    """{metric family: its type} from GET /metrics, whether or not the family has samples yet."""
    response = await get(process, "/metrics", headers=PROBE)
    return {family.name: family.type for family in text_string_to_metric_families(response.text)}


def webhooks(metrics: dict, provider: str, outcome: str) -> float:
    return metrics.get(("webhooks_total", ("outcome", outcome), ("provider", provider)), 0.0)


async def test_health_answers_without_io_and_ready_checks_database_redis_and_schema(sidecar):
    assert (await get(sidecar, "/health")).json() == {"status": "ok"}
    ready = await get(sidecar, "/ready", headers=PROBE)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


@pytest.mark.parametrize("path", ["/ready", "/metrics"])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", METRICS_TOKEN, f"Basic {METRICS_TOKEN}"])
async def test_ready_and_metrics_need_the_metrics_token(sidecar, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = await get(sidecar, path, headers=headers)
    assert response.status_code == 401 and "ready" not in response.text and "# HELP" not in response.text


async def test_without_a_metrics_token_ready_and_metrics_are_not_there(services, database_url, tmp_path):
    process = start_sidecar(Services(database_url, services.redis_url), tmp_path)
    try:
        for path in ("/ready", "/metrics"):
            assert (await get(process, path, headers=PROBE)).status_code == 404
        assert (await get(process, "/health")).status_code == 200
    finally:
        process.stop()


async def test_a_sane_correlation_id_is_echoed_and_every_log_line_of_the_request_carries_it(sidecar):
    cid = f"ops-{uuid.uuid4().hex[:12]}"
    raw = paystack_body("ORD-ops-1", 18000)
    response = await post(
        sidecar,
        "/payments/paystack/webhook",
        content=raw,
        headers={"x-paystack-signature": "bad", "X-Correlation-ID": cid},
    )
    assert response.status_code == 401
    assert response.headers["X-Correlation-ID"] == cid
    lines = await lines_with(sidecar, cid, 2)
    assert [(line["logger"], line["level"]) for line in lines] == [("payments.webhooks", "WARNING"), ("http", "INFO")]
    assert lines[0]["message"] == "paystack webhook with a bad or missing signature refused"
    assert lines[1]["message"].startswith("POST /payments/paystack/webhook: 401 in ")


@pytest.mark.parametrize("given", [None, "", "has spaces", "x" * 65, "<script>alert(1)</script>"])
async def test_a_missing_or_odd_correlation_id_is_replaced_by_a_new_one(sidecar, given):
    headers = {} if given is None else {"X-Correlation-ID": given}
    first = (await get(sidecar, "/health", headers=headers)).headers["X-Correlation-ID"]
    second = (await get(sidecar, "/health", headers=headers)).headers["X-Correlation-ID"]
    assert len(first) == 32 and int(first, 16) >= 0 and first != second


async def test_a_callback_logs_the_payment_and_the_turn_that_started_it(shop, sidecar, services):
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_ops_trail")
    started_by = f"turn-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(services.redis_url)
    await redis.set("shop:correlation:payment:mpesa:ws_CO_ops_trail", started_by, ex=60)
    await redis.aclose()
    cid = f"cb-{uuid.uuid4().hex[:8]}"
    response = await post(
        sidecar,
        await callback_url(shop, payment),
        json=stk_callback("ws_CO_ops_trail"),
        headers={"X-Correlation-ID": cid},
    )
    assert response.status_code == 200
    [recorded, _] = await lines_with(sidecar, cid, 2)
    assert recorded["message"] == "mpesa stk_callback ws_CO_ops_trail: awaiting_confirmation"
    assert (recorded["provider"], recorded["origin_correlation_id"]) == ("mpesa", started_by)
    async with shop.sessions() as session:
        payment_id = await session.scalar(select(t.Payment.id).where(t.Payment.provider_reference == "ws_CO_ops_trail"))
    assert recorded["payment_id"] == payment_id


async def test_metrics_count_webhooks_by_provider_and_outcome(shop, sidecar):
    before = await scrape(sidecar)
    _, payment = await order_with_payment(shop, "mpesa", "ws_CO_ops_metrics")
    url = await callback_url(shop, payment)
    for _ in range(2):  # kept until Daraja confirms it, then a duplicate
        assert (await post(sidecar, url, json=stk_callback("ws_CO_ops_metrics"))).status_code == 200
    assert (await post(sidecar, url, content=b"{}")).status_code == 400
    assert (await post(sidecar, "/payments/mpesa/callback/1.forged", json={})).status_code == 404
    raw = paystack_body("ORD-ops-2", 18000)
    bad = await post(sidecar, "/payments/paystack/webhook", content=raw, headers={"x-paystack-signature": sign(b"x")})
    assert bad.status_code == 401
    after = await scrape(sidecar)

    for provider, outcome in [
        ("mpesa", "awaiting_confirmation"),
        ("mpesa", "duplicate"),
        ("mpesa", "malformed"),
        ("mpesa", "rejected_token"),
        ("paystack", "rejected_signature"),
    ]:
        assert webhooks(after, provider, outcome) - webhooks(before, provider, outcome) == 1, (provider, outcome)
    assert after[("payments_by_state", ("provider", "mpesa"), ("status", "pending"))] >= 1
    assert ("db_connections_used",) in after
    assert (await declared(sidecar))["action_duration_seconds"] == "histogram"  # the sidecar has the histogram,
    assert [key for key in after if key[0].startswith("action_duration_seconds")] == []  # and runs no actions


async def test_reconciliation_outcomes_counted_by_the_worker_in_redis_are_scraped(sidecar, services):
    provider = f"test{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(services.redis_url)
    try:
        for outcome in ("paid", "paid", "expired"):
            await count_reconciliation(redis, provider, outcome)
        metrics = await scrape(sidecar)
    finally:
        await redis.hdel(RECONCILIATION_KEY, f"{provider}:paid", f"{provider}:expired")
        await redis.aclose()
    assert metrics[("reconciliation_outcomes_total", ("outcome", "paid"), ("provider", provider))] == 2
    assert metrics[("reconciliation_outcomes_total", ("outcome", "expired"), ("provider", provider))] == 1
