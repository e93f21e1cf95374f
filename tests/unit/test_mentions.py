import pytest

from actions.commerce.mentions import MAX_CHOICES, Pick, best, choices, pick_from_shown, rank
from actions.commerce.model import Product
from actions.commerce.money import Money


def product(id: int, sku: str, name: str, category: str, shillings: int) -> Product:
    return Product(id=id, sku=sku, name=name, category=category, price=Money(shillings * 100, "KES"), stock=10)


# A made-up shop: invented brands beside plain goods.
CATALOG = [
    product(1, "BREAD-W-400G", "White Bread 400g", "bakery", 65),
    product(2, "BREAD-B-400G", "Brown Bread 400g", "bakery", 70),
    product(3, "SUGAR-1KG", "Sugar 1kg", "flour-grains", 180),
    product(4, "SUGAR-2KG", "Sugar 2kg", "flour-grains", 350),
    product(5, "MILK-500ML", "Fresh Milk 500ml", "dairy", 65),
    product(6, "MILK-1L", "Fresh Milk 1L", "dairy", 120),
    product(7, "FLOUR-W-2KG", "Wheat Flour 2kg", "flour-grains", 235),
    product(8, "UNGA-2KG", "Unga wa Mahindi 2kg", "flour-grains", 210),
    product(9, "ONIONS-1KG", "Onions 1kg", "vegetables", 140),
    product(10, "RICE-2KG", "Rice 2kg", "flour-grains", 380),
    product(11, "BUTTER-250G", "Butter 250g", "dairy", 320),
    product(12, "TAUSI-FAT-1KG", "Tausi Cooking Fat 1kg", "cooking", 390),
    product(13, "TAUSI-FAT-500G", "Tausi Cooking Fat 500g", "cooking", 210),
    product(14, "BLUU-500G", "Bluu Spread 500g", "dairy", 260),
    product(15, "OMBA-1KG", "Omba Washing Powder 1kg", "cleaning", 300),
    product(16, "JUA-2KG", "Jua Maize Meal 2kg", "flour-grains", 200),
    product(17, "PWANI-OIL-1L", "Pwani Cooking Oil 1L", "cooking", 330),
    product(18, "PWANI-OIL-3L", "Pwani Cooking Oil 3L", "cooking", 950),
    product(19, "BARIDI-500ML", "Baridi Soda 500ml", "drinks", 60),
    product(20, "TOMATOES-1KG", "Tomatoes 1kg", "vegetables", 120),
    product(21, "MALA-500ML", "Mala (Fermented Milk) 500ml", "dairy", 75),
    product(22, "MLIMA-TEA-250G", "Mlima Tea Leaves 250g", "beverages", 150),
]
BY_ID = {p.id: p for p in CATALOG}
BY_NAME = {p.name: p for p in CATALOG}

# What the merchant says its customers call things, per product id.
ALIASES = {
    1: ["mkate", "mkate mweupe"],
    2: ["mkate", "mkate wa brown"],
    3: ["sukari"],
    4: ["sukari"],
    5: ["maziwa"],
    6: ["maziwa"],
    7: ["unga wa ngano"],
    8: ["sembe"],
    9: ["vitunguu", "kitunguu"],
    10: ["mchele"],
    16: ["sembe"],
    17: ["mafuta"],
    18: ["mafuta"],
    20: ["nyanya"],
    22: ["majani chai", "chai"],
}

