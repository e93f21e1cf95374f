"""Finding the shop (merchant) and the customer a conversation or a callback belongs to."""

from __future__ import annotations

from actions.commerce.errors import UnknownTenant
from actions.commerce.model import CustomerRef, Tenant
from actions.commerce.ports import UnitOfWork


async def tenant_of(uow: UnitOfWork, slug: str) -> Tenant:
    tenant = await uow.tenants.by_slug(slug)
    if tenant is None:
        raise UnknownTenant(slug)
    return tenant


async def tenant_for_conversation(
    uow: UnitOfWork, default_slug: str, *, whatsapp_number: str | None = None, slug: str | None = None
) -> Tenant:
    """The merchant a new conversation belongs to: by the WhatsApp number it came to, else the default shop."""
    async with uow:
        if whatsapp_number:
            tenant = await uow.tenants.by_whatsapp_number(whatsapp_number)
            if tenant is None:
                raise UnknownTenant(f"whatsapp:{whatsapp_number}")
            return tenant
        return await tenant_of(uow, slug or default_slug)


async def identify(uow: UnitOfWork, who: CustomerRef) -> tuple[Tenant, int]:
    """The merchant and our id for this customer of theirs, created on first contact."""
    tenant = await tenant_of(uow, who.tenant)
    return tenant, await uow.customers.get_or_create(tenant.id, who.external_id)
