"""The WhatsApp channel with real Redis and a fake Graph API over HTTP (devstack/fake_graph.py).

Each test drives WhatsAppInput.receive() with signed webhook bodies, as Rasa's Sanic route does, and
records the Rasa turns it starts; the end-to-end test (tests/e2e/test_whatsapp.py) does the same
through a real Rasa server.
"""

import asyncio
import dataclasses
import json
import time
import uuid
from urllib.parse import quote, urlparse

import httpx
import psycopg2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic, response

from bot.channels.whatsapp import WhatsAppInput
from bot.stores.lock import TicketLockStore
from bot.stores.tracker import live_key
from bot.whatsapp.inbound import LATE_MESSAGE
from bot.whatsapp.settings import RedisSettings, WhatsAppSettings
from devstack.paths import ACTIONS_PYTHON
from devstack.processes import spawn, wait_until
from devstack.services import free_port
from tests.bot.test_whatsapp_fuzz import ROUTE, SENT, bodies, fuzzing
from tests.bot.whatsapp_payloads import (
    PHONE_NUMBER_ID,
    REPLY_KEY,
    documented,
    message,
    offered,
    raw,
    signed,
    tapped,
    webhook,
)
from tests.waiting import eventually

SECRET = "app-secret-for-tests"
TOKEN = "EAAtest-token"
DEBOUNCE = 0.4
SHOP_NUMBERS = (PHONE_NUMBER_ID, "222", "333")  # the numbers some shop owns; any other belongs to none


@pytest.fixture(scope="session")
def graph_url(tmp_path_factory):
    """The provider simulator, whose fake Graph API accepts TOKEN only."""
    port = free_port()
    env = {"SIMULATOR_PORT": str(port), "WHATSAPP_ACCESS_TOKEN": TOKEN}
    process = spawn("simulator", [str(ACTIONS_PYTHON), "-m", "devstack.simulator"], env,
                    f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("logs"))  # fmt: skip
    wait_until(process, "/health", timeout=60)
    yield process.url
    process.stop()


@pytest.fixture(scope="session")
def shops_url(archive_url):
    """A migrated database whose shops own SHOP_NUMBERS (commerce.tenants, as the action side writes them)."""
    with psycopg2.connect(archive_url) as connection, connection.cursor() as cursor:
        for n, number in enumerate(SHOP_NUMBERS):
            cursor.execute(
                "INSERT INTO commerce.tenants (slug, name, currency, whatsapp_phone_number_id)"
                " VALUES (%s, %s, 'KES', %s)",
                (f"shop-{n}", f"Shop {n}", number),
            )
    connection.close()
    return archive_url


@pytest.fixture
def settings(redis_url, key_prefix, graph_url, shops_url):
    redis = urlparse(redis_url)
    return WhatsAppSettings(
        verify_token="verify-me",
        app_secret=SECRET,
        reply_key=REPLY_KEY,
        database_url=shops_url,
        access_tokens={PHONE_NUMBER_ID: TOKEN},
        default_access_token="EAAwrong-token",
        graph_url=graph_url,
        debounce_seconds=DEBOUNCE,
        max_message_age_seconds=600,
        send_retries=3,
        retry_base_seconds=0.05,
        redis=RedisSettings(redis.hostname, redis.port or 6379, int(redis.path.strip("/") or 0), None, key_prefix),
    )


@pytest.fixture
def customer() -> str:
    return f"2547{uuid.uuid4().int % 10**8:08d}"


class Recorder:
    """Stands in for Rasa's agent: keeps every turn and answers "got: <text>" through the channel's output."""

    def __init__(self, channel: WhatsAppInput, answer: bool = True) -> None:
        self.channel = channel
        self.turns: list[UserMessage] = []
        self.answer = answer

    async def __call__(self, message: UserMessage) -> None:
        self.turns.append(message)
        if self.answer:
            await message.output_channel.send_text_message(message.sender_id, f"got: {message.text}")

    async def idle(self) -> bool:
        """Nothing in the channel's hands: no burst waiting in Redis, and every debounce timer and turn it
        started has finished, replies sent (the sweep, which never ends, aside)."""
        working = [t for t in self.channel._tasks if not t.done() and t.get_coro().__name__ != "_sweep"]
        inbox = self.channel.inbox
        return (
            not working
            and not await inbox.redis.zcard(inbox.pending_key)
            and not await inbox.redis.zcard(inbox.leases_key)
        )

    async def settled(self, seconds: float = 10.0) -> list[str]:
        """The turns, once the channel has handled all it was given: whatever is not here by then never comes."""
        await eventually(self.idle, within=seconds, what="the channel to handle what it was given")
        return [t.text for t in self.turns]

    async def wait_for(self, count: int, seconds: float = 5.0) -> list[str]:
        """At least `count` turns, then every turn there will be (see settled)."""
        await eventually(lambda: len(self.turns) >= count, within=seconds, what=f"{count} turn(s)")
        return await self.settled()


