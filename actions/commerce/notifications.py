"""Telling the customer, in their chat, how a payment ended or where their order is (the worker runs this
for each queued message)."""

from __future__ import annotations

from actions.commerce.model import OrderNotice
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


async def tell_order_step(
    uow: UnitOfWork, conversations: Conversations, order_id: int, notice: OrderNotice, reason: str = ""
) -> bool:
    """Send the order's step into the customer's conversation, once: False when the order is gone, its
    customer heard of this step already (the job ran again), or the order has moved on since (the later
    step's own message says where it is; an old one arriving after it would only mislead).

    Steps only go forward, so the status last told names what the customer heard. Told is noted after
    Rasa took the message, as for payments."""
    async with uow:
        recipient = await uow.orders.recipient(order_id)
    if recipient is None or recipient.status is not notice.status or recipient.told is notice.status:
        return False
    await conversations.order_update(recipient, notice, reason)  # ConversationsUnreachable: tried again
    async with uow:
        await uow.orders.mark_told(order_id, notice.status)
        await uow.commit()
    return True
