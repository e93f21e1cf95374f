"""The Rasa API's URLs: a conversation id, whatever its characters, is one path segment and comes back whole."""

import json
from urllib.parse import unquote

import httpx
import pytest

from actions.commerce.errors import ConversationsUnreachable
from actions.commerce.payments import Notice, PaymentStatus
from actions.commerce.ports import PaymentRecipient
from actions.rasa_api import RasaConversations, conversation_path


@pytest.mark.parametrize(
    "conversation_id", ["106540352242922:254712345678", "a/b?c#d", "100% sure & more", "shell-amina"]
)
def test_a_conversation_id_round_trips_through_the_url(conversation_id):
    url = httpx.URL("http://rasa:5005" + conversation_path(conversation_id) + "/tracker?token=t")
    _, conversations, segment, tracker = url.raw_path.decode().split("?")[0].split("/")
    assert (conversations, tracker, unquote(segment)) == ("conversations", "tracker", conversation_id)
    assert url.params["token"] == "t" and url.fragment == ""


async def test_a_payment_update_and_a_hand_back_go_to_the_quoted_conversation():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode().split("?")[0])
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        rasa = RasaConversations(http, "http://rasa:5005", None)
        recipient = PaymentRecipient("106540352242922:254712345678#x", "ORD-7K2Q", PaymentStatus.PAID)
        await rasa.payment_update(recipient, Notice.MPESA_PAID)
        await rasa.resume("a/b?c")
    assert seen == [
        "/conversations/106540352242922%3A254712345678%23x/trigger_intent",
        "/conversations/a%2Fb%3Fc/tracker/events",
    ]


async def test_a_cart_reminder_triggers_its_intent_on_the_channel_the_customer_last_used():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.raw_path.decode().split("?")[0], request.url.params.get("output_channel")))
        seen.append(request.read())
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        await RasaConversations(http, "http://rasa:5005", None).cart_reminder("106540352242922:254712345678", "sw")
    assert seen[0] == ("/conversations/106540352242922%3A254712345678/trigger_intent", "latest")
    assert json.loads(seen[1]) == {"name": "EXTERNAL_cart_reminder", "entities": {"language": "sw"}}


async def test_a_staff_reply_is_appended_as_the_bots_message_and_sent_on_the_customers_channel():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?")[0]
        seen.append((path, dict(request.url.params), json.loads(request.content)))
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        await RasaConversations(http, "http://rasa:5005", "t0k").say("1065:2547", "Habari", {"staff_reply": {"id": 4}})
    [(path, params, body)] = seen
    assert path == "/conversations/1065%3A2547/tracker/events"
    assert params == {"execute_side_effects": "true", "output_channel": "latest", "token": "t0k"}
    assert body == [{"event": "bot", "text": "Habari", "metadata": {"staff_reply": {"id": 4}}}]


async def test_a_staff_reply_rasa_refuses_is_unreachable_for_the_job_to_try_again():
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500, text="boom"))) as http:
        with pytest.raises(ConversationsUnreachable, match="500"):
            await RasaConversations(http, "http://rasa:5005", None).say("c", "Habari", {})