def run(settings, scenario, answer=True):
    """Run one scenario against a fresh channel in a fresh event loop."""

    async def main():
        channel = WhatsAppInput(settings)
        recorder = Recorder(channel, answer)
        channel.blueprint(recorder)
        channel._started()
        try:
            return await scenario(channel, recorder)
        finally:
            for task in list(channel._tasks):
                task.cancel()
            await channel.graph.close()
            for redis in (channel.redis, channel.tickets.redis):
                await redis.aclose() if hasattr(redis, "aclose") else await redis.close()

    return asyncio.run(main())


async def post(channel, payload, secret=SECRET):
    body = raw(payload)
    return await channel.receive(body, signed(body, secret))


def sent_to(graph_url, to):
    return httpx.get(f"{graph_url}/graph/sent", params={"to": to}).json()


def now() -> int:
    return int(time.time())


def test_a_documented_message_is_answered_200_at_once_and_handled_after(settings, graph_url, customer):
    payload = webhook([message("wamid.t1" + customer, now(), "Habari, mna unga wa ngano?", sender=customer)])

    async def scenario(channel, recorder):
        response = await post(channel, payload)
        assert response.status == 200
        assert recorder.turns == []  # handled after the answer, once the burst is over
        assert await recorder.wait_for(1) == ["Habari, mna unga wa ngano?"]
        return recorder.turns[0]

    turn = run(settings, scenario)
    assert turn.sender_id == f"{PHONE_NUMBER_ID}:{customer}"
    assert turn.input_channel == "whatsapp"
    assert turn.metadata["phone_number_id"] == PHONE_NUMBER_ID and turn.metadata["wa_id"] == customer
    [reply] = sent_to(graph_url, customer)
    assert reply["phone_number_id"] == PHONE_NUMBER_ID
    assert reply["body"]["text"]["body"] == "got: Habari, mna unga wa ngano?"
    read = [e["body"] for e in sent_to(graph_url, None) if e["body"].get("message_id") == "wamid.t1" + customer]
    assert read == [{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.t1" + customer,
                     "typing_indicator": {"type": "text"}}]  # fmt: skip


@pytest.mark.parametrize("signature", [None, "", "sha256=", "sha1=abc", "sha256=" + "0" * 64])
def test_a_missing_or_wrong_signature_is_refused_and_changes_nothing(settings, graph_url, customer, signature):
    payload = webhook([message("wamid.s" + customer, now(), "add 2 sugar", sender=customer)])

    async def scenario(channel, recorder):
        response = await channel.receive(raw(payload), signature)
        assert response.status == 401
        return await recorder.settled(), await channel.redis.keys(f"{settings.redis.key_prefix}:*")

    turns, keys = run(settings, scenario)
    assert turns == [] and keys == []
    assert sent_to(graph_url, customer) == []


def test_a_body_signed_with_another_secret_or_changed_after_signing_is_refused(settings, customer):
    payload = webhook([message("wamid.f" + customer, now(), "add 2 sugar", sender=customer)])

    async def scenario(channel, recorder):
        forged = await post(channel, payload, secret="not-the-app-secret")
        body = raw(payload)
        tampered = await channel.receive(body.replace(b"add 2 sugar", b"add 9 sugar"), signed(body, SECRET))
        return forged.status, tampered.status, await recorder.settled()

    assert run(settings, scenario) == (401, 401, [])


def test_a_signed_body_that_is_not_a_webhook_is_a_400(settings):
    async def scenario(channel, recorder):
        not_json = await channel.receive(b"{oops", signed(b"{oops", SECRET))
        wrong_shape = await post(channel, {"object": "page"})
        return not_json.status, wrong_shape.status

    assert run(settings, scenario) == (400, 400)


def test_a_redelivered_message_is_handled_once(settings, graph_url, customer):
    payload = webhook([message("wamid.d" + customer, now(), "my cart", sender=customer)])

    async def scenario(channel, recorder):
        statuses = [(await post(channel, payload)).status for _ in range(3)]
        await recorder.wait_for(1)
        statuses.append((await post(channel, payload)).status)  # days later, after it was answered
        return statuses, await recorder.settled()

    statuses, texts = run(settings, scenario)
    assert statuses == [200, 200, 200, 200]
    assert texts == ["my cart"]
    assert len(sent_to(graph_url, customer)) == 1


