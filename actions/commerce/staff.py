"""Staff accounts, their sign-in and order-API tokens of a shop (`python -m actions.cli add-staff` /
`api-token`, `make chat`, the admin pages)."""

from __future__ import annotations

import secrets
from dataclasses import replace

from actions.commerce.passwords import DUMMY_HASH, hash_password, token_hash, upgraded, verify_password
from actions.commerce.ports import StaffAccount, UnitOfWork
from actions.commerce.shops import tenant_of


async def set_staff(uow: UnitOfWork, slug: str, email: str, name: str, password: str, role: str | None = None) -> None:
    """Create a staff member of a shop, or give an existing one a new password (WeakPassword if too short);
    `role` (operator, owner, staff) when given, else staff for a new member and unchanged for one who exists."""
    password_hash = await hash_password(password)
    async with uow:
        tenant = await tenant_of(uow, slug)
        await uow.staff.save(tenant.id, email.strip().lower(), name, password_hash, role)
        await uow.commit()


async def sign_in(uow: UnitOfWork, email: str, password: str) -> StaffAccount | None:
    """The active staff member with this e-mail and password, or None. An unknown e-mail is checked
    against a dummy hash, so it takes as long as a wrong password; an old hash is replaced by argon2."""
    async with uow:
        account = await uow.staff.active(email.strip().lower())
    stored = account.password_hash if account else DUMMY_HASH
    if not await verify_password(password, stored) or account is None:
        return None
    if new_hash := await upgraded(password, stored):
        async with uow:
            await uow.staff.replace_password_hash(account.user_id, stored, new_hash)
            await uow.commit()
        account = replace(account, password_hash=new_hash)
    return account


async def new_api_token(uow: UnitOfWork, slug: str) -> str:
    """A new token for the shop's order API; the old one stops working. Only its hash is stored."""
    token = "duka_" + secrets.token_urlsafe(32)
    async with uow:
        tenant = await tenant_of(uow, slug)
        await uow.tenants.set_api_token_hash(tenant.id, token_hash(token))
        await uow.commit()
    return token
