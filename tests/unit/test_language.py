import pytest

from actions.commerce.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "habari, mna unga?",
        "nataka mbili sukari",
        "kikapu changu",
        "ongea kiswahili",
        "niaje msee, nipe maziwa",
        "asante sana",
        "order yangu iko wapi",
        "hapana sitaki",
    ],
)
def test_swahili_and_sheng_messages_are_swahili(text):
    assert detect_language(text) == "sw"


@pytest.mark.parametrize(
    "text", ["hi", "show me your products", "add 2 sugar", "what's in my cart", "speak english please", "no thanks"]
)
def test_english_messages_are_english(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    ["2", "Kilimani", "0712345678", "K7QX2M", "unga", "", "sukari sugar", "ok", "sawa", "yes", "hapana", "/pay_card"],
)
def test_messages_that_say_nothing_about_language_leave_it_unchanged(text):
    assert detect_language(text) is None