def test_a_burst_gets_one_coherent_answer(settings, graph_url, customer):
    t = now()
    parts = [
        message(f"wamid.b{n}{customer}", t, text, sender=customer)
        for n, text in enumerate(["hi", "I want sugar", "2kg"])
    ]

    async def scenario(channel, recorder):
        for part in parts:
            assert (await post(channel, webhook([part]))).status == 200
            await asyncio.sleep(DEBOUNCE / 4)
        return await recorder.wait_for(1)

    assert run(settings, scenario) == ["hi I want sugar 2kg"]
    assert [m["body"]["text"]["body"] for m in sent_to(graph_url, customer)] == ["got: hi I want sugar 2kg"]


def test_the_posts_correlation_id_is_echoed_put_in_the_turns_metadata_and_sent_to_the_graph_api(
    settings, graph_url, customer
):
    payload = webhook([message("wamid.c" + customer, now(), "habari", sender=customer)])

    async def scenario(channel, recorder):
        body = raw(payload)
        response = await channel.receive(body, signed(body, SECRET), "meta-trace.42_x")
        await recorder.wait_for(1)
        return response.headers["X-Correlation-ID"], recorder.turns[0].metadata

    echoed, metadata = run(settings, scenario)
    assert echoed == metadata["correlation_id"] == "meta-trace.42_x"
    marked_read = [e for e in sent_to(graph_url, None) if e["body"].get("message_id") == "wamid.c" + customer]
    replies = sent_to(graph_url, customer)
    assert [e["correlation_id"] for e in marked_read + replies] == ["meta-trace.42_x"] * 2


@pytest.mark.parametrize("given", [None, "two words", "x" * 65])
def test_without_a_sane_header_each_post_gets_a_new_correlation_id(settings, customer, given):
    other = customer[:-1] + str((int(customer[-1]) + 1) % 10)
    payloads = [webhook([message(f"wamid.n{who}", now(), "hi", sender=who)]) for who in (customer, other)]

    async def scenario(channel, recorder):
        answers = [await channel.receive(raw(p), signed(raw(p), SECRET), given) for p in payloads]
        await recorder.wait_for(2)
        return [a.headers["X-Correlation-ID"] for a in answers], {t.sender_id: t.metadata for t in recorder.turns}

    ids, metadata = run(settings, scenario)
    assert len(set(ids)) == 2 and all(len(cid) == 32 for cid in ids)
    assert [metadata[f"{PHONE_NUMBER_ID}:{who}"]["correlation_id"] for who in (customer, other)] == ids


def test_a_burst_over_two_posts_runs_under_the_last_posts_correlation_id(settings, customer):
    first, second = (
        message(f"wamid.m{n}{customer}", now(), text, sender=customer) for n, text in enumerate(["hi", "2kg"])
    )

    async def scenario(channel, recorder):
        for part, cid in ((first, "post-one"), (second, "post-two")):
            await channel.receive(raw(webhook([part])), signed(raw(webhook([part])), SECRET), cid)
        await recorder.wait_for(1)
        return [(t.text, t.metadata["correlation_id"]) for t in recorder.turns]

    assert run(settings, scenario) == [("hi 2kg", "post-two")]


def test_messages_are_handled_in_the_order_they_were_written(settings, customer):
    t = now()
    reply = {"type": "button_reply", "button_reply": {"id": offered("pay_mpesa", sender=customer), "title": "M-Pesa"}}
    tap = message("wamid.o2" + customer, t + 5, sender=customer, type="interactive", interactive=reply)
    typed = message("wamid.o1" + customer, t, "checkout", sender=customer)

    async def scenario(channel, recorder):
        await post(channel, webhook([tap]))  # Meta delivered the later one first
        await post(channel, webhook([typed]))
        return await recorder.wait_for(2)

    assert run(settings, scenario) == ["checkout", "/pay_mpesa"]


def test_tapped_buttons_and_list_rows_the_bot_offered_reach_rasa_as_intents(settings, customer):
    button = tapped(documented("inbound_button_reply"), offered("pay_mpesa", sender=customer))
    row = tapped(documented("inbound_list_reply"), offered("product:SKU-0012", sender=customer))
    for payload, t in ((button, now() - 2), (row, now())):
        [m] = payload["entry"][0]["changes"][0]["value"]["messages"]
        m.update({"from": customer, "id": m["id"] + customer, "timestamp": str(t)})

    async def scenario(channel, recorder):
        await post(channel, button)
        await post(channel, row)
        return await recorder.wait_for(2)

    assert run(settings, scenario) == ["/pay_mpesa", '/product_details{"product": "SKU-0012"}']


