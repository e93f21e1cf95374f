import pytest

from actions.commerce.quantities import Size, matches_size, parse_quantity, read_amounts, sizes_in


def g(amount: int) -> Size:
    return Size(amount, "g")


def ml(amount: int) -> Size:
    return Size(amount, "ml")


AMOUNTS = [
    # The examples from the brief: a quantity and a size in one message
    ("add 3 sugar 2kg", 3, g(2000)),
    ("nataka mkate mbili wa 400g", 2, g(400)),
    ("nataka unga wa mahindi kilo mbili", None, g(2000)),
    ("add 2 white bread 400g", 2, g(400)),
    ("add 1 rice 2kg", 1, g(2000)),
    ("add 3 onions 1kg", 3, g(1000)),
    ("add 2 butter 250g", 2, g(250)),
    ("sugar 1kg", None, g(1000)),
    # Sizes as digits and units, written every which way
    ("400 g flour", None, g(400)),
    ("2 kgs rice", None, g(2000)),
    ("1L milk", None, ml(1000)),
    ("1 litre milk", None, ml(1000)),
    ("maziwa 1ltr", None, ml(1000)),
    ("500ml", None, ml(500)),
    ("Fresh Milk 500ML", None, ml(500)),
    ("1.5L soda", None, ml(1500)),
    ("1,5 ltrs", None, ml(1500)),
    ("1,500g", None, g(1500)),
    ("2 lts", None, ml(2000)),
    ("3 x 1kg", 3, g(1000)),
    ("2kg x 3", 3, g(2000)),
    # Sizes in Swahili and Sheng word order
    ("kilo mbili", None, g(2000)),
    ("sukari kilo 2", None, g(2000)),
    ("lita moja ya maziwa", None, ml(1000)),
    ("nusu kilo sukari", None, g(500)),
    ("nusu lita maziwa", None, ml(500)),
    ("robo kilo ya majani", None, g(250)),
    ("gram 500", None, g(500)),
    ("kilo moja na nusu", None, g(1500)),
    ("kilo na nusu ya unga", None, g(1500)),
    ("nipe sukari mbili za kilo", 2, g(1000)),
    ("niaje, nadai unga ya kilo mbili", None, g(2000)),
    # Sizes in English words
    ("half a kilo of sugar", None, g(500)),
    ("a kilo of onions", None, g(1000)),
    ("two kilos of rice", None, g(2000)),
    ("one and a half litres", None, ml(1500)),
    # Quantities in English
    ("two sugar", 2, None),
    ("add twelve eggs", 12, None),
    ("a dozen eggs", 12, None),
    ("dozen eggs", 12, None),
    ("half a dozen eggs", 6, None),
    ("a couple of breads", 2, None),
    ("a sugar", 1, None),
    ("x3 bread", 3, None),
    ("bread 3x", 3, None),
    ("3pcs", 3, None),
    ("4 packets of omba", 4, None),
    ("  5  ", 5, None),
    # Quantities in Swahili and Sheng
    ("mbili", 2, None),
    ("ongeza maziwa tatu", 3, None),
    ("nikuwekee mikate watatu", 3, None),
    ("vipande vitatu", 3, None),
    ("pakiti mbili", 2, None),
    ("dazeni mbili za mayai", 24, None),
    ("mkate kumi na mbili", 12, None),
    ("niaje boss nipe sembe mbili", 2, None),
    ("mbili mbili", 2, None),
    # Two quantities: the first one wins
    ("2 sugar 3", 2, None),
    ("3 sugar, sorry 3", 3, None),
    # Neither a quantity nor a size
    ("nusu", None, None),
    ("sugar", None, None),
    ("cancel K7QX2M", None, None),
    ("call me on 0712 345 678", None, None),
    ("send to +254712345678", None, None),
    ("0712345678 2 sugar", 2, None),
    ("sukari ya 50 bob", None, None),
    ("ksh 200 worth of sugar", None, None),
    ("kesho saa tatu", None, None),
    ("deliver by 5pm", None, None),
    ("nipe ya tatu", None, None),
    ("number 2", None, None),
    ("2.5", None, None),
    ("-1", None, None),
    ("add 150 sugar", None, None),
    ("0 sugar", None, None),
]


@pytest.mark.parametrize(("text", "quantity", "size"), AMOUNTS, ids=[row[0] for row in AMOUNTS])
def test_a_number_with_a_unit_is_a_size_and_a_number_alone_is_a_quantity(text, quantity, size):
    amounts = read_amounts(text)
    assert (amounts.quantity, amounts.size) == (quantity, size)


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("add 3 sugar 2kg", "add sugar"),
        ("nataka mkate mbili wa 400g", "nataka mkate wa"),
        ("nataka unga wa mahindi kilo mbili", "nataka unga wa mahindi"),
        ("Nipe SUKARI nusu kilo!", "Nipe SUKARI !"),
        ("a sugar", "sugar"),
        ("cancel K7QX2M", "cancel K7QX2M"),
    ],
)
def test_the_rest_is_the_message_without_its_amounts_as_the_customer_wrote_it(text, rest):
    assert read_amounts(text).rest == rest


def test_a_quantity_above_ninety_nine_is_no_quantity_and_stays_in_the_rest_for_the_caller_to_see():
    amounts = read_amounts("add 150 sugar 2kg")
    assert (amounts.quantity, amounts.size, amounts.rest) == (None, g(2000), "add 150 sugar")


def test_an_article_counts_as_one_only_when_nothing_else_counts():
    assert read_amounts("a sugar and 3 bread").quantity == 3
    assert read_amounts("a kilo of sugar").quantity is None


@pytest.mark.parametrize(
    ("name", "size", "expected"),
    [
        ("Wheat Flour 2kg", g(2000), True),
        ("Fresh Milk 500ml", ml(500), True),
        ("Milk 1L", ml(1000), True),
        ("Unga 2 kg", g(2000), True),
        ("Pwani Cooking Oil 3L", ml(3000), True),
        ("Mala (Fermented Milk) 500ml", ml(500), True),
        ("Sugar 1kg", g(2000), False),
        ("Sugar 1kg", ml(1000), False),
        ("Fresh Milk 500ml", g(500), False),
        ("Eggs (tray of 30)", g(30), False),
        ("White Bread", g(400), False),
    ],
)
def test_a_product_matches_a_size_only_when_its_name_carries_that_size(name, size, expected):
    assert matches_size(name, size) is expected


def test_every_size_in_a_name_is_read_in_order():
    assert sizes_in("Cooking Oil 3L (3 x 1L)") == [ml(3000), ml(1000)]


@pytest.mark.parametrize(
    ("size", "label"),
    [
        (g(2000), "2kg"),
        (g(500), "500g"),
        (ml(1500), "1.5L"),
        (ml(500), "500ml"),
        (g(10000), "10kg"),
        (ml(20000), "20L"),
        (g(250), "250g"),
    ],
)
def test_a_size_reads_as_a_shop_writes_it(size, label):
    assert str(size) == label


@pytest.mark.parametrize(("text", "expected"), [("2", 2), ("a", 1), ("dozen", 12), ("x3", 3), ("150", 150)])
def test_parse_quantity_keeps_reading_single_answers_as_before(text, expected):
    assert parse_quantity(text) == expected
