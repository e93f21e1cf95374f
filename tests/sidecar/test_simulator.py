"""The payment simulator as a real process, driven by the real Daraja and Paystack clients.

A tiny HTTP receiver in this process stands in for the sidecar and records every callback and
webhook; no database is needed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.commerce.money import Money
from actions.payments.mpesa import (
    DarajaClient,
    DarajaConfig,
    DarajaError,
    TokenCache,
    nairobi_timestamp,
    parse_stk_callback,
    stk_password,
)
from actions.payments.paystack import PaystackClient, PaystackError, new_reference, parse_webhook, verify_signature
from devstack.paths import ACTIONS_PYTHON
from devstack.processes import Process, spawn, wait_until
from devstack.services import free_port
from tests.waiting import eventually

PROVIDERS = Path(__file__).resolve().parents[1] / "providers"  # the documented payloads, copied into the repo
PAYSTACK_SECRET = "sk_test_" + secrets.token_hex(16)
CALLBACK_DELAY = 0.5
SHORTCODE = "174379"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
CALLBACK_TOKEN = secrets.token_urlsafe(16)


def example(name: str) -> Any:
    return json.loads((PROVIDERS / name).read_text())


def assert_same_shape(actual: Any, documented: Any, where: str = "$", skip: tuple[str, ...] = ()) -> None:
    """Same keys and value types as the documented example, all the way down; a documented null fits anything."""
    if documented is None:
        return
    if isinstance(documented, dict):
        assert isinstance(actual, dict), f"{where} should be an object, got {actual!r}"
        assert set(actual) == set(documented), f"{where} keys differ: {sorted(set(actual) ^ set(documented))}"
        for key, value in documented.items():
            if key not in skip:
                assert_same_shape(actual[key], value, f"{where}.{key}", skip)
    elif isinstance(documented, list):
        assert isinstance(actual, list), f"{where} should be a list, got {actual!r}"
        for i, item in enumerate(actual):
            model = documented[i] if len(actual) == len(documented) else documented[0] if documented else None
            assert_same_shape(item, model, f"{where}[{i}]", skip)
    else:
        assert type(actual) is type(documented), f"{where} should be {type(documented).__name__}, got {actual!r}"


Check = Callable[["Received"], bool]


# --- a receiver for callbacks and webhooks -------------------------------------------------------


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP/1.1 server that answers 200 to everything and keeps what it was sent."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append(Received(method, path, headers, body))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n")
            writer.write(b"Connection: close\r\n\r\n{}")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def matching(self, predicate: Check) -> list[Received]:
        return [r for r in self.received if predicate(r)]

    async def wait_for(self, predicate: Check, count: int = 1, within: float = 10) -> list[Received]:
        deadline = time.monotonic() + within
        while len(found := self.matching(predicate)) < count:
            assert time.monotonic() < deadline, f"only {len(found)} of {count} expected requests arrived"
            await asyncio.sleep(0.05)
        return found


def stk_callback_for(checkout_id: str) -> Check:
    def predicate(r: Received) -> bool:
        return r.path.startswith("/mpesa/") and r.json()["Body"]["stkCallback"]["CheckoutRequestID"] == checkout_id

    return predicate


def webhook_for(reference: str, path: str = "/paystack") -> Check:
    return lambda r: r.path == path and r.json()["data"]["reference"] == reference


async def logged(simulator: Process, http: httpx.AsyncClient, reference: str) -> list[dict]:
    """What the simulator's log says it sent about `reference` (a CheckoutRequestID or a Paystack reference)."""
    sent = (await http.get(f"{simulator.url}/simulator/log")).json()
    return [entry for entry in sent if reference in json.dumps(entry["body"])]