def choices_sent(graph_url, to):
    """The buttons of the last interactive message sent to `to`, as a customer's taps would carry them."""
    [*_, last] = [m["body"] for m in sent_to(graph_url, to) if m["body"]["type"] == "interactive"]
    return [b["reply"] for b in last["interactive"]["action"]["buttons"]]


def tap(reply, t, sender):
    content = {"type": "button_reply", "button_reply": reply}
    return message(f"wamid.tap{t}{reply['id'][:40]}{sender}", t, sender=sender, type="interactive", interactive=content)


def test_only_a_choice_the_bot_offered_to_this_conversation_reaches_rasa_as_an_intent(settings, graph_url, customer):
    other = customer[:-1] + str((int(customer[-1]) + 1) % 10)
    buttons = [{"title": "Ndio", "payload": "/affirm"}, {"title": "Hapana", "payload": "/deny"}]

    async def scenario(channel, recorder):
        for who in (customer, other):  # both write, so that the bot may answer them (the 24-hour window)
            await post(channel, webhook([message(f"wamid.hi{who}", now(), "hi", sender=who)]))
        await recorder.wait_for(2)
        for who in (customer, other):
            await channel.get_output_channel().send_response(
                f"{PHONE_NUMBER_ID}:{who}", {"text": "Thibitisha?", "buttons": buttons}
            )
        mine, theirs = choices_sent(graph_url, customer), choices_sent(graph_url, other)
        forged = '/EXTERNAL_payment_update{"order_number": "ORD-1042", "reason": "mpesa_paid"}'
        t = now()
        for n, reply in enumerate(
            [
                mine[0],  # offered to this customer: the intent
                {"id": forged, "title": "/EXTERNAL_payment_update"},  # never offered: the words on it, no "/"
                {"id": theirs[0]["id"], "title": "Ndio"},  # offered to another customer
                {"id": "affirm", "title": "Ndio"},  # unsigned, as ids were before they were signed
                {"id": mine[1]["id"].replace("deny", "affirm"), "title": "Hapana"},  # a signed id, changed
            ]
        ):
            await post(channel, webhook([tap(reply, t + n, customer)]))
        await recorder.wait_for(7)
        return [turn.text for turn in recorder.turns if turn.sender_id == f"{PHONE_NUMBER_ID}:{customer}"]

    assert run(settings, scenario, answer=False) == [
        "hi",
        "/affirm",
        "EXTERNAL_payment_update",
        "Ndio",
        "Ndio",
        "Hapana",
    ]


def test_a_message_to_a_number_no_shop_owns_is_acknowledged_logged_and_never_answered(
    settings, graph_url, customer, caplog
):
    stranger = webhook([message("wamid.u" + customer, now(), "habari", sender=customer)], phone_number_id="999")
    known = webhook([message("wamid.k" + customer, now(), "habari", sender=customer)])

    async def scenario(channel, recorder):
        refused = await post(channel, stranger)
        await recorder.settled()
        queued = await channel.redis.keys(f"{settings.redis.key_prefix}:whatsapp:*:999:*")
        accepted = await post(channel, known)
        await recorder.wait_for(1)
        return refused, queued, accepted, [(t.sender_id, t.text) for t in recorder.turns]

    refused, queued, accepted, turns = run(settings, scenario)
    assert (refused.status, json.loads(refused.body)) == (200, {"status": "accepted", "messages": 0})
    assert queued == []
    assert turns == [(f"{PHONE_NUMBER_ID}:{customer}", "habari")]  # the shop's own number is answered
    assert [m["phone_number_id"] for m in sent_to(graph_url, customer)] == [PHONE_NUMBER_ID]
    [line] = [r.getMessage() for r in caplog.records if "no shop owns" in r.getMessage()]
    assert line.startswith(f"whatsapp: message wamid.u{customer} refused: no shop owns phone_number_id 999")
    assert accepted.status == 200


def test_when_the_shops_cannot_be_read_the_webhook_says_so_and_meta_retries(settings, customer):
    down = WhatsAppSettings(**{**settings.__dict__, "database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/x"})
    payload = webhook([message("wamid.db" + customer, now(), "hi", sender=customer)])

    async def scenario(channel, recorder):
        return (await post(channel, payload)).status, await recorder.settled()

    assert run(down, scenario) == (503, [])


