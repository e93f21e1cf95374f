"""Fuzzing the WhatsApp webhook: its parser raises MalformedWebhook and nothing else, whatever the body,
so the channel's route answers 400 and never 5xx (signed hostile bodies through the channel itself:
tests/bot/test_whatsapp_channel.py, beside its fixtures).

FUZZ_EXAMPLES (default 200) examples per test; `make test-fuzz` sets 10,000. The hostile bodies are
those of the sidecar's fuzz suite (tests/fuzz/bodies.py), made from Meta's documented payloads.
"""

import collections
import contextlib
import copy
import json
import os

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.whatsapp.inbound import UNSTORABLE, Inbound, MalformedWebhook, parse_webhook
from tests.bot.whatsapp_payloads import REPLIES, documented
from tests.fuzz.bodies import hostile_bodies, paths

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
ROUTE = "POST /webhooks/whatsapp/webhook"
SENT: collections.Counter = collections.Counter()  # examples per target, printed by the channel test
DOCUMENTS = [
    documented(name)
    for name in ("inbound_text", "inbound_button_reply", "inbound_list_reply", "inbound_status_delivered")
]
fuzzing = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
)
bodies = st.sampled_from(DOCUMENTS).flatmap(hostile_bodies)

# Python values a web framework's JSON decoder could hand over, odd characters included.
odd_text = st.text(max_size=12) | st.sampled_from(["\x00", "\ud800", "12", "²", "٣"])
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(10**19, 10**4000) | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=10,
)


def readable(messages, statuses) -> None:
    """What parse_webhook gives is safe to queue in Redis and hand to Rasa."""
    for message in messages:
        assert Inbound.from_json(message.to_json()) == message
        for text in (message.message_id, message.phone_number_id, message.wa_id, message.text, message.name or ""):
            assert isinstance(text, str) and not UNSTORABLE.search(text)
        assert isinstance(message.timestamp, int)
    for status in statuses:
        assert all(isinstance(text, str) for text in (status.message_id, status.status, status.recipient_id))


@fuzzing
@given(bodies)
def test_hostile_webhook_bodies_raise_only_malformed_webhook(body):
    SENT["parse_webhook(bytes)"] += 1
    with contextlib.suppress(MalformedWebhook):
        readable(*parse_webhook(body, REPLIES))


@st.composite
def changed_documents(draw):
    """A documented payload with any Python value somewhere in it."""
    document = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    place = draw(st.sampled_from(paths(document)))
    if not place:
        return draw(values)
    parent = document
    for step in place[:-1]:
        parent = parent[step]
    parent[place[-1]] = draw(values)
    return document


@fuzzing
@given(changed_documents())
def test_documented_payloads_with_any_value_anywhere_raise_only_malformed_webhook(payload):
    SENT["parse_webhook(value)"] += 1
    with contextlib.suppress(MalformedWebhook):
        readable(*parse_webhook(payload, REPLIES))


def test_the_issues_bodies_are_malformed():
    text = json.dumps(documented("inbound_text"))
    for body in (
        b"[" * 5000 + b"]" * 5000,
        text.replace('"1764320000"', "9" * 5000).encode(),
        text.replace("wamid.", "wamid.\\u0000").encode(),
        text.replace("wamid.", "wamid.\\ud800").encode(),
        b"\xff" + text.encode(),
    ):
        with pytest.raises(MalformedWebhook):
            parse_webhook(body, REPLIES)
