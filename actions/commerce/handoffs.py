"""A customer asking for a person: staff see the conversation waiting until they hand it back."""

from __future__ import annotations

from actions.commerce.errors import NotFound
from actions.commerce.model import CustomerRef
from actions.commerce.ports import Conversations, StaffMember, UnitOfWork
from actions.commerce.shops import tenant_of


async def ask_for_person(uow: UnitOfWork, who: CustomerRef, customer_text: str) -> None:
    async with uow:
        tenant = await tenant_of(uow, who.tenant)
        await uow.handoffs.request(tenant.id, who.external_id, customer_text[:500])
        await uow.commit()


async def hand_back(uow: UnitOfWork, conversations: Conversations, staff: StaffMember, handoff_id: int) -> None:
    """The bot answers the customer again and the conversation leaves the waiting list.

    NotFound for another shop's or an already resolved hand-off; ConversationsUnreachable leaves it waiting."""
    async with uow:
        handoff = await uow.handoffs.waiting(handoff_id)
    if handoff is None or handoff.tenant_id != staff.tenant_id:
        raise NotFound(f"hand-off {handoff_id}")
    await conversations.resume(handoff.conversation_id)
    async with uow:
        await uow.handoffs.resolve(handoff_id, staff.user_id)
        await uow.audit.write(staff, "hand_back", f"conversation:{handoff.conversation_id}"[:64])
        await uow.commit()
