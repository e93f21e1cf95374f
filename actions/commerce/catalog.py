"""Browsing and searching a merchant's catalog."""

from __future__ import annotations

from actions.commerce.errors import AmbiguousProduct, ProductNotFound
from actions.commerce.model import Category, Product
from actions.commerce.ports import UnitOfWork
from actions.commerce.shoppers import tenant_of

PAGE_SIZE = 10


async def categories(uow: UnitOfWork, tenant: str) -> list[Category]:
    async with uow:
        shop = await tenant_of(uow, tenant)
        return await uow.catalog.categories(shop.id)


async def browse(uow: UnitOfWork, tenant: str, category: str | None = None, limit: int = PAGE_SIZE) -> list[Product]:
    async with uow:
        shop = await tenant_of(uow, tenant)
        return await uow.catalog.products(shop.id, category, limit)


async def search(uow: UnitOfWork, tenant: str, text: str, limit: int = PAGE_SIZE) -> list[Product]:
    async with uow:
        shop = await tenant_of(uow, tenant)
        return await uow.catalog.search(shop.id, text, limit)


async def describe(uow: UnitOfWork, tenant: str, query: str) -> Product:
    async with uow:
        shop = await tenant_of(uow, tenant)
        return await find_one(uow, shop.id, query)


async def find_one(uow: UnitOfWork, tenant_id: int, query: str) -> Product:
    """The product a customer means: an exact SKU, else the only product whose name matches."""
    product = await uow.catalog.by_sku(tenant_id, query.strip().upper())
    if product is not None:
        return product
    matches = await uow.catalog.search(tenant_id, query, limit=PAGE_SIZE)
    exact = [p for p in matches if p.name.casefold() == query.strip().casefold()]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0]
    if not matches:
        raise ProductNotFound(query)
    raise AmbiguousProduct(query, matches)
