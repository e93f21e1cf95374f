"""Reading a merchant's catalog from CSV: every row checked before anything is imported."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from actions.commerce.money import Money, MoneyError, parse_price

REQUIRED = ("sku", "name", "category", "price", "stock")
OPTIONAL = ("description", "image_url", "aliases")
ALIAS_SEPARATOR = "|"  # "sukari|sugar ya kilo": other names customers use for the product
SKU = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,63}$")


@dataclass(frozen=True)
class CatalogRow:
    line: int
    sku: str
    name: str
    category: str
    price: Money
    stock: int
    description: str
    image_url: str | None
    aliases: tuple[str, ...] = ()

    @property
    def category_slug(self) -> str:
        return slugify(self.category)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class CatalogFileError(ValueError):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64]


def parse_catalog(text: str, currency: str) -> list[CatalogRow]:
    """All rows, or CatalogFileError listing every bad cell (line numbers as an editor shows them)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), restkey="__extra__")
    header = [h.strip().lower() for h in reader.fieldnames or []]
    errors = [RowError(1, name, "required column is missing") for name in REQUIRED if name not in header]
    errors += [RowError(1, name, "unknown column") for name in header if name not in REQUIRED + OPTIONAL]
    if errors:
        raise CatalogFileError(errors)
    reader.fieldnames = header

    rows: list[CatalogRow] = []
    first_line_of: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        row, row_errors = _parse_row(record, line, currency)
        if row and row.sku in first_line_of:
            row_errors.append(RowError(line, "sku", f"{row.sku} already on line {first_line_of[row.sku]}"))
        errors += row_errors
        if row and not row_errors:
            first_line_of[row.sku] = line
            rows.append(row)
    if not rows and not errors:
        errors.append(RowError(2, "sku", "the file has no products"))
    if errors:
        raise CatalogFileError(errors)
    return rows


def _parse_row(record: dict, line: int, currency: str) -> tuple[CatalogRow | None, list[RowError]]:
    errors: list[RowError] = []
    if record.get("__extra__"):
        return None, [RowError(line, "-", "more cells than columns (an unquoted comma?)")]
    cell = {key: (value or "").strip() for key, value in record.items()}
    if nul := [key for key, value in cell.items() if "\x00" in value]:
        return None, [RowError(line, column, "holds a NUL character (is this a text file?)") for column in nul]

    sku = cell["sku"].upper()
    if not SKU.match(sku):
        errors.append(RowError(line, "sku", "must be 1-64 letters, digits, '.', '_' or '-'"))
    for column, limit in (("name", 200), ("category", 200)):
        if not cell[column]:
            errors.append(RowError(line, column, "is empty"))
        elif len(cell[column]) > limit:
            errors.append(RowError(line, column, f"is longer than {limit} characters"))
    if cell["category"] and not slugify(cell["category"]):
        errors.append(RowError(line, "category", "needs at least one letter or digit"))
    price = None
    try:
        price = parse_price(cell["price"], currency)
    except MoneyError as e:
        errors.append(RowError(line, "price", str(e)))
    stock = None
    if re.fullmatch(r"\d{1,9}", cell["stock"]):
        stock = int(cell["stock"])
    else:
        errors.append(RowError(line, "stock", f"{cell['stock']!r} is not a whole number of 0 or more"))
    image_url = cell.get("image_url") or None
    if image_url and not re.match(r"^https?://\S+$", image_url):
        errors.append(RowError(line, "image_url", "must start with http:// or https://"))
    aliases = tuple(dict.fromkeys(a.strip() for a in cell.get("aliases", "").split(ALIAS_SEPARATOR) if a.strip()))
    if any(len(alias) > 100 for alias in aliases):
        errors.append(RowError(line, "aliases", "each alias must be at most 100 characters"))
    if len(aliases) > 20:
        errors.append(RowError(line, "aliases", "at most 20 aliases, separated by |"))
    if errors:
        return None, errors
    description = cell.get("description", "")
    row = CatalogRow(line, sku, cell["name"], cell["category"], price, stock, description, image_url, aliases)
    return row, []