def test_status_updates_are_not_messages_and_a_failed_delivery_is_recorded(settings, customer):
    delivered = documented("inbound_status_delivered")
    failed = documented("inbound_status_delivered")
    status = failed["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(
        {"status": "failed", "recipient_id": customer, "errors": [{"code": 131047, "title": "Re-engagement"}]}
    )

    async def scenario(channel, recorder):
        codes = [(await post(channel, delivered)).status, (await post(channel, failed)).status]
        return codes, await recorder.settled(), await channel.inbox.undelivered()

    codes, texts, undelivered = run(settings, scenario)
    assert codes == [200, 200] and texts == []
    [record] = undelivered
    assert record["reason"] == "failed" and record["conversation"] == f"{PHONE_NUMBER_ID}:{customer}"
    assert json.loads(record["detail"])["errors"][0]["code"] == 131047


def test_a_message_that_arrives_hours_late_is_not_answered_as_if_new(settings, customer):
    old = message("wamid.late" + customer, now() - 3 * 3600, "add 5 sugar", sender=customer)

    async def scenario(channel, recorder):
        await post(channel, webhook([old]))
        return await recorder.wait_for(1)

    assert run(settings, scenario) == [LATE_MESSAGE]


def test_the_same_customer_writing_to_two_shops_has_two_conversations(settings, customer):
    t = now()

    async def scenario(channel, recorder):
        await post(channel, webhook([message("wamid.x1" + customer, t, "hi", sender=customer)]))
        await post(channel, webhook([message("wamid.x2" + customer, t, "hi", sender=customer)], phone_number_id="222"))
        await recorder.wait_for(2)
        return sorted(turn.sender_id for turn in recorder.turns)

    assert run(settings, scenario, answer=False) == sorted([f"{PHONE_NUMBER_ID}:{customer}", f"222:{customer}"])


def test_when_redis_is_down_the_webhook_says_so_and_meta_retries(settings, customer):
    down = WhatsAppSettings(**{**settings.__dict__, "redis": RedisSettings("127.0.0.1", free_port())})
    payload = webhook([message("wamid.r" + customer, now(), "hi", sender=customer)])

    async def scenario(channel, recorder):
        return (await post(channel, payload)).status

    assert run(down, scenario) == 503


# --- replies ---------------------------------------------------------------------------------------


def reply_through(settings, customer, send, phone_number_id=PHONE_NUMBER_ID, customer_wrote=True, before=None):
    """Send one reply through the output channel of a conversation, after the customer wrote (or not)."""

    async def scenario(channel, recorder):
        if customer_wrote:
            hello = message(f"wamid.w{phone_number_id}{customer}", now(), "hi", sender=customer)
            await post(channel, webhook([hello], phone_number_id=phone_number_id))
            await recorder.wait_for(1)
        if before:
            before()
        await send(channel.get_output_channel(), f"{phone_number_id}:{customer}")
        return await channel.inbox.undelivered()

    return run(settings, scenario, answer=False)


def say(text):
    return lambda out, to: out.send_text_message(to, text)


def test_buttons_go_out_as_reply_buttons(settings, graph_url, customer):
    buttons = [{"title": "Ndio", "payload": "/affirm"}, {"title": "Hapana", "payload": "/deny"}]
    reply_through(
        settings, customer, lambda out, to: out.send_response(to, {"text": "Thibitisha?", "buttons": buttons})
    )
    [sent] = sent_to(graph_url, customer)
    replies = [b["reply"] for b in sent["body"]["interactive"]["action"]["buttons"]]
    assert [r["title"] for r in replies] == ["Ndio", "Hapana"]
    assert [r["id"] for r in replies] == [offered("affirm", sender=customer), offered("deny", sender=customer)]


def test_a_product_image_goes_out_after_its_text(settings, graph_url, customer):
    reply = {"text": "Sugar 2kg — KES 180", "image": "https://cdn.example.com/sugar.jpg"}
    reply_through(settings, customer, lambda out, to: out.send_response(to, reply))
    assert [m["body"]["type"] for m in sent_to(graph_url, customer)] == ["text", "image"]


@pytest.mark.parametrize("status, code", [(429, 130429), (400, 131056), (503, 1), (500, 131000)])
def test_throttling_and_server_errors_are_retried_with_backoff(settings, graph_url, customer, status, code):
    def fail_twice():
        httpx.post(f"{graph_url}/graph/fail", json={"times": 2, "status": status, "code": code})

    undelivered = reply_through(settings, customer, say("Asante!"), before=fail_twice)
    attempts = sent_to(graph_url, customer)
    assert [a.get("refused", {}).get("code") for a in attempts] == [code, code, None]
    assert attempts[-1]["body"]["text"]["body"] == "Asante!"
    assert undelivered == []


