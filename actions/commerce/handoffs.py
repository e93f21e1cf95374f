"""A customer asking for a person: staff see the conversation waiting until they hand it back."""

from __future__ import annotations

from actions.commerce.model import CustomerRef
from actions.commerce.ports import UnitOfWork
from actions.commerce.shoppers import tenant_of


async def ask_for_person(uow: UnitOfWork, who: CustomerRef, reason: str) -> None:
    async with uow:
        tenant = await tenant_of(uow, who.tenant)
        await uow.handoffs.request(tenant.id, who.external_id, reason[:500])
        await uow.commit()
