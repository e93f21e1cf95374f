"""What staff change in their shop's catalog from the admin pages: one product's name, description,
price, stock, photo and visibility, or the whole catalog from a CSV file.

Every change is checked first (each mistake named, nothing written), then written with its audit entry
in one transaction. The bot sees it on its next message: the products table's trigger moves the shop's
cache version in that transaction (actions.db.cache), and hidden products are never offered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from actions.commerce.catalog_csv import CatalogFileError, RowError, parse_catalog
from actions.commerce.catalog_import import ImportResult, save_rows
from actions.commerce.errors import NotFound, Refused
from actions.commerce.model import CatalogEntry, ProductChanges
from actions.commerce.money import MoneyError, parse_price
from actions.commerce.ports import StaffMember, UnitOfWork

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_IMAGE_URL = 500
STOCK = re.compile(r"\d{1,9}", re.ASCII)
# Control characters a name may not hold; a description may hold tabs and line breaks.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InvalidProduct(Refused):
    """What staff typed does not make a product: `errors` says what is wrong with each field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))
        self.errors = errors


class StockMovedMeanwhile(Refused):
    def __init__(self, shown: int, now: int) -> None:
        super().__init__(
            f"The stock changed from {shown} to {now} while you were editing (an order, or someone else)."
            " Nothing was saved: check the count and save again."
        )
        self.now = now


@dataclass(frozen=True)
class ProductForm:
    """What staff typed in a product's form, as text; `stock_shown` is the stock the form was opened with."""

    name: str
    description: str
    price: str
    stock: str
    image_url: str
    visible: bool
    stock_shown: str = ""


def checked(form: ProductForm, currency: str) -> ProductChanges:
    """The changes the form asks for; InvalidProduct naming every field that is wrong."""
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name:
        errors["name"] = "is empty"
    elif len(name) > MAX_NAME or CONTROL.search(name):
        errors["name"] = f"must be at most {MAX_NAME} characters, without control characters"
    description = form.description.strip().replace("\r\n", "\n")
    if len(description) > MAX_DESCRIPTION or CONTROL_IN_TEXT.search(description):
        errors["description"] = f"must be at most {MAX_DESCRIPTION} characters, without control characters"
    price = None
    try:
        price = parse_price(form.price, currency)
    except MoneyError as e:
        errors["price"] = str(e)
    stock = form.stock.strip()
    if not STOCK.fullmatch(stock):
        errors["stock"] = f"{form.stock[:20]!r} is not a whole number of 0 or more"
    image_url = form.image_url.strip() or None
    if image_url and not _is_https(image_url):
        errors["image_url"] = "must be an https:// address of at most 500 characters (or empty for no photo)"
    if errors:
        raise InvalidProduct(errors)
    return ProductChanges(name, description, price, int(stock), image_url, form.visible)


def _is_https(url: str) -> bool:
    if len(url) > MAX_IMAGE_URL or re.search(r"[\s\x00-\x1f\x7f]", url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed host ("https://[x")
        return False
    return parts.scheme == "https" and bool(parts.hostname)


async def product(uow: UnitOfWork, staff: StaffMember, product_id: int) -> CatalogEntry:
    async with uow:
        return await _entry(uow, staff, product_id)


async def _entry(uow: UnitOfWork, staff: StaffMember, product_id: int, for_update: bool = False) -> CatalogEntry:
    entry = await uow.catalog.entry(staff.tenant_id, product_id, for_update=for_update)
    if entry is None:  # another shop's product does not exist here
        raise NotFound(f"product {product_id}")
    return entry


async def edit_product(uow: UnitOfWork, staff: StaffMember, product_id: int, form: ProductForm) -> str:
    """Save what staff typed. A stock left as shown keeps whatever orders made of it meanwhile; a stock
    typed over one that moved since it was shown is refused (StockMovedMeanwhile), so no sale is lost."""
    async with uow:
        entry = await _entry(uow, staff, product_id, for_update=True)  # an order's reserve waits, then sees ours
        changes = checked(form, entry.price.currency)
        shown = form.stock_shown.strip()
        if shown == str(changes.stock):
            changes = _keep_stock(changes)
        elif shown and shown != str(entry.stock):
            raise StockMovedMeanwhile(_shown(shown, entry.stock), entry.stock)
        diff = _differences(entry, changes)
        if not diff:
            return f"Nothing to save: {entry.name} is as it was."
        await uow.catalog.change(entry.id, changes)
        await uow.audit.write(staff, "edit_product", f"product:{entry.id}", sku=entry.sku, **diff)
        await uow.commit()
    return f"Saved {changes.name}: {', '.join(diff)} changed. The bot uses it from the next message."


def _keep_stock(changes: ProductChanges) -> ProductChanges:
    return ProductChanges(changes.name, changes.description, changes.price, None, changes.image_url, changes.visible)


def _shown(text: str, otherwise: int) -> int:
    return int(text) if STOCK.fullmatch(text) else otherwise


def _differences(entry: CatalogEntry, changes: ProductChanges) -> dict[str, list]:
    """{field: [was, becomes]} for each field the changes change (prices in minor units)."""
    pairs = {
        "name": (entry.name, changes.name),
        "description": (entry.description, changes.description),
        "price": (entry.price.minor, changes.price.minor),
        "stock": (entry.stock, entry.stock if changes.stock is None else changes.stock),
        "image_url": (entry.image_url, changes.image_url),
        "visible": (entry.visible, changes.visible),
    }
    return {field: [was, becomes] for field, (was, becomes) in pairs.items() if was != becomes}


async def upload_catalog(uow: UnitOfWork, staff: StaffMember, text: str) -> ImportResult:
    """Every row of a catalog CSV, checked, inserted or updated by SKU (and shown) in one transaction;
    CatalogFileError listing every bad row, and nothing imported, if any row is wrong."""
    async with uow:
        tenant = await uow.tenants.by_id(staff.tenant_id)
        if tenant is None:
            raise NotFound(f"shop {staff.tenant_id}")
        rows = parse_catalog(text, tenant.currency)
        result = await save_rows(uow, tenant, rows)
        await uow.audit.write(
            staff, "upload_catalog", "catalog", products=result.products, categories=result.categories
        )
        await uow.commit()
    return result


def unreadable(reason: str) -> CatalogFileError:
    """A file the checker cannot read at all (not UTF-8 text, too big), as the checker's own error."""
    return CatalogFileError([RowError(1, "-", reason)])