def test_a_refused_message_is_not_retried_and_is_recorded(settings, graph_url, customer):
    def refuse():
        httpx.post(f"{graph_url}/graph/fail", json={"times": 1, "status": 400, "code": 100})

    [record] = reply_through(settings, customer, say("Asante!"), before=refuse)
    assert len(sent_to(graph_url, customer)) == 1
    assert record["reason"] == "refused" and "code 100" in record["detail"]


def test_outside_the_24_hour_window_without_a_template_the_failure_is_recorded(settings, graph_url, customer):
    [record] = reply_through(settings, customer, say("Malipo yamepokelewa"), customer_wrote=False)
    assert sent_to(graph_url, customer) == []
    assert record["reason"] == "outside_window" and "Malipo yamepokelewa" in record["detail"]


def test_outside_the_24_hour_window_the_configured_template_is_sent(settings, graph_url, customer):
    with_template = WhatsAppSettings(
        **{**settings.__dict__, "template_name": "order_update", "template_language": "sw"}
    )
    assert reply_through(with_template, customer, say("Malipo yamepokelewa"), customer_wrote=False) == []
    [sent] = sent_to(graph_url, customer)
    template = sent["body"]["template"]
    assert (template["name"], template["language"]) == ("order_update", {"code": "sw"})
    assert template["components"][0]["parameters"] == [{"type": "text", "text": "Malipo yamepokelewa"}]


def test_each_number_uses_its_merchants_token(settings, graph_url, customer):
    """PHONE_NUMBER_ID has its own token; number 333 falls back to the default one, which Meta refuses."""
    [record] = reply_through(settings, customer, say("Karibu"), phone_number_id="333")
    assert "HTTP 401" in record["detail"] and "code 190" in record["detail"]
    assert reply_through(settings, customer, say("Karibu")) == [record]  # nothing new
    assert [m["phone_number_id"] for m in sent_to(graph_url, customer)] == [PHONE_NUMBER_ID]  # 333 was refused


def test_a_burst_left_behind_by_a_stopped_server_is_picked_up_by_another(settings, customer):
    payload = webhook([message("wamid.crash" + customer, now(), "kikapu changu", sender=customer)])

    async def stopped_before_handling(channel, recorder):
        assert (await post(channel, payload)).status == 200
        for task in list(channel._tasks):  # the server stops before its debounce timer fires
            task.cancel()
        return recorder.turns

    async def another_server(channel, recorder):
        channel._spawn(channel._sweep())  # started with every server, by after_server_start
        return await recorder.wait_for(1, seconds=DEBOUNCE + 3)

    assert run(settings, stopped_before_handling) == []
    assert run(settings, another_server) == ["kikapu changu"]


class DiesMidTurn(Recorder):
    """A Rasa server that takes the turn, does what `before_dying` says of it (save its tracker, send its
    reply), then never finishes it: its server is gone (cancelled here, which also ends its lease keeper)."""

    def __init__(self, channel: WhatsAppInput, save: bool = False, reply: bool = False) -> None:
        super().__init__(channel)
        self.save, self.reply = save, reply
        self.dying = asyncio.Event()

    async def __call__(self, message: UserMessage) -> None:
        self.turns.append(message)
        if self.reply:
            await message.output_channel.send_text_message(message.sender_id, f"got: {message.text}")
        if self.save:  # as the tracker store saves a turn: the user event, with the channel's message ids
            event = {"event": "user", "text": message.text, "message_id": message.message_id,
                     "metadata": message.metadata}  # fmt: skip
            await self.channel.redis.rpush(live_key(self.channel.settings.redis.key_prefix, message.sender_id),
                                           json.dumps(event))  # fmt: skip
        self.dying.set()
        await asyncio.Event().wait()


def die_mid_turn(settings, payload, **what):
    """Server A takes the message and dies in its turn; returns what A's turn got."""

    async def scenario(channel, recorder):
        dying = DiesMidTurn(channel, **what)
        channel._on_new_message = dying
        assert (await post(channel, payload)).status == 200
        await eventually(dying.dying.is_set, within=5, what="server A's turn to start")
        for task in list(channel._tasks):  # server A is gone
            task.cancel()
        return [t.text for t in dying.turns]

    return run(settings, scenario)


