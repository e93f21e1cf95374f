"""What the admin catalog pages read: one shop's products, hidden ones too, found by words and category."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.commerce.model import CatalogEntry
from actions.db import tables as t
from actions.db.admin_queries import PAGE_SIZE, Page
from actions.db.repositories import catalog_entry

SHOWN = ("all", "visible", "hidden")
LOW_STOCK_LIMIT = 200


def _entries(tenant_id: int):
    return (
        select(t.Product, t.Category.name)
        .join(t.Category, t.Category.id == t.Product.category_id)
        .where(t.Product.tenant_id == tenant_id)
    )


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def products(session: AsyncSession, tenant_id: int, words: str, category: str, shown: str, page: int) -> Page:
    """The shop's products whose name, SKU or aliases hold every word, in a category (its slug) or any,
    visible, hidden or all; a page of CatalogEntry, by name."""
    query = _entries(tenant_id)
    for word in words.casefold().split()[:10]:
        pattern = _like(word)
        query = query.where(
            or_(
                func.lower(t.Product.name).like(pattern, escape="\\"),
                func.lower(t.Product.sku).like(pattern, escape="\\"),
                func.lower(func.array_to_string(t.Product.aliases, " ")).like(pattern, escape="\\"),
            )
        )
    if category:
        query = query.where(t.Category.slug == category)
    if shown != "all":
        query = query.where(t.Product.active.is_(shown == "visible"))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(func.lower(t.Product.name), t.Product.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    return Page([catalog_entry(*row) for row in rows], page, total)


async def categories(session: AsyncSession, tenant_id: int) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(t.Category.slug, t.Category.name).where(t.Category.tenant_id == tenant_id).order_by(t.Category.name)
    )
    return [(slug, name) for slug, name in rows]


async def history(session: AsyncSession, tenant_id: int, product_id: int, limit: int = 20) -> list[tuple]:
    """The product's latest changes from the audit log, newest first: (when, who, {field: [was, becomes]})."""
    rows = await session.execute(
        select(t.AuditEntry.created_at, t.StaffUser.name, t.AuditEntry.details)
        .join(t.StaffUser, t.StaffUser.id == t.AuditEntry.staff_user_id, isouter=True)
        .where(t.AuditEntry.tenant_id == tenant_id, t.AuditEntry.subject == f"product:{product_id}")
        .order_by(t.AuditEntry.id.desc())
        .limit(limit)
    )
    return [(when, who, {k: v for k, v in details.items() if k != "sku"}) for when, who, details in rows]


async def low_stock(session: AsyncSession, tenant_id: int, at_most: int) -> list[CatalogEntry]:
    """Visible products with `at_most` or fewer in stock, fewest first."""
    query = _entries(tenant_id).where(t.Product.active, t.Product.stock <= at_most)
    rows = await session.execute(query.order_by(t.Product.stock, func.lower(t.Product.name)).limit(LOW_STOCK_LIMIT))
    return [catalog_entry(*row) for row in rows]
