"""Telling the customer, in their chat, how a payment ended: through Rasa's API, from the worker."""

from __future__ import annotations

import logging

from sqlalchemy import select

from actions.db import tables as t
from actions.runtime import Runtime

log = logging.getLogger("payments.notify")
INTENT = "EXTERNAL_payment_update"


async def notify_customer(rt: Runtime, payment_id: int, reason: str) -> bool:
    """Trigger the payment-update intent in the customer's conversation, on the channel they last used."""
    async with rt.sessions() as session:
        row = (
            await session.execute(
                select(t.Customer.external_id, t.Order.number, t.Payment.status)
                .join(t.Order, t.Order.id == t.Payment.order_id)
                .join(t.Customer, t.Customer.id == t.Order.customer_id)
                .where(t.Payment.id == payment_id)
            )
        ).first()
    if row is None:
        return False
    sender, number, status = row
    params = {"output_channel": "latest", **({"token": rt.payments.rasa_token} if rt.payments.rasa_token else {})}
    response = await rt.http.post(
        f"{rt.payments.rasa_url}/conversations/{sender}/trigger_intent",
        params=params,
        json={"name": INTENT, "entities": {"order_number": number, "payment_status": status, "reason": reason}},
    )
    response.raise_for_status()  # the job is retried by the worker
    log.info("payment %s: customer told (%s)", payment_id, reason, extra={"payment_id": payment_id})
    return True
