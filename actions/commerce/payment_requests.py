"""Asking for an order's money from the chat: an M-Pesa prompt on the customer's phone, or a card link.

Each payment gets its own callback nonce, an unguessable secret in its M-Pesa callback URL beside
the shop's, so a leaked URL settles no other payment; the shop's secret can be rotated without
losing callbacks in flight (`rotate_callback_secret`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from actions.commerce.errors import PaymentStillPending, PaymentUnavailable, Refused
from actions.commerce.model import CustomerRef, Order, OrderStatus
from actions.commerce.money import Money
from actions.commerce.payments import CheckPolicy, Payment
from actions.commerce.ports import PaymentAsk, PaymentProviders, UnitOfWork
from actions.commerce.shops import tenant_of


def new_secret() -> str:
    """32 random bytes, URL-safe: a shop's callback secret or a payment's nonce."""
    return secrets.token_urlsafe(32)


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

    The order is marked active first, so the worker does not take it for abandoned while the prompt
    goes out. PaymentStillPending or PaymentUnavailable (not configured, unreachable, refused, or the
    order no longer waits for payment): nothing was started."""
    async with uow:
        current = await uow.orders.get(order.id, for_update=True)
        if current is None or current.status is not OrderStatus.PENDING_PAYMENT:
            status = current.status.value if current else "gone"
            raise PaymentUnavailable(f"order {order.number} is {status}, not waiting for payment")
        if await uow.payments.pending_for_order(order.id):
            raise PaymentStillPending(order.number)
        tenant = await tenant_of(uow, who.tenant)
        shop = await uow.tenants.callback_secrets(tenant.id)
        await uow.orders.touch(order.id)
        await uow.commit()
    nonce = new_secret()
    provider = providers.for_method(method)
    secret = shop.current if shop else None
    requested = await provider.request(PaymentAsk(tenant, order, who.external_id, phone, secret, nonce))
    payment = await start(
        uow, order.id, provider.name, requested.reference, order.total, phone, policy.first_check,
        callback_nonce=nonce, account_id=requested.account_id,
    )  # fmt: skip
    return PaymentRequest(payment, requested.authorization_url)


async def start(
    uow: UnitOfWork,
    order_id: int,
    provider: str,
    reference: str,
    amount: Money,
    phone: str | None = None,
    first_check: timedelta = timedelta(minutes=1),
    *,
    callback_nonce: str | None = None,
    account_id: int | None = None,
) -> Payment:
    """A pending payment for an order, known to the provider by `reference`; checked on if the provider is silent."""
    async with uow:
        payment = await uow.payments.add(
            order_id, provider, reference, amount, phone, first_check, callback_nonce, account_id
        )
        await uow.commit()
        return payment


async def rotate_callback_secret(uow: UnitOfWork, slug: str, keep_previous_for: timedelta, force: bool = False) -> None:
    """Give the shop a new M-Pesa callback secret. Payments already asked for keep their URL: the
    previous secret is still admitted, so callbacks in flight are not lost. Refused when the last
    rotation is younger than `keep_previous_for` (the retry window), as a second one would drop the
    secret those payments still carry, unless `force` (their callbacks are then refused, and the
    worker's queries settle them)."""
    async with uow:
        tenant = await tenant_of(uow, slug)
        if not await uow.tenants.rotate_callback_secret(tenant.id, new_secret(), None if force else keep_previous_for):
            minutes = int(keep_previous_for.total_seconds() // 60)
            raise Refused(
                f"{slug}: the callback secret was rotated less than {minutes} minutes ago, and payments asked "
                "for before that may still be called back with the secret before it; try later, or use --force"
            )
        await uow.commit()
