"""Loading a merchant's parsed catalog into their shop: all rows in one transaction, or none."""

from __future__ import annotations

from dataclasses import dataclass

from actions.commerce.catalog_csv import CatalogRow
from actions.commerce.model import Tenant
from actions.commerce.ports import UnitOfWork


@dataclass(frozen=True)
class ImportResult:
    tenant: str
    products: int
    categories: int


class CurrencyMismatch(ValueError):
    pass


async def shop_exists(uow: UnitOfWork, slug: str) -> bool:
    async with uow:
        return await uow.tenants.by_slug(slug) is not None


async def import_catalog(uow: UnitOfWork, slug: str, name: str, currency: str, rows: list[CatalogRow]) -> ImportResult:
    """Create the shop if needed, then insert or update every product by SKU."""
    async with uow:
        tenant = await uow.tenants.ensure(slug, name, currency)
        if tenant.currency != currency:
            raise CurrencyMismatch(f"{slug} sells in {tenant.currency}, not {currency}")
        result = await save_rows(uow, tenant, rows)
        await uow.commit()
    return result


async def save_rows(uow: UnitOfWork, tenant: Tenant, rows: list[CatalogRow]) -> ImportResult:
    """Every row's category and product, inserted or updated by SKU, in the unit of work's transaction."""
    category_ids = {}
    for category_slug, category in sorted({(r.category_slug, r.category) for r in rows}):
        category_ids[category_slug] = await uow.catalog.save_category(tenant.id, category_slug, category)
    for row in rows:
        await uow.catalog.save_product(tenant.id, category_ids[row.category_slug], row)
    return ImportResult(tenant.slug, len(rows), len(category_ids))