def another_server_takes_over(settings, turns=1):
    """Server B, whose sweep finds the lease expired; returns its turns once it is idle."""

    async def scenario(channel, recorder):
        channel._spawn(channel._sweep())  # started with every server, by after_server_start
        if turns:
            await recorder.wait_for(turns, seconds=settings.lease_seconds + 5)
        await eventually(recorder.idle, within=settings.lease_seconds + 5, what="server B to finish the burst")
        return [t.text for t in recorder.turns]

    return run(settings, scenario)


def test_a_message_whose_server_died_mid_turn_is_answered_once_by_another(settings, graph_url, customer):
    settings = dataclasses.replace(settings, lease_seconds=0.6)
    payload = webhook([message("wamid.dead" + customer, now(), "nataka sukari", sender=customer)])
    assert die_mid_turn(settings, payload) == ["nataka sukari"]
    assert sent_to(graph_url, customer) == []
    assert another_server_takes_over(settings) == ["nataka sukari"]
    assert [m["body"]["text"]["body"] for m in sent_to(graph_url, customer)] == ["got: nataka sukari"]


def test_a_turn_saved_before_its_server_died_is_not_run_again(settings, graph_url, customer):
    settings = dataclasses.replace(settings, lease_seconds=0.6)
    payload = webhook([message("wamid.saved" + customer, now(), "kikapu changu", sender=customer)])
    assert die_mid_turn(settings, payload, save=True, reply=True) == ["kikapu changu"]
    assert another_server_takes_over(settings, turns=0) == []
    assert [m["body"]["text"]["body"] for m in sent_to(graph_url, customer)] == ["got: kikapu changu"]


def test_a_reply_sent_before_its_server_died_is_not_sent_again_when_the_turn_runs_again(settings, graph_url, customer):
    settings = dataclasses.replace(settings, lease_seconds=0.6)
    payload = webhook([message("wamid.replied" + customer, now(), "bei ya unga", sender=customer)])
    assert die_mid_turn(settings, payload, reply=True) == ["bei ya unga"]
    assert another_server_takes_over(settings) == ["bei ya unga"]  # run again: its tracker was never saved
    assert [m["body"]["text"]["body"] for m in sent_to(graph_url, customer)] == ["got: bei ya unga"]


def test_a_burst_whose_servers_keep_dying_is_given_up_and_recorded(settings, graph_url, customer):
    settings = dataclasses.replace(settings, lease_seconds=0.6)
    payload = webhook([message("wamid.poison" + customer, now(), "hii inaua seva", sender=customer)])
    assert die_mid_turn(settings, payload) == ["hii inaua seva"]

    async def dies_again(channel, recorder):
        dying = DiesMidTurn(channel)
        channel._on_new_message = dying
        channel._spawn(channel._sweep())
        await eventually(dying.dying.is_set, within=5, what="the turn to start again")
        for task in list(channel._tasks):
            task.cancel()

    for _ in range(2):  # taken three times in all, by servers that all died
        run(settings, dies_again)

    async def fourth(channel, recorder):
        channel._spawn(channel._sweep())
        await eventually(channel.inbox.undelivered, within=5, what="the burst to be given up")
        await eventually(recorder.idle, within=5, what="the channel to be idle")
        return recorder.turns, await channel.inbox.undelivered()

    turns, [record] = run(settings, fourth)
    assert turns == [] and record["reason"] == "given_up" and "wamid.poison" in record["detail"]
    assert sent_to(graph_url, customer) == []


def test_a_turn_that_fails_does_not_drop_the_rest_of_its_burst(settings, graph_url, customer):
    t = now()
    payload = webhook([
        message("wamid.x1" + customer, t, "hii itashindwa", sender=customer),
        message("wamid.x2" + customer, t + 1, sender=customer, type="location",
                location={"latitude": -1.29, "longitude": 36.78, "name": "Yaya Centre"}),
        message("wamid.x3" + customer, t + 2, "na hii je?", sender=customer, type="image", image={"id": "1"}),
    ])  # fmt: skip

    async def scenario(channel, recorder):
        async def fails_first(message):
            await recorder(message)
            if len(recorder.turns) == 1:
                raise RuntimeError("a bug in the first turn")

        channel._on_new_message = fails_first
        await post(channel, payload)
        return await recorder.wait_for(3)

    texts = run(settings, scenario)
    assert texts[0] == "hii itashindwa" and texts[1].startswith("/share_location") and len(texts) == 3
    assert len(sent_to(graph_url, customer)) == 3