CLEAR = [
    # Names as written, whole or in part, with the size deciding between sizes
    ("sugar 2kg", "Sugar 2kg"),
    ("Nataka SUGAR 1KG tafadhali", "Sugar 1kg"),
    ("add 2 white bread 400g", "White Bread 400g"),
    ("add 3 fresh milk 500ml", "Fresh Milk 500ml"),
    ("fresh milk 1L", "Fresh Milk 1L"),
    ("wheat flour", "Wheat Flour 2kg"),
    ("washing powder", "Omba Washing Powder 1kg"),
    ("cooking fat 500g", "Tausi Cooking Fat 500g"),
    ("fermented milk", "Mala (Fermented Milk) 500ml"),
    ("Mala", "Mala (Fermented Milk) 500ml"),
    ("what is the price of rice", "Rice 2kg"),
    # Brand words
    ("omba", "Omba Washing Powder 1kg"),
    ("jua", "Jua Maize Meal 2kg"),
    ("do you have bluu?", "Bluu Spread 500g"),
    # The SKU
    ("the sugar-2kg one", "Sugar 2kg"),
    ("PWANI-OIL-3L", "Pwani Cooking Oil 3L"),
    # Typos, plurals and inflections
    ("suger 1kg", "Sugar 1kg"),
    ("brwn bread", "Brown Bread 400g"),
    ("mahindii", "Unga wa Mahindi 2kg"),
    ("do you have onion", "Onions 1kg"),
    ("tomato", "Tomatoes 1kg"),
    ("sodas", "Baridi Soda 500ml"),
    ("3 Onions!!", "Onions 1kg"),
    # The merchant's Swahili and Sheng names
    ("nataka unga wa mahindi kilo mbili", "Unga wa Mahindi 2kg"),
    ("nipe maziwa nusu lita", "Fresh Milk 500ml"),
    ("mafuta 3L", "Pwani Cooking Oil 3L"),
    ("mkate mweupe", "White Bread 400g"),
    ("sembe ya jua", "Jua Maize Meal 2kg"),
    ("niaje, nadai vitunguu kilo moja", "Onions 1kg"),
    ("mchele 2kg", "Rice 2kg"),
    ("nyanya", "Tomatoes 1kg"),
    ("majani chai", "Mlima Tea Leaves 250g"),
    ("sukari kilo mbili", "Sugar 2kg"),
]


@pytest.mark.parametrize(("text", "expected"), CLEAR, ids=[row[0] for row in CLEAR])
def test_a_message_that_clearly_names_one_product_gets_that_product(text, expected):
    assert best(text, CATALOG, ALIASES) == BY_NAME[expected]


UNCLEAR = [
    ("add 3 sugar", {"Sugar 1kg", "Sugar 2kg"}),
    ("sukari", {"Sugar 1kg", "Sugar 2kg"}),
    ("milk", {"Fresh Milk 500ml", "Fresh Milk 1L", "Mala (Fermented Milk) 500ml"}),
    ("milk 500ml", {"Fresh Milk 500ml", "Mala (Fermented Milk) 500ml"}),
    ("bread", {"White Bread 400g", "Brown Bread 400g"}),
    ("nataka mkate mbili wa 400g", {"White Bread 400g", "Brown Bread 400g"}),
    ("mikate miwili", {"White Bread 400g", "Brown Bread 400g"}),
    ("sembe", {"Unga wa Mahindi 2kg", "Jua Maize Meal 2kg"}),
    ("tausi", {"Tausi Cooking Fat 1kg", "Tausi Cooking Fat 500g"}),
    ("cooking oil", {"Pwani Cooking Oil 1L", "Pwani Cooking Oil 3L"}),
    ("unga", {"Unga wa Mahindi 2kg", "Wheat Flour 2kg"}),
    ("dairy", {"Fresh Milk 500ml", "Fresh Milk 1L", "Butter 250g", "Bluu Spread 500g", "Mala (Fermented Milk) 500ml"}),
]


@pytest.mark.parametrize(("text", "expected"), UNCLEAR, ids=[row[0] for row in UNCLEAR])
def test_a_message_that_fits_several_products_names_none_and_offers_them_all(text, expected):
    assert best(text, CATALOG, ALIASES) is None
    assert {p.name for p in choices(text, CATALOG, ALIASES)} == expected


@pytest.mark.parametrize(
    "text",
    [
        "the of do you have",
        "nataka nipe",
        "mna kuna ya wa na",
        "please add",
        "kilo",
        "2kg",
        "nice",
        "cancel K7QX2M",
        "",
    ],
)
def test_common_words_units_and_numbers_name_no_product(text):
    assert rank(text, CATALOG, ALIASES) == []
    assert best(text, CATALOG, ALIASES) is None


def test_a_message_naming_two_products_names_neither_clearly():
    assert best("rice and bread", CATALOG, ALIASES) is None
    assert best("sugar 2kg na mkate mweupe", CATALOG, ALIASES) is None


def test_the_full_name_as_written_ranks_highest():
    ranked = rank("Fresh Milk 500ml", CATALOG)
    assert ranked[0].product == BY_NAME["Fresh Milk 500ml"] and ranked[0].score > ranked[1].score


def test_more_of_a_products_words_ranks_it_higher():
    ranked = [m.product.name for m in rank("brown bread", CATALOG)]
    assert ranked[:2] == ["Brown Bread 400g", "White Bread 400g"]


def test_a_size_the_product_does_not_have_ranks_it_lower_but_still_ranks_it():
    ranked = rank("sugar 2kg", CATALOG)
    assert [m.product.name for m in ranked] == ["Sugar 2kg", "Sugar 1kg"]
    assert ranked[1].score < rank("sugar", CATALOG)[0].score


