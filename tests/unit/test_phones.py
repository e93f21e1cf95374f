import inspect

import pytest

from actions.commerce import phones
from actions.commerce.phones import InvalidPhone, has_phone, mask_phones, normalise_msisdn
from bot import logs as bot_logs
from tests.phone_masks import LEFT_ALONE, MASKED


@pytest.mark.parametrize(
    "text",
    ["0712345678", "0712 345 678", "0712-345-678", "+254712345678", "+254 712 345 678", "254712345678", "712345678"],
)
def test_safaricom_numbers_in_every_written_form_become_2547(text):
    assert normalise_msisdn(text) == "254712345678"


def test_01_numbers_become_2541():
    assert normalise_msisdn("0110 123 456") == "254110123456"


@pytest.mark.parametrize(
    "text", ["07123456ab", "hello", "", "0812345678", "071234567", "07123456789", "+1 415 555 0100", "2547123456789"]
)
def test_anything_else_is_refused(text):
    with pytest.raises(InvalidPhone):
        normalise_msisdn(text)


@pytest.mark.parametrize(("text", "masked"), MASKED)
def test_phone_numbers_of_every_country_are_masked(text, masked):
    assert mask_phones(text) == masked and has_phone(text)


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_other_numbers_are_left_alone(text):
    assert mask_phones(text) == text and not has_phone(text)


def test_masking_twice_changes_nothing_more():
    assert {mask_phones(masked) for _, masked in MASKED} == {masked for _, masked in MASKED}


@pytest.mark.parametrize("name", ["_PHONE", "MOST_DIGITS", "FEWEST_DIGITS", "mask_number", "_masked", "mask_phones"])
def test_the_rasa_sides_copy_of_the_masking_is_the_same(name):
    """bot/ cannot import this module, so bot/logs.py has a copy: the same pattern and the same code."""
    ours, theirs = getattr(phones, name), getattr(bot_logs, name)
    if callable(ours):
        assert inspect.getsource(ours) == inspect.getsource(theirs)
    else:
        assert getattr(ours, "pattern", ours) == getattr(theirs, "pattern", theirs)
