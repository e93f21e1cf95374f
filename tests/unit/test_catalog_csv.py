import pytest

from actions.commerce.catalog_csv import CatalogFileError, parse_catalog
from actions.commerce.money import Money
from devstack.paths import DEMO_CATALOG

HEADER = "sku,name,category,price,stock,description,image_url\n"


def test_the_demo_shop_has_enough_products_and_categories():
    rows = parse_catalog(DEMO_CATALOG.read_text(), "KES")
    assert len(rows) >= 30
    assert len({row.category for row in rows}) >= 4
    sugar = next(row for row in rows if row.sku == "SUGAR-1KG")
    assert sugar.price == Money(18000, "KES")


def test_reports_every_bad_cell_with_its_line_and_column():
    text = HEADER + "A-1,Rice,Food,120,5,,\nB-2,,Food,12.345,x,,ftp://nope\nA-1,Again,Food,1,1,,\n"
    with pytest.raises(CatalogFileError) as caught:
        parse_catalog(text, "KES")
    reported = {(e.line, e.column) for e in caught.value.errors}
    assert reported == {(3, "name"), (3, "price"), (3, "stock"), (3, "image_url"), (4, "sku")}
    assert "line 4, column sku: A-1 already on line 2" in str(caught.value)


def test_reports_missing_and_misspelt_columns_on_the_header_line():
    with pytest.raises(CatalogFileError) as caught:
        parse_catalog("sku,name,category,prcie,stock\nA,B,C,1,1\n", "KES")
    assert {(e.line, e.column, e.reason) for e in caught.value.errors} == {
        (1, "price", "required column is missing"),
        (1, "prcie", "unknown column"),
    }


def test_a_row_with_too_many_cells_is_an_error_not_a_shifted_row():
    with pytest.raises(CatalogFileError, match="line 2"):
        parse_catalog(HEADER + "A,Sugar, 1kg,Food,100,5,,\n", "KES")


def test_quoted_commas_and_a_byte_order_mark_are_fine():
    rows = parse_catalog("\ufeff" + HEADER + 'A,"Sugar, white",Food,"1,250",5,,\n', "KES")
    assert rows[0].name == "Sugar, white"
    assert rows[0].price == Money(125000, "KES")
