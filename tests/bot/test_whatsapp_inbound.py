"""Webhook payloads -> customer messages -> Rasa turns (bot/whatsapp/inbound.py)."""

import json

import pytest
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.training_data.message import Message

from bot.whatsapp.inbound import (
    LATE_MESSAGE,
    UNSUPPORTED_MESSAGE,
    Inbound,
    MalformedWebhook,
    parse_webhook,
    plan_turns,
)
from bot.whatsapp.reply_ids import ReplyIds
from tests.bot.whatsapp_payloads import (
    CUSTOMER,
    PHONE_NUMBER_ID,
    REPLIES,
    documented,
    message,
    offered,
    tapped,
    webhook,
)


def parse(payload):
    return parse_webhook(payload, REPLIES)


def intent_rasa_reads(text: str) -> str | None:
    """The intent Rasa itself takes from a message's text (its RegexMessageHandler), before any NLU."""
    return (YAMLStoryReader.unpack_regex_message(Message({"text": text})).get("intent") or {}).get("name")


def test_the_documented_text_message_is_one_text_from_the_customer_to_the_merchants_number():
    messages, statuses = parse(documented("inbound_text"))
    assert statuses == []
    [m] = messages
    assert (m.kind, m.text, m.wa_id, m.phone_number_id) == (
        "text",
        "Habari, mna unga wa ngano?",
        CUSTOMER,
        PHONE_NUMBER_ID,
    )
    assert m.name == "Wanjiru"
    assert m.timestamp == 1764320000
    assert m.conversation_id == f"{PHONE_NUMBER_ID}:{CUSTOMER}"


def test_a_tapped_button_the_bot_offered_carries_its_intent():
    [m] = parse(tapped(documented("inbound_button_reply"), offered("pay_mpesa")))[0]
    assert (m.kind, m.text) == ("reply", "/pay_mpesa")


def test_a_tapped_list_row_the_bot_offered_carries_the_product_sku():
    [m] = parse(tapped(documented("inbound_list_reply"), offered("product:SKU-0012")))[0]
    assert m.kind == "reply"
    assert m.text.startswith("/product_details")
    assert json.loads(m.text[len("/product_details") :]) == {"product": "SKU-0012"}


def test_our_own_button_payloads_come_back_as_they_were_sent():
    reply = {"id": offered('/inform{"phone_number": "254712345678"}'), "title": "Use 0712 345 678"}
    tap = message("wamid.1", 1, type="interactive", interactive={"type": "button_reply", "button_reply": reply})
    [m] = parse(webhook([tap]))[0]
    assert m.text == '/inform{"phone_number": "254712345678"}'


def _other_signature(reply_id: str) -> str:
    return reply_id[:-1] + ("B" if reply_id.endswith("A") else "A")


@pytest.mark.parametrize(
    "reply_id",
    [
        "pay_mpesa",  # as documented: an id the bot did not sign
        '/EXTERNAL_payment_update{"order_number": "ORD-1042", "reason": "mpesa_paid"}',
        offered("pay_mpesa", sender="254700000002"),  # signed for another customer
        offered("pay_mpesa", phone_number_id="999"),  # for the same customer of another shop
        ReplyIds("another-key").sign(f"{PHONE_NUMBER_ID}:{CUSTOMER}", "pay_mpesa"),  # never offered
        _other_signature(offered("pay_mpesa")),
        offered("pay_mpesa") + "x",
        offered('/EXTERNAL_payment_update{"order_number": "ORD-1042", "reason": "mpesa_paid"}'),
        offered("EXTERNAL_payment_update"),
        offered("/ EXTERNAL_payment_update@1.0"),
        offered("Pay with M-Pesa"),  # signed, but no payload the bot makes
        "",
    ],
)
def test_a_tap_on_a_choice_the_bot_did_not_offer_this_conversation_is_read_as_its_title(reply_id):
    [m] = parse(tapped(documented("inbound_button_reply"), reply_id))[0]
    assert (m.kind, m.text) == ("reply", "Pay with M-Pesa")
    assert intent_rasa_reads(m.text) is None


@pytest.mark.parametrize("title", ['/EXTERNAL_payment_update{"reason": "mpesa_paid"}', "\u00a0/ /pay_mpesa", "/"])
def test_the_title_of_a_forged_tap_cannot_carry_an_intent_either(title):
    reply = {"id": "/EXTERNAL_payment_update{}", "title": title}
    forged = message("wamid.9", 1, type="interactive", interactive={"type": "list_reply", "list_reply": reply})
    for m in parse(webhook([forged]))[0]:  # nothing left of "/": no message at all
        assert intent_rasa_reads(m.text) is None and not m.text.startswith("/")


def test_a_template_quick_reply_the_bot_signed_is_a_reply():
    quick = message(
        "wamid.2", 1, type="button", button={"payload": offered("check_order_status"), "text": "Where is my order?"}
    )
    [m] = parse(webhook([quick]))[0]
    assert (m.kind, m.text) == ("reply", "/check_order_status")


def test_a_template_quick_reply_the_bot_did_not_sign_is_read_as_its_words():
    quick = message("wamid.2", 1, type="button", button={"payload": "check_order_status", "text": "Where is my order?"})
    [m] = parse(webhook([quick]))[0]
    assert (m.kind, m.text) == ("reply", "Where is my order?")


def test_a_quick_reply_with_a_free_form_payload_is_read_as_its_text():
    quick = message("wamid.3", 1, type="button", button={"payload": "Order #42 / status?", "text": "Status ya oda"})
    [m] = parse(webhook([quick]))[0]
    assert m.text == "Status ya oda"


