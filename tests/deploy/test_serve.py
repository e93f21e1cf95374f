"""The production run for real: `python -m deploy.serve` (what `make serve` runs) with two Rasa servers
behind Debian's nginx, a fresh migrated database and this run's Redis, from the environment only.

Skipped when nginx is not installed (`make serve` and `make test` install it); `-m "not serve"` skips it
too. About 90 s: two Rasa servers load their model at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy import proxy
from deploy.serve import ROOT
from devstack.model import ensure_model
from devstack.paths import ACTIONS_PYTHON
from devstack.services import free_port
from tests.deploy.environments import production_env

pytestmark = [
    pytest.mark.serve,
    pytest.mark.skipif(proxy.find_nginx() is None, reason="nginx is not installed (make serve installs it)"),
]
START_SECONDS = 300


@dataclass
class Served:
    popen: subprocess.Popen
    log: Path
    env: dict[str, str]

    @property
    def public(self) -> str:
        return f"http://127.0.0.1:{self.env['PROXY_PORT']}"

    @property
    def private(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_API_PORT']}"

    def rasa(self, n: int) -> str:
        return f"http://127.0.0.1:{int(self.env['RASA_FIRST_PORT']) + n}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"started (\S+) \(pid (\d+)\)", self.output())}

    def wait_for(self, text: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} (status {self.popen.poll()}):\n{self.output()[-4000:]}")
            time.sleep(0.5)

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(60)


def launch(env: dict[str, str], log: Path) -> Served:
    with log.open("w") as out:
        popen = subprocess.Popen(
            [str(ACTIONS_PYTHON), "-m", "deploy.serve"], cwd=ROOT, env={"PATH": os.environ["PATH"], **env},
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return Served(popen, log, env)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def serve_env(database_url, services, redis_key_prefix) -> dict[str, str]:
    return production_env(
        DATABASE_URL=database_url,
        REDIS_URL=services.redis_url,
        REDIS_KEY_PREFIX=redis_key_prefix,
        JOBS_QUEUE=f"serve:{uuid.uuid4().hex[:8]}",
        RASA_MODEL=str(ensure_model(quiet=True)),
        RASA_REPLICAS="2",
        PROXY_HOST="127.0.0.1",
        **{name: str(free_port()) for name in ("PROXY_PORT", "RASA_API_PORT", "ACTION_SERVER_PORT", "SIDECAR_PORT")},
        RASA_FIRST_PORT=str(free_port()),  # and the next one: a free pair is likely, nginx -t and Rasa would say
    )


@pytest.fixture(scope="module")
def served(serve_env, tmp_path_factory) -> Iterator[Served]:
    run = launch(serve_env, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        run.wait_for("serving on", START_SECONDS)
        yield run
    finally:
        run.stop()


def test_the_rest_channel_is_404_on_the_proxy_and_on_every_rasa_server(served):
    message = {"sender": "2547" + "0" * 8, "message": "hi"}
    for url in (served.public, served.rasa(0), served.rasa(1)):
        assert httpx.post(f"{url}/webhooks/rest/webhook", json=message).status_code == 404, url


def test_rasas_api_is_not_on_the_public_port_even_with_the_token(served):
    for params in ({}, {"token": served.env["RASA_TOKEN"]}):
        response = httpx.get(f"{served.public}/conversations/x/tracker", params=params)
        assert response.status_code == 404 and "nginx" in response.text


def test_rasas_api_on_the_private_port_needs_the_token(served):
    assert httpx.get(f"{served.private}/conversations/x/tracker").status_code == 401
    wrong = httpx.get(f"{served.private}/conversations/x/tracker", params={"token": "not-the-token"})
    assert wrong.status_code == 401
    right = httpx.get(f"{served.private}/conversations/x/tracker", params={"token": served.env["RASA_TOKEN"]})
    assert right.status_code == 200 and right.json()["sender_id"] == "x"
    assert served.env["RASA_TOKEN"] not in served.output()  # nginx logs $uri, never the query string


def test_whatsapps_webhook_verification_works_through_the_proxy_on_both_servers(served):
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": served.env["WHATSAPP_VERIFY_TOKEN"],
        "hub.challenge": "1158201444",
    }
    answers = [httpx.get(f"{served.public}/webhooks/whatsapp/webhook", params=params) for _ in range(4)]
    assert [(a.status_code, a.text) for a in answers] == [(200, "1158201444")] * 4
    wrong = httpx.get(f"{served.public}/webhooks/whatsapp/webhook", params={**params, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    upstreams = set(re.findall(r'"GET /webhooks/whatsapp/webhook" 200 .* upstream=(\S+)', served.output()))
    assert upstreams == {served.rasa(0).removeprefix("http://"), served.rasa(1).removeprefix("http://")}


def test_the_payment_webhooks_reach_the_sidecar_through_the_proxy(served):
    unsigned = httpx.post(f"{served.public}/payments/paystack/webhook", content=b"{}")
    assert (unsigned.status_code, unsigned.json()) == (401, {"error": "invalid signature"})  # the sidecar's answer
    body = json.dumps({"event": "transfer.success", "data": {"reference": "TRF-1", "amount": 100}}).encode()
    signature = hmac.new(served.env["PAYSTACK_SECRET_KEY"].encode(), body, hashlib.sha512).hexdigest()
    signed = httpx.post(f"{served.public}/payments/paystack/webhook", content=body,
                        headers={"x-paystack-signature": signature, "content-type": "application/json"})  # fmt: skip
    assert (signed.status_code, signed.json()) == (200, {"status": "kept"})
    assert httpx.get(f"{served.public}/payments/paystack/webhook").status_code == 403  # POST only


def test_the_admin_pages_are_public_and_nothing_else_of_the_sidecar_is(served):
    assert "Sign in" in httpx.get(f"{served.public}/admin/login").text
    for path in ("/health", "/ready", "/metrics", "/orders/ORD-1", "/"):
        assert httpx.get(served.public + path).status_code == 404, path
    token = {"Authorization": f"Bearer {served.env['METRICS_TOKEN']}"}
    sidecar = f"http://127.0.0.1:{served.env['SIDECAR_PORT']}"
    assert httpx.get(f"{sidecar}/ready", headers=token).json() == {"status": "ready"}  # on the private address


def test_sigterm_stops_every_process(served):
    pids = served.pids()
    assert set(pids) == {"actions", "sidecar", "worker", "rasa-1", "rasa-2", "proxy"}
    assert served.stop() == 0
    assert all(gone(pid) for pid in pids.values()), pids


def test_a_process_that_dies_stops_the_whole_run(serve_env, tmp_path):
    run = launch({**serve_env, "RASA_REPLICAS": "1"}, tmp_path / "serve.log")
    try:
        run.wait_for("started rasa-1", 60)
        pids = run.pids()
        os.kill(pids["worker"], signal.SIGKILL)
        assert run.popen.wait(90) == 1
    finally:
        run.stop()
    assert "worker exited with status -9; stopping everything" in run.output()
    assert all(gone(pid) for pid in pids.values()), pids