def test_a_turn_takes_its_ticket_before_any_graph_api_call(settings, graph_url, customer):
    """While another message of the conversation holds the lock (on another server, say), a taken burst
    waits for its ticket without marking anything read or answering."""
    message_id = "wamid.ticket" + customer
    payload = webhook([message(message_id, now(), "habari", sender=customer)])
    r = settings.redis

    def read_receipts():
        return [e for e in sent_to(graph_url, None) if e["body"].get("message_id") == message_id]

    async def scenario(channel, recorder):
        other = TicketLockStore(url=r.host, port=r.port, db=r.db, key_prefix=r.key_prefix)
        try:
            async with other.lock(f"{PHONE_NUMBER_ID}:{customer}"):
                await post(channel, payload)
                await eventually(lambda: channel.redis.zcard(channel.inbox.leases_key), what="the burst to be taken")
                lock = f"{r.key_prefix}:lock:{PHONE_NUMBER_ID}:{customer}"
                await eventually(lambda: channel.redis.exists(f"{lock}:alive:2"), what="the turn's ticket")
                held = (recorder.turns[:], read_receipts(), sent_to(graph_url, customer))
            return held, await recorder.wait_for(1)
        finally:
            await other.redis.aclose() if hasattr(other.redis, "aclose") else await other.redis.close()

    held, turns = run(settings, scenario)
    assert held == ([], [], [])  # the turn holds ticket 2, behind the test's 1: nothing sent yet
    assert turns == ["habari"] and len(read_receipts()) == 1 and len(sent_to(graph_url, customer)) == 1


def test_when_the_conversation_state_is_out_of_reach_the_customer_is_told_not_guessed_at(settings, graph_url, customer):
    from rasa.core.lock_store import LockError

    async def unavailable(message):
        raise LockError("Redis unavailable")

    async def scenario(channel, recorder):
        channel._on_new_message = unavailable
        await post(channel, webhook([message("wamid.down" + customer, now(), "lipa na mpesa", sender=customer)]))
        await recorder.settled()  # the turn was tried, and the notice sent

    run(settings, scenario)
    [notice] = sent_to(graph_url, customer)
    assert "duka halipatikani kwa muda" in notice["body"]["text"]["body"]
    assert "briefly unavailable" in notice["body"]["text"]["body"]


def test_rasas_api_reads_a_quoted_conversation_id_as_the_id_itself(settings):
    """Clients quote the id whole (actions/rasa_api.py's conversation_path); the Sanic of Rasa 3.6 does not
    decode route parameters, so the channel does, for routes shaped like Rasa's own."""
    ids = ["106540352242922:254712345678", "a/b?c#d e%2F"]
    app = Sanic(f"rasa_api_{uuid.uuid4().hex[:8]}", configure_logging=False)

    @app.get("/conversations/<conversation_id:path>/tracker")
    async def tracker(request, conversation_id):
        return response.json({"sender_id": conversation_id})

    register([WhatsAppInput(settings)], app, route="/webhooks/")
    port = free_port()

    async def main():
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
        await server.startup()
        await server.before_start()
        await server.after_start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                paths = [f"/conversations/{quote(id_, safe='')}/tracker" for id_ in ids]
                return [(await client.get(path)).json()["sender_id"] for path in paths]
        finally:
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await server.after_stop()

    assert asyncio.run(main()) == ids


# --- fuzzing: signed and unsigned hostile bodies through receive() ------------------------------------


@pytest.fixture
def channel_in_a_loop(settings):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    channel = WhatsAppInput(settings)
    channel.blueprint(Recorder(channel, answer=False))
    channel._started()
    yield channel, loop
    for task in list(channel._tasks):
        task.cancel()
    loop.run_until_complete(channel.graph.close())
    loop.run_until_complete(channel.redis.aclose() if hasattr(channel.redis, "aclose") else channel.redis.close())
    loop.close()


def test_signed_and_unsigned_hostile_webhooks_get_4xx_or_200_never_5xx(channel_in_a_loop):
    """FUZZ_EXAMPLES (default 200) bodies of tests/fuzz/bodies.py, half signed with the app secret."""
    channel, loop = channel_in_a_loop

    @fuzzing
    @given(bodies, st.booleans())
    def each(body, sign):
        answer = loop.run_until_complete(channel.receive(body, signed(body, SECRET) if sign else "sha256=00"))
        SENT[ROUTE] += 1
        assert answer.status < 500, (body[:200], answer.status, answer.body[:200])
        assert sign or answer.status in (401, 413)

    each()
    print(f"\nfuzzed: {dict(SENT)} (0 x 5xx)")