def test_a_word_the_catalog_holds_is_not_taken_for_a_typo_of_another():
    shop = [
        product(40, "SALT-1KG", "Salt 1kg", "cooking", 45),
        product(41, "MALT-400G", "Malt Drink 400g", "drinks", 300),
    ]
    assert [m.product.name for m in rank("salt", shop)] == ["Salt 1kg"]
    assert [m.product.name for m in rank("sallt", shop)] == ["Salt 1kg"]


def test_without_aliases_a_swahili_name_matches_nothing():
    assert rank("sukari", CATALOG) == []


def test_no_more_than_ten_choices_are_offered():
    shop = [product(100 + i, f"SOAP-{i}", f"Soap {i}00g", "cleaning", 50) for i in range(1, 15)]
    assert len(choices("soap", shop)) == MAX_CHOICES


MILKS = [BY_ID[5], BY_ID[6], BY_ID[21]]  # Fresh Milk 500ml, Fresh Milk 1L, Mala 500ml
OILS = [BY_ID[17], BY_ID[18]]  # Pwani Cooking Oil 1L, 3L
SUGAR = [BY_ID[3]]

PICKS = [
    ("the second one", MILKS, "Fresh Milk 1L", None),
    ("2nd", MILKS, "Fresh Milk 1L", None),
    ("the first", MILKS, "Fresh Milk 500ml", None),
    ("number 3", MILKS, "Mala (Fermented Milk) 500ml", None),
    ("no. 2", MILKS, "Fresh Milk 1L", None),
    ("no 2 please", MILKS, "Fresh Milk 1L", None),
    ("#2", MILKS, "Fresh Milk 1L", None),
    ("the last one", MILKS, "Mala (Fermented Milk) 500ml", None),
    ("ya kwanza", MILKS, "Fresh Milk 500ml", None),
    ("nipe ya pili", MILKS, "Fresh Milk 1L", None),
    ("ya tatu", MILKS, "Mala (Fermented Milk) 500ml", None),
    ("ya mwisho", MILKS, "Mala (Fermented Milk) 500ml", None),
    ("ya 3", MILKS, "Mala (Fermented Milk) 500ml", None),
    ("the 1L one", MILKS, "Fresh Milk 1L", None),
    ("the 1L one x3", MILKS, "Fresh Milk 1L", 3),
    ("2 of the second one", MILKS, "Fresh Milk 1L", 2),
    ("nipe mbili ya pili", MILKS, "Fresh Milk 1L", 2),
    ("the cheapest", MILKS, "Fresh Milk 500ml", None),
    ("the bigger one", MILKS, "Fresh Milk 1L", None),
    ("hiyo ya 3L", OILS, "Pwani Cooking Oil 3L", None),
    ("the cheaper one", OILS, "Pwani Cooking Oil 1L", None),
    ("ya bei rahisi", OILS, "Pwani Cooking Oil 1L", None),
    ("the more expensive one", OILS, "Pwani Cooking Oil 3L", None),
    ("cooking oil 3L", OILS, "Pwani Cooking Oil 3L", None),
    ("that one", SUGAR, "Sugar 1kg", None),
    ("hiyo", SUGAR, "Sugar 1kg", None),
    ("2 of those", SUGAR, "Sugar 1kg", 2),
    ("nipe tatu za hizo", SUGAR, "Sugar 1kg", 3),
]


@pytest.mark.parametrize(("text", "shown", "name", "quantity"), PICKS, ids=[row[0] for row in PICKS])
def test_a_reference_to_a_list_just_shown_picks_a_product_from_it(text, shown, name, quantity):
    assert pick_from_shown(text, shown) == Pick(BY_NAME[name], quantity)


NO_PICKS = [
    ("2", MILKS),  # a bare number: the caller decides what it means
    ("mbili", MILKS),
    ("2", SUGAR),
    ("that one", MILKS),  # which one?
    ("2 of those", MILKS),
    ("the fourth one", MILKS),
    ("the second one", SUGAR),
    ("the 500ml one", MILKS),  # two are 500ml
    ("hiyo ya 3L", MILKS),
    ("sugar 3L", OILS),  # names another product
    ("sugar", MILKS),
    ("", MILKS),
    ("the first one", []),
]


@pytest.mark.parametrize(("text", "shown"), NO_PICKS, ids=[f"{row[0]!r} of {len(row[1])}" for row in NO_PICKS])
def test_no_product_is_picked_without_a_clear_reference(text, shown):
    assert pick_from_shown(text, shown) is None
