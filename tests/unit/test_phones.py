import pytest

from actions.commerce.phones import InvalidPhone, normalise_msisdn


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
