"""Telling the customer, in their chat, how a payment ended (the worker runs this for each queued message)."""

from __future__ import annotations

from actions.commerce.payments import Notice
from actions.commerce.ports import Conversations, UnitOfWork


async def tell_customer(uow: UnitOfWork, conversations: Conversations, payment_id: int, notice: Notice) -> bool:
    """Send the payment update into the customer's conversation; False when the payment is gone."""
    async with uow:
        recipient = await uow.payments.recipient(payment_id)
    if recipient is None:
        return False
    await conversations.payment_update(recipient, notice)  # raises when Rasa is unreachable: the job retries
    return True
