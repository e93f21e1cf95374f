"""Asking for an order's money from the chat: an M-Pesa prompt on the customer's phone, or a card link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from actions.commerce.errors import PaymentStillPending
from actions.commerce.model import CustomerRef, Order
from actions.commerce.money import Money
from actions.commerce.payments import CheckPolicy, Payment
from actions.commerce.ports import PaymentAsk, PaymentProviders, UnitOfWork
from actions.commerce.shops import tenant_of


@dataclass(frozen=True)
class PaymentRequest:
    payment: Payment
    authorization_url: str | None = None  # card payments: the page the customer pays on


async def request_payment(
    uow: UnitOfWork,
    providers: PaymentProviders,
    who: CustomerRef,
    order: Order,
    method: str,
    phone: str | None,
    policy: CheckPolicy,
) -> PaymentRequest:
    """Ask the provider of `method` for the order's total; a payment still waiting means no second prompt.

    PaymentStillPending or PaymentUnavailable (not configured, unreachable, refused): nothing was started."""
    async with uow:
        if await uow.payments.pending_for_order(order.id):
            raise PaymentStillPending(order.number)
        tenant = await tenant_of(uow, who.tenant)
        secret = await uow.tenants.callback_secret(tenant.id)
    provider = providers.for_method(method)
    requested = await provider.request(PaymentAsk(tenant, order, who.external_id, phone, secret))
    payment = await start(uow, order.id, provider.name, requested.reference, order.total, phone, policy.first_check)
    return PaymentRequest(payment, requested.authorization_url)


async def start(
    uow: UnitOfWork,
    order_id: int,
    provider: str,
    reference: str,
    amount: Money,
    phone: str | None = None,
    first_check: timedelta = timedelta(minutes=1),
) -> Payment:
    """A pending payment for an order, known to the provider by `reference`; checked on if the provider is silent."""
    async with uow:
        payment = await uow.payments.add(order_id, provider, reference, amount, phone, first_check)
        await uow.commit()
        return payment
