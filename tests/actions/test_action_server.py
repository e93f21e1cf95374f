"""The action server as a real process: the correlation id from the message's metadata, action timings, /ready."""

import asyncio
import json
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack.processes import Process, start_action_server
from devstack.services import Services
from tests.actions.conftest import TRACKERS


@pytest.fixture(scope="module")
def action_server(services, database_url, tmp_path_factory):
    process = start_action_server(Services(database_url, services.redis_url), tmp_path_factory.mktemp("action-logs"))
    yield process
    process.stop()


def action_call(action: str, metadata: dict | None = None, message_id: str | None = None) -> dict:
    tracker = json.loads((TRACKERS / "show_products.json").read_text())
    tracker["latest_message"] |= {"metadata": metadata or {}, "message_id": message_id}
    return {"next_action": action, "sender_id": tracker["sender_id"], "tracker": tracker, "domain": {"intents": []}}


async def run_action(process: Process, body: dict, headers: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        response = await client.post("/webhook", json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response


async def logged_with(process: Process, correlation_id: str) -> list[dict]:
    for _ in range(50):
        lines = [json.loads(line) for line in process.log.read_text().splitlines() if line.startswith("{")]
        if found := [line for line in lines if line.get("correlation_id") == correlation_id]:
            return found
        await asyncio.sleep(0.1)
    return []


async def test_the_correlation_id_comes_from_the_message_metadata(shop, action_server):
    cid = f"wa-{uuid.uuid4().hex[:12]}"
    response = await run_action(
        action_server,
        action_call("action_show_catalog", {"correlation_id": cid, "channel": "whatsapp"}),
        headers={"X-Correlation-ID": "the-header-loses"},
    )
    assert response.headers["X-Correlation-ID"] == cid
    [line] = [line for line in await logged_with(action_server, cid) if line["logger"] == "http"]
    assert line["message"].startswith("POST /webhook: 200 in ")
    assert (line["action"], line["tenant"]) == ("action_show_catalog", "demo-shop")


async def test_without_metadata_the_header_then_the_message_id_are_used_and_without_either_a_new_id(
    shop, action_server
):
    cid, message_id = f"rest-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    by_header = await run_action(action_server, action_call("action_show_catalog"), {"X-Correlation-ID": cid})
    assert by_header.headers["X-Correlation-ID"] == cid
    by_message = await run_action(action_server, action_call("action_show_catalog", message_id=message_id))
    assert by_message.headers["X-Correlation-ID"] == message_id  # every action of a `rasa shell` turn shares it
    odd = action_call("action_show_catalog", {"correlation_id": "not a sane id!"}, message_id="wamid.HBgM==")
    fresh = (await run_action(action_server, odd)).headers["X-Correlation-ID"]
    assert len(fresh) == 32 and fresh not in (cid, message_id)


async def scrape(process: Process) -> dict[tuple[str, str | None], float]:
    """{(sample name, its action label): value} from GET /metrics."""
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        metrics = (await client.get("/metrics")).text
    return {
        (sample.name, sample.labels.get("action")): sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
    }


async def test_metrics_time_each_action_and_ready_checks_the_schema(shop, action_server):
    timed = ("action_duration_seconds_count", "action_show_catalog")
    before = (await scrape(action_server)).get(timed, 0.0)  # the earlier tests of this module ran it too
    for _ in range(2):
        await run_action(action_server, action_call("action_show_catalog"))
    samples = await scrape(action_server)
    async with httpx.AsyncClient(base_url=action_server.url, timeout=30) as client:
        ready = await client.get("/ready")
    assert samples[timed] - before == 2
    assert ("db_connections_used", None) in samples
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