async def a_later_callback_arrives(
    daraja: DarajaClient, simulator: Process, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    """Push an ordinary payment; wait until its callback is received and in the simulator's log. Whatever the
    simulator had to send for an earlier push was due at least one callback delay before that one."""
    later = await daraja.stk_push(KES_180, "0712345678", "ORD-LATER", "Duka order")
    await receiver.wait_for(stk_callback_for(later.checkout_request_id))
    await eventually(lambda: logged(simulator, http, later.checkout_request_id), what="the later callback logged")


async def a_later_payment_is_announced(
    paystack: PaystackClient, simulator: Process, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    """Pay another checkout; wait until its webhook is received and in the simulator's log. A webhook for
    anything paid before it was on its way first."""
    later = new_reference("ORD-LATER")
    await paystack.initialize(Money(1000, "NGN"), "demo@test.com", later, order_id=99)
    assert (await http.post(f"{simulator.url}/paystack/checkout/{later}/pay")).status_code == 200
    await receiver.wait_for(webhook_for(later))
    await eventually(lambda: logged(simulator, http, later), what="the later webhook logged")


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


def start_simulator(log_dir: Path, **env: str) -> Process:
    port = free_port()
    process = spawn(
        f"simulator-{port}",
        [str(ACTIONS_PYTHON), "-m", "devstack.simulator"],
        {"SIMULATOR_PORT": str(port), "PAYSTACK_SECRET_KEY": PAYSTACK_SECRET, **env},
        f"http://127.0.0.1:{port}",
        log_dir,
    )
    wait_until(process, "/health", timeout=30)
    return process


@pytest.fixture(scope="module")
def simulator(receiver: Receiver, tmp_path_factory) -> Iterator[Process]:
    process = start_simulator(
        tmp_path_factory.mktemp("simulator-logs"),
        PAYSTACK_WEBHOOK_URL=f"{receiver.url}/paystack",
        SIMULATOR_CALLBACK_DELAY=str(CALLBACK_DELAY),
        SIMULATOR_LATE_DELAY="3",
        SIMULATOR_PAYSTACK_AUTOPAY="0",
    )
    yield process
    process.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def daraja_config(simulator: Process, receiver: Receiver) -> DarajaConfig:
    return DarajaConfig(
        base_url=simulator.url,
        consumer_key="key-" + secrets.token_hex(4),
        consumer_secret="secret",
        shortcode=SHORTCODE,
        passkey=PASSKEY,
        transaction_type="CustomerPayBillOnline",
        callback_url=f"{receiver.url}/mpesa/callback/{CALLBACK_TOKEN}",
    )


@pytest.fixture
def daraja(daraja_config: DarajaConfig, http: httpx.AsyncClient) -> DarajaClient:
    return DarajaClient(daraja_config, http, TokenCache())


@pytest.fixture
def paystack(simulator: Process, http: httpx.AsyncClient) -> PaystackClient:
    return PaystackClient(PAYSTACK_SECRET, http, base_url=simulator.url)


KES_180 = Money(180_00, "KES")


# --- M-Pesa ------------------------------------------------------------------------------------------


async def test_a_new_token_invalidates_the_previous_one(simulator, http):
    async def token() -> dict:
        response = await http.get(
            f"{simulator.url}/oauth/v1/generate", params={"grant_type": "client_credentials"}, auth=("k1", "s1")
        )
        assert response.status_code == 200
        return response.json()

    first, second = await token(), await token()
    assert set(first) == set(example("mpesa/mpesa_oauth_token_response.json"))
    assert first["expires_in"] == "3599"
    assert first["access_token"] != second["access_token"]

    timestamp = nairobi_timestamp()
    query = {
        "BusinessShortCode": SHORTCODE,
        "Password": stk_password(SHORTCODE, PASSKEY, timestamp),
        "Timestamp": timestamp,
        "CheckoutRequestID": "ws_CO_unknown",
    }
    url = f"{simulator.url}/mpesa/stkpushquery/v1/query"
    stale = await http.post(url, json=query, headers={"Authorization": f"Bearer {first['access_token']}"})
    assert stale.status_code == 404
    assert_same_shape(stale.json(), example("mpesa/mpesa_stk_push_error_400_invalid_shortcode.json"))
    assert stale.json()["errorCode"] == "404.001.03"
    # The current token gets past authentication, to the unknown CheckoutRequestID.
    current = await http.post(url, json=query, headers={"Authorization": f"Bearer {second['access_token']}"})
    assert current.json()["errorCode"] == "400.002.02"

    no_auth = await http.get(f"{simulator.url}/oauth/v1/generate", params={"grant_type": "client_credentials"})
    assert no_auth.status_code == 400


async def test_a_successful_push_calls_back_with_amount_and_receipt(daraja, simulator, receiver, http):
    accepted = await daraja.stk_push(KES_180, "0712 345 678", "ORD-42", "Duka order")
    assert accepted.checkout_request_id.startswith("ws_CO_")

    [callback] = await receiver.wait_for(stk_callback_for(accepted.checkout_request_id))
    assert callback.method == "POST"
    assert callback.path == f"/mpesa/callback/{CALLBACK_TOKEN}"
    assert_same_shape(callback.json(), example("mpesa/mpesa_stk_callback_success.json"))
    parsed = parse_stk_callback(callback.body)
    assert parsed.result_code == 0
    assert parsed.merchant_request_id == accepted.merchant_request_id
    assert parsed.amount == KES_180
    assert parsed.receipt is not None and re.fullmatch(r"[A-Z0-9]{10}", parsed.receipt)
    assert parsed.phone == "254712345678"
    assert parsed.transaction_date is not None and re.fullmatch(r"20\d{12}", parsed.transaction_date)

    result = await daraja.stk_query(accepted.checkout_request_id)
    assert (result.result_code, result.pending) == (0, False)

    sent = (await http.get(f"{simulator.url}/simulator/log")).json()
    [entry] = [e for e in sent if e["url"] == daraja._config.callback_url and e["body"] == callback.json()]
    assert entry["status"] == 200


async def test_the_push_and_query_answers_have_the_documented_shapes(daraja_config, simulator, http):
    tokens = TokenCache()
    token = await tokens.token(daraja_config, http)
    headers = {"Authorization": f"Bearer {token}"}
    request = example("mpesa/mpesa_stk_push_request.json")
    timestamp = nairobi_timestamp()
    request |= {
        "Password": stk_password(SHORTCODE, PASSKEY, timestamp),
        "Timestamp": timestamp,
        "PhoneNumber": "254722115678",
        "CallBackURL": daraja_config.callback_url,
    }
    pushed = await http.post(f"{simulator.url}/mpesa/stkpush/v1/processrequest", json=request, headers=headers)
    assert pushed.status_code == 200
    assert_same_shape(pushed.json(), example("mpesa/mpesa_stk_push_response_accepted.json"))
    assert pushed.json()["ResponseCode"] == "0"

    query = example("mpesa/mpesa_stk_query_request.json") | {
        "Password": stk_password(SHORTCODE, PASSKEY, timestamp),
        "Timestamp": timestamp,
        "CheckoutRequestID": pushed.json()["CheckoutRequestID"],
    }
    url = f"{simulator.url}/mpesa/stkpushquery/v1/query"
    pending = await http.post(url, json=query, headers=headers)
    assert pending.status_code == 500
    assert_same_shape(pending.json(), example("mpesa/mpesa_stk_query_error_500_001_1001_being_processed.json"))
    assert pending.json()["errorCode"] == "500.001.1001"

    await asyncio.sleep(CALLBACK_DELAY + 0.1)
    done = await http.post(url, json=query, headers=headers)
    assert_same_shape(done.json(), example("mpesa/mpesa_stk_query_response_success.json"))
    assert done.json()["ResultCode"] == "0"
    assert done.json()["CheckoutRequestID"] == pushed.json()["CheckoutRequestID"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Password": base64.b64encode(b"999999passkey20210628092408").decode()}, "Password"),
        ({"Password": "not base64!"}, "Password"),
        ({"BusinessShortCode": "17a379"}, "BusinessShortCode"),
        ({"TransactionType": "CustomerPayBill"}, "TransactionType"),
        ({"Amount": "0"}, "Amount"),
        ({"PhoneNumber": "254822111111"}, "PhoneNumber"),
        ({"AccountReference": "a reference that is too long"}, "AccountReference"),
    ],
)
async def test_invalid_push_fields_get_the_documented_400(daraja_config, simulator, http, change, field):
    token = await TokenCache().token(daraja_config, http)
    request = example("mpesa/mpesa_stk_push_request.json") | change  # Password fits its Timestamp unless changed
    response = await http.post(
        f"{simulator.url}/mpesa/stkpush/v1/processrequest", json=request, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert_same_shape(response.json(), example("mpesa/mpesa_stk_push_error_400_invalid_shortcode.json"))
    assert response.json()["errorCode"] == "400.002.02"
    assert response.json()["errorMessage"] == f"Bad Request - Invalid {field}"


async def test_the_documented_example_push_is_accepted(daraja_config, simulator, http):
    token = await TokenCache().token(daraja_config, http)
    response = await http.post(
        f"{simulator.url}/mpesa/stkpush/v1/processrequest",
        json=example("mpesa/mpesa_stk_push_request.json") | {"CallBackURL": daraja_config.callback_url},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["ResponseCode"] == "0"


async def test_a_cancelled_push_calls_back_1032_without_metadata(daraja, receiver):
    accepted = await daraja.stk_push(KES_180, "0712341032", "ORD-43", "Duka order")
    [callback] = await receiver.wait_for(stk_callback_for(accepted.checkout_request_id))
    assert_same_shape(callback.json(), example("mpesa/mpesa_stk_callback_failure_1032_cancelled.json"))
    parsed = parse_stk_callback(callback.body)
    assert parsed.result_code == 1032
    assert parsed.meaning.outcome == "cancelled"
    assert parsed.amount is None and parsed.receipt is None
    result = await daraja.stk_query(accepted.checkout_request_id)
    assert (result.result_code, result.pending) == (1032, False)


@pytest.mark.parametrize(("phone", "code"), [("0712342001", 2001), ("0712340001", 1), ("0712341037", 1037)])
async def test_failures_by_the_last_four_digits(daraja, receiver, phone, code):
    accepted = await daraja.stk_push(KES_180, phone, "ORD-44", "Duka order")
    [callback] = await receiver.wait_for(stk_callback_for(accepted.checkout_request_id))
    assert "CallbackMetadata" not in callback.json()["Body"]["stkCallback"]
    assert parse_stk_callback(callback.body).result_code == code


async def test_0000_never_calls_back_but_the_query_finds_the_success(daraja, simulator, receiver, http):
    accepted = await daraja.stk_push(KES_180, "0712340000", "ORD-45", "Duka order")
    before = await daraja.stk_query(accepted.checkout_request_id)
    assert before.pending is True
    assert before.result_code is None

    deadline = time.monotonic() + 10
    while (after := await daraja.stk_query(accepted.checkout_request_id)).pending:
        assert time.monotonic() < deadline, "the query never stopped being pending"
        await asyncio.sleep(0.1)
    assert after.result_code == 0

    await a_later_callback_arrives(daraja, simulator, receiver, http)  # a callback for 0000 would have come first
    assert receiver.matching(stk_callback_for(accepted.checkout_request_id)) == []
    sent = (await http.get(f"{simulator.url}/simulator/log")).json()
    assert not [e for e in sent if e["kind"] == "mpesa_callback" and accepted.checkout_request_id in json.dumps(e)]


async def test_2222_sends_three_identical_callbacks(daraja, simulator, receiver, http):
    accepted = await daraja.stk_push(KES_180, "0712342222", "ORD-46", "Duka order")
    callbacks = await receiver.wait_for(stk_callback_for(accepted.checkout_request_id), count=3)
    await a_later_callback_arrives(daraja, simulator, receiver, http)  # a fourth copy would have come before it
    callbacks = receiver.matching(stk_callback_for(accepted.checkout_request_id))
    assert len(callbacks) == 3
    assert callbacks[0].body == callbacks[1].body == callbacks[2].body
    parsed = parse_stk_callback(callbacks[0].body)
    assert (parsed.result_code, parsed.amount) == (0, KES_180)


async def test_3333_calls_back_late_while_the_query_already_knows(daraja, simulator, receiver, http):
    accepted = await daraja.stk_push(KES_180, "0712343333", "ORD-47", "Duka order")
    await a_later_callback_arrives(daraja, simulator, receiver, http)  # pushed after it, called back on time
    assert receiver.matching(stk_callback_for(accepted.checkout_request_id)) == []
    assert (await daraja.stk_query(accepted.checkout_request_id)).result_code == 0
    [callback] = await receiver.wait_for(stk_callback_for(accepted.checkout_request_id), within=10)
    assert parse_stk_callback(callback.body).result_code == 0


async def test_a_push_with_a_stale_token_gets_a_new_token_and_goes_through(daraja_config, http, receiver):
    tokens = TokenCache()
    client = DarajaClient(daraja_config, http, tokens)
    stale = await tokens.token(daraja_config, http)
    await TokenCache().token(daraja_config, http)  # another process takes a new token for the same key
    accepted = await client.stk_push(KES_180, "0712345678", "ORD-48", "Duka order")  # refused once, then renewed
    assert accepted.checkout_request_id.startswith("ws_CO_")
    assert await tokens.token(daraja_config, http) != stale


async def test_querying_an_unknown_checkout_is_an_invalid_field(daraja):
    with pytest.raises(DarajaError) as refused:
        await daraja.stk_query("ws_CO_nothing")
    assert refused.value.code == "400.002.02"


# --- Paystack ----------------------------------------------------------------------------------------


async def test_paystack_initialize_pay_signed_webhook_and_verify(paystack, simulator, receiver, http):
    amount = Money(403_33, "NGN")
    reference = new_reference("ORD-49")
    init = await paystack.initialize(amount, "demo@test.com", reference, order_id=49)
    assert init.reference == reference
    assert init.authorization_url == f"{simulator.url}/paystack/checkout/{reference}"

    raw_init = await http.post(
        f"{simulator.url}/transaction/initialize",
        json={"email": "demo@test.com", "amount": 100, "reference": new_reference("raw")},
        headers={"Authorization": f"Bearer {PAYSTACK_SECRET}"},
    )
    assert_same_shape(raw_init.json(), example("paystack/paystack_transaction_initialize_response.json"))

    before = await paystack.verify(reference)
    assert (before.status, before.paid) == ("ongoing", False)

    page = await http.get(init.authorization_url)
    assert page.status_code == 200
    assert "Simulated card payment for NGN 403.33" in page.text
    assert f'action="/paystack/checkout/{reference}/pay"' in page.text
    assert receiver.matching(webhook_for(reference)) == []

    paid = await http.post(f"{simulator.url}/paystack/checkout/{reference}/pay")
    assert paid.status_code == 200
    [webhook] = await receiver.wait_for(webhook_for(reference))
    assert verify_signature(webhook.body, webhook.headers.get("x-paystack-signature"), PAYSTACK_SECRET)
    assert not verify_signature(webhook.body, webhook.headers.get("x-paystack-signature"), "sk_test_other")
    body = webhook.json()
    assert_same_shape(body, example("paystack/paystack_webhook_charge_success_card.json"), skip=("metadata",))
    assert body["data"]["metadata"] == {"order_id": 49}
    event = parse_webhook(webhook.body)
    assert (event.event, event.reference, event.amount) == ("charge.success", reference, amount)
    assert event.status == "success"

    after = await paystack.verify(reference)
    assert after.paid and after.settles(amount)
    verified = await http.get(
        f"{simulator.url}/transaction/verify/{reference}", headers={"Authorization": f"Bearer {PAYSTACK_SECRET}"}
    )
    documented = example("paystack/paystack_transaction_verify_response_success.json")
    assert_same_shape(verified.json(), documented, skip=("metadata",))

    again = await http.post(f"{simulator.url}/paystack/checkout/{reference}/pay")  # paying twice sends nothing new
    assert "Already paid" in again.text
    await a_later_payment_is_announced(paystack, simulator, receiver, http)  # a second webhook would be in first
    assert len(receiver.matching(webhook_for(reference))) == 1


async def test_a_reused_paystack_reference_is_refused(paystack):
    reference = new_reference("ORD-50")
    await paystack.initialize(Money(1000, "NGN"), "demo@test.com", reference, order_id=50)
    with pytest.raises(PaystackError) as refused:
        await paystack.initialize(Money(1000, "NGN"), "demo@test.com", reference, order_id=50)
    assert refused.value.message == "Duplicate Transaction Reference"
    assert refused.value.status_code == 400


async def test_paystack_refuses_a_wrong_secret_key_and_unknown_references(simulator, paystack, http):
    stranger = PaystackClient("sk_test_wrong", http, base_url=simulator.url)
    with pytest.raises(PaystackError) as refused:
        await stranger.initialize(Money(1000, "NGN"), "demo@test.com", new_reference("ORD-51"), order_id=51)
    assert refused.value.status_code == 401
    with pytest.raises(PaystackError) as unknown:
        await paystack.verify("no-such-reference")
    assert unknown.value.message == "Transaction reference not found"


async def test_paystack_autopay_pays_by_itself(receiver, tmp_path_factory, http):
    process = start_simulator(
        tmp_path_factory.mktemp("autopay-logs"),
        PAYSTACK_WEBHOOK_URL=f"{receiver.url}/autopay",
        SIMULATOR_PAYSTACK_AUTOPAY="0.5",
    )
    try:
        client = PaystackClient(PAYSTACK_SECRET, http, base_url=process.url)
        reference = new_reference("ORD-52")
        await client.initialize(Money(2500, "KES"), "demo@test.com", reference, order_id=52)
        assert (await client.verify(reference)).paid is False
        [webhook] = await receiver.wait_for(webhook_for(reference, "/autopay"))
        assert verify_signature(webhook.body, webhook.headers.get("x-paystack-signature"), PAYSTACK_SECRET)
        assert (await client.verify(reference)).settles(Money(2500, "KES"))
    finally:
        process.stop()


async def test_health(simulator, http):
    response = await http.get(f"{simulator.url}/health")
    assert response.json() == {"status": "ok"}


async def test_the_record_is_the_providers_own_books_of_what_completed(daraja, paystack, simulator, http):
    paid = await daraja.stk_push(KES_180, "0712 345 678", "ORD-43", "Duka order")
    cancelled = await daraja.stk_push(KES_180, "0712 341 032", "ORD-44", "Duka order")
    reference, unpaid = f"rec-{secrets.token_hex(4)}", f"rec-{secrets.token_hex(4)}"
    for ref in (reference, unpaid):
        await paystack.initialize(Money(1000, "NGN"), "demo@test.com", ref, order_id=51)
    assert (await http.post(f"{simulator.url}/paystack/checkout/{reference}/pay")).status_code == 200

    async def decided() -> dict:
        record = (await http.get(f"{simulator.url}/simulator/record")).json()
        pushes = {p["checkout_request_id"]: p for p in record["mpesa"]}
        mine = [pushes[a.checkout_request_id] for a in (paid, cancelled)]
        return record if all(p["decided"] for p in mine) else {}

    record = await eventually(decided, within=10, what="both pushes decided")
    pushes = {p["checkout_request_id"]: p for p in record["mpesa"]}
    done, refused = pushes[paid.checkout_request_id], pushes[cancelled.checkout_request_id]
    assert (done["completed"], done["amount"], done["result_code"]) == (True, 180, 0)
    assert (refused["completed"], refused["result_code"]) == (False, 1032)
    transactions = {t["reference"]: t for t in record["paystack"]}
    assert (transactions[reference]["paid"], transactions[unpaid]["paid"]) == (True, False)
    assert transactions[reference]["amount"] == 1000
