"""Rasa replies -> Graph API bodies within WhatsApp's limits (bot/whatsapp/outbound.py)."""

from bot.whatsapp.outbound import choice_messages, image_message, mark_read, split_text, text_messages
from devstack.fake_graph import problems
from tests.bot.whatsapp_payloads import CUSTOMER, PHONE_NUMBER_ID, REPLIES, documented

BUTTONS = [{"title": "Pay with M-Pesa", "payload": "/pay_mpesa"}, {"title": "Pay by card", "payload": "/pay_card"}]
CONVERSATION = f"{PHONE_NUMBER_ID}:{CUSTOMER}"


def sign(payload: str) -> str:
    return REPLIES.sign(CONVERSATION, payload)


def ids(body):
    """What the choices' ids carry for this conversation (None for one the bot did not sign)."""
    interactive = body["interactive"]
    choices = interactive["action"].get("buttons") or interactive["action"]["sections"][0]["rows"]
    return [REPLIES.verify(CONVERSATION, (c.get("reply") or c)["id"]) for c in choices]


def test_a_text_has_the_documented_shape():
    [body] = text_messages(CUSTOMER, "Karibu! Tuna unga wa ngano 2kg kwa KES 210.")
    assert body == documented("outbound_text")


def test_two_short_choices_are_reply_buttons_in_the_documented_shape_with_signed_ids():
    text = "Your order #1042 comes to KES 630. How would you like to pay?"
    [body] = choice_messages(CUSTOMER, text, BUTTONS, sign)
    assert ids(body) == ["pay_mpesa", "pay_card"]
    for button in body["interactive"]["action"]["buttons"]:
        assert len(button["reply"]["id"]) <= 256
        button["reply"]["id"] = REPLIES.verify(CONVERSATION, button["reply"]["id"])
    assert body == documented("outbound_reply_buttons")


def test_mark_read_with_typing_has_the_documented_shape():
    expected = documented("outbound_mark_read_typing")
    assert mark_read(expected["message_id"]) == expected


def test_four_choices_are_a_list_not_numbered_text():
    buttons = [{"title": f"Sugar {n}kg", "payload": f'/inform{{"product": "SUGAR-{n}"}}'} for n in range(1, 5)]
    [body] = choice_messages(CUSTOMER, "Which sugar?", buttons, sign)
    assert body["interactive"]["type"] == "list"
    assert ids(body) == [b["payload"] for b in buttons]
    assert problems(body) == []


def test_a_long_title_is_cut_in_the_row_and_whole_in_its_description():
    buttons = [{"title": "Unga wa Mahindi (Maize Flour) 2kg", "payload": "/x"}, {"title": "Yes", "payload": "/y"}]
    [body] = choice_messages(CUSTOMER, "Which one?", buttons, sign)
    row = body["interactive"]["action"]["sections"][0]["rows"][0]
    assert len(row["title"]) <= 24 and row["title"].endswith("…")
    assert row["description"] == "Unga wa Mahindi (Maize Flour) 2kg"
    assert problems(body) == []


def test_more_than_ten_choices_go_in_several_lists():
    buttons = [{"title": f"Item {n}", "payload": f"/p{n}"} for n in range(23)]
    bodies = choice_messages(CUSTOMER, "Pick one", buttons, sign)
    assert [len(b["interactive"]["action"]["sections"][0]["rows"]) for b in bodies] == [10, 10, 3]
    assert all(problems(b) == [] for b in bodies)


def test_a_question_too_long_for_an_interactive_body_is_sent_as_text_first():
    catalog = "\n\n".join(
        f"Category {n}\n" + "\n".join(f"• product {n}.{i} — KES 100" for i in range(8)) for n in range(8)
    )
    bodies = choice_messages(CUSTOMER, catalog + "\n\nHow would you like to pay?", BUTTONS, sign)
    assert [b["type"] for b in bodies][-1] == "interactive"
    assert all(b["type"] == "text" for b in bodies[:-1])
    body = bodies[-1]["interactive"]["body"]["text"]
    assert body.endswith("\n\nHow would you like to pay?") and len(body) <= 1024
    sent = "\n\n".join([*(b["text"]["body"] for b in bodies[:-1]), body])
    assert sent == catalog + "\n\nHow would you like to pay?"  # all of it, once, in order
    assert all(problems(b) == [] for b in bodies)


def test_a_choice_too_long_to_sign_within_a_row_id_goes_out_as_its_title():
    longest = '/inform{"product": "' + "S" * (200 - 23 - 22) + '"}'  # with its signature: 200 characters
    too_long = '/inform{"product": "' + "S" * (200 - 23 - 21) + '"}'
    buttons = [{"title": "Longest", "payload": longest}, {"title": "Too long", "payload": too_long}, *BUTTONS]
    [body] = choice_messages(CUSTOMER, "Which one?", buttons, sign)
    assert body["interactive"]["type"] == "list"
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert [len(r["id"]) for r in rows[:2]] == [200, len("Too long")]
    assert ids(body) == [longest, None, "pay_mpesa", "pay_card"]  # "Too long" reads as those words when tapped
    assert problems(body) == []


def test_a_long_text_is_split_between_paragraphs():
    paragraphs = [f"Paragraph {n}: " + "x" * 900 for n in range(10)]
    pieces = split_text("\n\n".join(paragraphs))
    assert all(len(p) <= 4096 for p in pieces)
    assert len(pieces) == 3
    assert "\n\n".join(pieces) == "\n\n".join(paragraphs)  # nothing lost, cut only between paragraphs


def test_a_paragraph_longer_than_the_limit_is_cut_between_words():
    words = " ".join(f"word{n}" for n in range(1500))
    pieces = split_text(words)
    assert len(words) == 12389
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) == 4
    assert " ".join(pieces) == words


def test_a_product_image_is_an_image_message():
    body = image_message(CUSTOMER, "https://cdn.example.com/sugar.jpg")
    assert body["type"] == "image" and body["image"] == {"link": "https://cdn.example.com/sugar.jpg"}
    assert problems(body) == []
