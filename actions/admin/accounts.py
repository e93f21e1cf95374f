"""Staff accounts and order-API tokens, for `python -m actions.cli add-staff` / `api-token` and `make chat`."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.admin.api import token_hash
from actions.admin.passwords import hash_password
from actions.db import tables as t


class UnknownShop(LookupError):
    pass


async def _tenant_id(session: AsyncSession, slug: str) -> int:
    tenant_id = await session.scalar(select(t.Tenant.id).where(t.Tenant.slug == slug))
    if tenant_id is None:
        raise UnknownShop(slug)
    return tenant_id


async def set_staff(
    sessions: async_sessionmaker[AsyncSession], slug: str, email: str, name: str, password: str
) -> None:
    """Create a staff member of a shop, or give an existing one a new password."""
    password_hash = hash_password(password)
    async with sessions() as session, session.begin():
        tenant_id = await _tenant_id(session, slug)
        await session.execute(
            insert(t.StaffUser)
            .values(tenant_id=tenant_id, email=email.strip().lower(), name=name, password_hash=password_hash)
            .on_conflict_do_update(
                index_elements=["email"], set_={"password_hash": password_hash, "name": name, "active": True}
            )
        )


async def new_api_token(sessions: async_sessionmaker[AsyncSession], slug: str) -> str:
    """A new token for the shop's order API; the old one stops working. Only its hash is stored."""
    token = "duka_" + secrets.token_urlsafe(32)
    async with sessions() as session, session.begin():
        tenant = await session.get(t.Tenant, await _tenant_id(session, slug))
        tenant.api_token_hash = token_hash(token)
    return token
