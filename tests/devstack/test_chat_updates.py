"""`make chat` shows what the bot says on its own, which `rasa shell` does not print."""

from devstack.chat import on_its_own


def test_payment_updates_and_staff_replies_are_shown_and_answers_to_typed_messages_are_not():
    events = [
        {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "bot", "text": "Welcome!"},  # the shell printed it already
        {"event": "user", "text": "EXTERNAL: x", "parse_data": {"intent": {"name": "EXTERNAL_payment_update"}}},
        {"event": "bot", "text": "Payment received"},
        {"event": "user", "text": "talk to a person", "parse_data": {"intent": {"name": "talk_to_human"}}},
        {"event": "bot", "text": "I'm passing you to a person"},
        {"event": "bot", "text": "Hello, Amina here", "metadata": {"staff_reply": {"id": 3, "by": "Amina"}}},
    ]
    assert on_its_own(events) == ["Payment received", "Amina (staff): Hello, Amina here"]
