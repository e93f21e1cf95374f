"""Loading a parsed catalog into a tenant's shop: all rows in one transaction, or none."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.commerce.catalog_csv import CatalogRow
from actions.db import tables as t


@dataclass(frozen=True)
class ImportResult:
    tenant: str
    products: int
    categories: int


async def ensure_tenant(session: AsyncSession, slug: str, name: str, currency: str) -> t.Tenant:
    secret = secrets.token_urlsafe(32)  # for the M-Pesa callback URL; see actions.payments.callbacks
    await session.execute(
        insert(t.Tenant)
        .values(slug=slug, name=name, currency=currency, mpesa_callback_secret=secret)
        .on_conflict_do_nothing(index_elements=["slug"])
    )
    return await session.scalar(select(t.Tenant).where(t.Tenant.slug == slug))


async def shop_exists(sessions: async_sessionmaker[AsyncSession], slug: str) -> bool:
    async with sessions() as session:
        return await session.scalar(select(t.Tenant.id).where(t.Tenant.slug == slug)) is not None


async def import_catalog(
    sessions: async_sessionmaker[AsyncSession], slug: str, name: str, currency: str, rows: list[CatalogRow]
) -> ImportResult:
    """Create the tenant if needed, then insert or update every product by SKU."""
    async with sessions() as session, session.begin():
        tenant = await ensure_tenant(session, slug, name, currency)
        if tenant.currency != currency:
            raise ValueError(f"{slug} sells in {tenant.currency}, not {currency}")
        category_ids = {}
        for slug_, category in sorted({(r.category_slug, r.category) for r in rows}):
            category_ids[slug_] = await session.scalar(
                insert(t.Category)
                .values(tenant_id=tenant.id, slug=slug_, name=category)
                .on_conflict_do_update(index_elements=["tenant_id", "slug"], set_={"name": category})
                .returning(t.Category.id)
            )
        for row in rows:
            values = {
                "category_id": category_ids[row.category_slug],
                "name": row.name,
                "description": row.description,
                "price_minor": row.price.minor,
                "currency": row.price.currency,
                "stock": row.stock,
                "image_url": row.image_url,
                "active": True,
            }
            await session.execute(
                insert(t.Product)
                .values(tenant_id=tenant.id, sku=row.sku, **values)
                .on_conflict_do_update(index_elements=["tenant_id", "sku"], set_={**values, "updated_at": func.now()})
            )
    return ImportResult(slug, len(rows), len(category_ids))
