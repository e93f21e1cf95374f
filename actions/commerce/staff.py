"""Staff accounts and order-API tokens of a shop (`python -m actions.cli add-staff` / `api-token`, `make chat`)."""

from __future__ import annotations

import secrets

from actions.commerce.passwords import hash_password, token_hash
from actions.commerce.ports import UnitOfWork
from actions.commerce.shops import tenant_of


async def set_staff(uow: UnitOfWork, slug: str, email: str, name: str, password: str) -> None:
    """Create a staff member of a shop, or give an existing one a new password (WeakPassword if too short)."""
    password_hash = hash_password(password)
    async with uow:
        tenant = await tenant_of(uow, slug)
        await uow.staff.save(tenant.id, email.strip().lower(), name, password_hash)
        await uow.commit()


async def new_api_token(uow: UnitOfWork, slug: str) -> str:
    """A new token for the shop's order API; the old one stops working. Only its hash is stored."""
    token = "duka_" + secrets.token_urlsafe(32)
    async with uow:
        tenant = await tenant_of(uow, slug)
        await uow.tenants.set_api_token_hash(tenant.id, token_hash(token))
        await uow.commit()
    return token
