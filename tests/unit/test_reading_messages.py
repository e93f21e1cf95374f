import pytest

from actions.commerce.model import new_order_number, order_number_in
from actions.commerce.quantities import parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", 2), ("two", 2), ("mbili", 2), ("tatu", 3), ("Kumi", 10), ("x3", 3), ("4pcs", 4), (" 5 ", 5)],
)
def test_reads_quantities_in_english_swahili_and_digits(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", [None, "", "many", "2.5", "-1", "1000"])
def test_returns_none_when_there_is_no_quantity(text):
    assert parse_quantity(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("cancel order k7qx2m please", "K7QX2M"), ("where is LX4ECM?", "LX4ECM"), ("status ya 4HRT9P", "4HRT9P")],
)
def test_finds_an_order_number_written_in_a_message(text, expected):
    assert order_number_in(text) == expected


@pytest.mark.parametrize("text", ["cancel my order", "0712345678", "254712", "please", "ORDER1"])
def test_words_and_numbers_are_not_order_numbers(text):
    assert order_number_in(text) is None


def test_every_new_order_number_can_be_found_in_a_message():
    numbers = {new_order_number() for _ in range(2000)}
    assert all(order_number_in(f"cancel order {n.lower()} please") == n for n in numbers)