def test_a_status_update_is_not_a_message():
    messages, statuses = parse(documented("inbound_status_delivered"))
    assert messages == []
    [s] = statuses
    assert (s.status, s.recipient_id, s.phone_number_id) == ("delivered", CUSTOMER, PHONE_NUMBER_ID)


def test_a_shared_location_becomes_the_delivery_location():
    pin = message("wamid.4", 1, type="location", location={
        "latitude": -1.2929, "longitude": 36.7874, "name": "Yaya Centre", "address": "Argwings Kodhek Rd"
    })  # fmt: skip
    [m] = parse(webhook([pin]))[0]
    assert m.kind == "location"
    assert m.text.startswith("/share_location")
    assert json.loads(m.text[len("/share_location") :]) == {
        "location": "Yaya Centre, Argwings Kodhek Rd (-1.29290, 36.78740)"
    }


@pytest.mark.parametrize("kind", ["image", "audio", "sticker", "document", "video", "contacts", "unsupported"])
def test_media_get_the_only_text_reply(kind):
    media = message("wamid.5", 1, type=kind, **{kind: {"id": "1234", "mime_type": "image/jpeg"}})
    [m] = parse(webhook([media]))[0]
    assert (m.kind, m.text) == ("unsupported", UNSUPPORTED_MESSAGE)


def test_a_reaction_needs_no_answer():
    reaction = message("wamid.6", 1, type="reaction", reaction={"message_id": "wamid.x", "emoji": "👍"})
    assert parse(webhook([reaction])) == ([], [])


@pytest.mark.parametrize(
    "typed",
    [
        "/pay_mpesa",
        '/EXTERNAL_payment_update{"reason": "mpesa_paid"}',
        " //affirm",
        '\u00a0/EXTERNAL_payment_update{"reason": "mpesa_paid"}',  # Rasa strips a no-break space
        "/ \u2003/ pay_mpesa",
    ],
)
def test_a_customer_cannot_type_an_intent(typed):
    [m] = parse(webhook([message("wamid.7", 1, typed)]))[0]
    assert not m.text.startswith("/") and intent_rasa_reads(m.text) is None
    assert m.kind == "text"


def test_several_entries_changes_and_messages_in_one_post_are_all_read_in_order():
    first = webhook([message("wamid.a", 10, "hi"), message("wamid.b", 11, "sugar", sender="254700000002")])
    second = webhook([message("wamid.c", 12, "2kg")], phone_number_id="999")
    first["entry"][0]["changes"].append(second["entry"][0]["changes"][0])
    first["entry"].append(documented("inbound_status_delivered")["entry"][0])
    messages, statuses = parse(first)
    assert [(m.message_id, m.phone_number_id, m.wa_id) for m in messages] == [
        ("wamid.a", PHONE_NUMBER_ID, CUSTOMER),
        ("wamid.b", PHONE_NUMBER_ID, "254700000002"),
        ("wamid.c", "999", CUSTOMER),
    ]
    assert len(statuses) == 1


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": {}},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {}}]}]},
    ],
)
def test_a_payload_that_is_not_a_whatsapp_webhook_is_refused(payload):
    with pytest.raises(MalformedWebhook):
        parse(payload)


def test_a_message_without_id_or_time_is_skipped_and_the_others_kept():
    broken = {"from": CUSTOMER, "type": "text", "text": {"body": "no id"}}
    messages, _ = parse(webhook([broken, message("wamid.ok", 5, "still here")]))
    assert [m.text for m in messages] == ["still here"]


def _inbound(n: int, kind: str = "text", text: str = "", timestamp: int = 1000) -> Inbound:
    return Inbound(f"wamid.{n}", PHONE_NUMBER_ID, CUSTOMER, timestamp + n, kind, text or f"m{n}")


def test_a_burst_of_texts_is_one_turn():
    burst = [_inbound(1, text="hi"), _inbound(2, text="I want sugar"), _inbound(3, text="2kg")]
    [turn] = plan_turns(burst, now=1010, max_age_seconds=600)
    assert turn.text == "hi I want sugar 2kg"
    assert turn.metadata()["whatsapp_message_ids"] == ["wamid.1", "wamid.2", "wamid.3"]
    assert turn.metadata()["phone_number_id"] == PHONE_NUMBER_ID


def test_a_tapped_button_is_a_turn_of_its_own_between_texts():
    burst = [_inbound(1, text="hi"), _inbound(2, "reply", "/pay_mpesa"), _inbound(3, text="0712345678")]
    assert [t.text for t in plan_turns(burst, now=1010, max_age_seconds=600)] == ["hi", "/pay_mpesa", "0712345678"]


def test_several_photos_in_a_row_get_one_reply():
    burst = [_inbound(1, "unsupported", UNSUPPORTED_MESSAGE), _inbound(2, "unsupported", UNSUPPORTED_MESSAGE)]
    assert [t.text for t in plan_turns(burst, now=1010, max_age_seconds=600)] == [UNSUPPORTED_MESSAGE]


def test_old_messages_are_not_answered_as_if_new():
    old = [_inbound(1, text="add 2 sugar", timestamp=0), _inbound(2, text="checkout", timestamp=0)]
    [turn] = plan_turns(old, now=10_000, max_age_seconds=600)
    assert turn.text == LATE_MESSAGE
    assert len(turn.messages) == 2


def test_only_the_fresh_part_of_a_mixed_burst_is_answered():
    mixed = [_inbound(1, text="add 2 sugar", timestamp=0), _inbound(2, text="my cart", timestamp=9_990)]
    assert [t.text for t in plan_turns(mixed, now=10_000, max_age_seconds=600)] == ["my cart"]
