from actions.commerce.catalog import best_match
from actions.commerce.model import Product
from actions.commerce.money import Money


def product(sku: str, name: str) -> Product:
    return Product(id=0, sku=sku, name=name, category="", price=Money(100, "KES"), stock=1)


SUGARS = [product("SUGAR-1KG", "Sugar 1kg"), product("SUGAR-2KG", "Sugar 2kg")]
MILKS = [product("MILK-500ML", "Fresh Milk 500ml"), product("MILK-LALA-500ML", "Mala (Fermented Milk) 500ml")]


def test_the_product_holding_the_most_of_the_customers_words_is_chosen():
    assert best_match(SUGARS, "sugar 1kg").sku == "SUGAR-1KG"
    assert best_match(SUGARS, "Nataka SUGAR 2KG tafadhali").sku == "SUGAR-2KG"
    assert best_match(MILKS, "add 3 fresh milk 500ml").sku == "MILK-500ML"
    assert best_match(MILKS, "mala").sku == "MILK-LALA-500ML"
    assert best_match(SUGARS, "the sugar-2kg one").sku == "SUGAR-2KG"


def test_no_choice_when_no_product_stands_out():
    assert best_match(SUGARS, "add 2 sugar") is None  # "2" is not "2kg"
    assert best_match(MILKS, "milk 500ml") is None
    assert best_match(SUGARS, "") is None
    assert best_match([], "sugar") is None
