import pytest

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
