"""Repositories of shops' people and payment accounts: staff listings, invites, payment accounts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from actions.commerce.ports import Invite, NewInvite, StaffListing, StoredAccount
from actions.db import tables as t


class ShopStaff:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_shop(self, tenant_id: int) -> list[StaffListing]:
        rows = await self.session.scalars(
            select(t.StaffUser).where(t.StaffUser.tenant_id == tenant_id).order_by(t.StaffUser.email)
        )
        return [StaffListing(r.id, r.email, r.name, r.role, r.active) for r in rows]

    async def set_role(self, tenant_id: int, user_id: int, role: str) -> bool:
        return await self._set(tenant_id, user_id, role=role)

    async def set_active(self, tenant_id: int, user_id: int, active: bool) -> bool:
        return await self._set(tenant_id, user_id, active=active)

    async def _set(self, tenant_id: int, user_id: int, **values: object) -> bool:
        changed = await self.session.scalar(
            update(t.StaffUser)
            .where(t.StaffUser.id == user_id, t.StaffUser.tenant_id == tenant_id)
            .values(**values)
            .returning(t.StaffUser.id)
        )
        return changed is not None


class StaffInvites:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, invite: NewInvite, token_hash: str, expires_in: timedelta) -> None:
        self.session.add(
            t.StaffInvite(
                tenant_id=invite.tenant_id, email=invite.email, name=invite.name, role=invite.role,
                token_hash=token_hash, expires_at=func.now() + expires_in, created_by=invite.created_by,
            )
        )  # fmt: skip
        await self.session.flush()

    def _usable(self, token_hash: str):
        return (
            select(t.StaffInvite, t.Tenant.name)
            .join(t.Tenant, t.Tenant.id == t.StaffInvite.tenant_id)
            .where(
                t.StaffInvite.token_hash == token_hash,
                t.StaffInvite.used_at.is_(None),
                t.StaffInvite.expires_at > func.now(),
            )
        )

    async def find(self, token_hash: str) -> Invite | None:
        return _invite((await self.session.execute(self._usable(token_hash))).first())

    async def take(self, token_hash: str) -> Invite | None:
        found = (await self.session.execute(self._usable(token_hash).with_for_update(of=t.StaffInvite))).first()
        if found is not None:
            await self.session.execute(
                update(t.StaffInvite).where(t.StaffInvite.id == found[0].id).values(used_at=func.now())
            )
        return _invite(found)


def _invite(row) -> Invite | None:
    if row is None:
        return None
    invite, tenant_name = row
    return Invite(invite.tenant_id, invite.email, invite.name, invite.role, invite.created_by, invite.id, tenant_name)


class PaymentAccounts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, tenant_id: int, provider: str) -> StoredAccount | None:
        row = await self.session.scalar(
            select(t.PaymentAccount).where(
                t.PaymentAccount.tenant_id == tenant_id, t.PaymentAccount.provider == provider, t.PaymentAccount.active
            )
        )
        return _account(row)

    async def by_id(self, account_id: int) -> StoredAccount | None:
        return _account(await self.session.get(t.PaymentAccount, account_id))

    async def replace(
        self, tenant_id: int, provider: str, settings: dict[str, str], sealed: str, created_by: int | None
    ) -> int:
        await self.deactivate(tenant_id, provider)
        row = t.PaymentAccount(
            tenant_id=tenant_id, provider=provider, settings=settings, secrets=sealed, created_by=created_by
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def deactivate(self, tenant_id: int, provider: str) -> bool:
        changed = await self.session.scalar(
            update(t.PaymentAccount)
            .where(
                t.PaymentAccount.tenant_id == tenant_id, t.PaymentAccount.provider == provider, t.PaymentAccount.active
            )
            .values(active=False)
            .returning(t.PaymentAccount.id)
        )
        return changed is not None

    async def every_sealed(self) -> list[tuple[int, str]]:
        rows = await self.session.execute(
            select(t.PaymentAccount.id, t.PaymentAccount.secrets).order_by(t.PaymentAccount.id).with_for_update()
        )
        return [(row.id, row.secrets) for row in rows]

    async def reseal(self, account_id: int, was: str, sealed: str) -> bool:
        changed = await self.session.scalar(
            update(t.PaymentAccount)
            .where(t.PaymentAccount.id == account_id, t.PaymentAccount.secrets == was)
            .values(secrets=sealed)
            .returning(t.PaymentAccount.id)
        )
        return changed is not None and was != sealed


def _account(row: t.PaymentAccount | None) -> StoredAccount | None:
    if row is None:
        return None
    return StoredAccount(row.id, row.tenant_id, row.provider, dict(row.settings), row.secrets)


# --- reads for the shop pages -----------------------------------------------------------------------


async def role_now(session: AsyncSession, user_id: int) -> str | None:
    """The member's role as it is now (None: no longer active): a changed role counts at the next request."""
    return await session.scalar(select(t.StaffUser.role).where(t.StaffUser.id == user_id, t.StaffUser.active))


async def shops(session: AsyncSession) -> list[dict]:
    staff = select(func.count()).where(t.StaffUser.tenant_id == t.Tenant.id, t.StaffUser.active).scalar_subquery()
    own = (
        select(func.array_agg(t.PaymentAccount.provider))
        .where(t.PaymentAccount.tenant_id == t.Tenant.id, t.PaymentAccount.active)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(t.Tenant, staff.label("staff"), own.label("own")).order_by(
            t.Tenant.created_at.desc(), t.Tenant.id.desc()
        )
    )
    return [_shop(row.Tenant) | {"staff": row.staff, "own_accounts": sorted(row.own or [])} for row in rows]


async def shop(session: AsyncSession, tenant_id: int) -> dict | None:
    row = await session.get(t.Tenant, tenant_id)
    return _shop(row) if row else None


def _shop(row: t.Tenant) -> dict:
    return {
        "id": row.id, "slug": row.slug, "name": row.name, "currency": row.currency,
        "whatsapp_phone_number_id": row.whatsapp_phone_number_id or "",
    }  # fmt: skip
