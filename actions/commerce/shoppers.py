"""Finding the shop and the customer a conversation belongs to."""

from __future__ import annotations

from actions.commerce.errors import UnknownTenant
from actions.commerce.model import CustomerRef, Tenant
from actions.commerce.ports import UnitOfWork


async def tenant_of(uow: UnitOfWork, slug: str) -> Tenant:
    tenant = await uow.tenants.by_slug(slug)
    if tenant is None:
        raise UnknownTenant(slug)
    return tenant


async def identify(uow: UnitOfWork, who: CustomerRef) -> tuple[Tenant, int]:
    """The merchant and our id for this customer of theirs, created on first contact."""
    tenant = await tenant_of(uow, who.tenant)
    return tenant, await uow.customers.get_or_create(tenant.id, who.external_id)
