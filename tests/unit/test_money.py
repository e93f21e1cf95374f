import pytest

from actions.commerce.money import Money, MoneyError


def test_parses_major_units_into_exact_minor_units():
    assert Money.parse("1,250.50", "KES") == Money(125050, "KES")
    assert Money.parse("KES 180", "KES") == Money(18000, "KES")
    assert Money.parse("2500", "UGX") == Money(2500, "UGX")


@pytest.mark.parametrize("text", ["12.345", "abc", "", "NaN", "1e400x"])
def test_refuses_what_is_not_an_exact_amount(text):
    with pytest.raises(MoneyError):
        Money.parse(text, "KES")


def test_refuses_floats_and_unknown_currencies():
    with pytest.raises(MoneyError):
        Money(1.5, "KES")
    with pytest.raises(MoneyError):
        Money(100, "XXX")


def test_adds_and_multiplies_without_rounding():
    assert Money(10, "KES") * 3 + Money(5, "KES") == Money(35, "KES")
    assert sum([Money(10, "KES")] * 10, Money.zero("KES")) == Money(100, "KES")


def test_never_mixes_currencies():
    with pytest.raises(MoneyError):
        Money(100, "KES") + Money(100, "NGN")


def test_formats_for_a_chat_message():
    assert Money(125000, "KES").format() == "KES 1,250"
    assert Money(125050, "KES").format() == "KES 1,250.50"
    assert Money(1500, "UGX").format() == "UGX 1,500"
