"""Telling the customer, in their chat, how a payment ended (the worker runs this for each queued message)."""

from __future__ import annotations

from actions.commerce.payments import Notice
from actions.commerce.ports import Conversations, UnitOfWork


async def tell_customer(uow: UnitOfWork, conversations: Conversations, payment_id: int, notice: Notice) -> bool:
    """Send the payment update into the customer's conversation, once: False when the payment is gone or
    its customer was told already (the job ran again: it is delivered at least once).

    Told is noted after Rasa took the message, so only a worker stopping between the two can repeat it."""
    async with uow:
        recipient = await uow.payments.recipient(payment_id)
    if recipient is None or recipient.told:
        return False
    await conversations.payment_update(recipient, notice)  # ConversationsUnreachable: the job is tried again
    async with uow:
        await uow.payments.mark_told(payment_id)
        await uow.commit()
    return True
