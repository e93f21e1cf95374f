"""Asking a provider for an order's money: an M-Pesa prompt on the customer's phone, or a card link."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from actions.commerce import payments
from actions.commerce.model import Order, Tenant
from actions.commerce.payments import Payment
from actions.observability import correlation
from actions.payments import callbacks
from actions.payments.mpesa import DarajaClient, DarajaConfig
from actions.payments.paystack import PaystackClient, new_reference
from actions.runtime import Runtime

log = logging.getLogger("payments.gateway")


class PaymentUnavailable(Exception):
    """The provider could not be asked (not configured, unreachable, refused); the order stays unpaid."""


@dataclass(frozen=True)
class PaymentRequest:
    payment: Payment
    authorization_url: str | None = None  # card payments: the page the customer pays on


def daraja_for(rt: Runtime, tenant_id: int, callback_secret: str) -> DarajaClient:
    s = rt.payments
    token = callbacks.callback_token(tenant_id, callback_secret)
    config = DarajaConfig(
        base_url=s.mpesa_base_url,
        consumer_key=s.mpesa_consumer_key,
        consumer_secret=s.mpesa_consumer_secret,
        shortcode=s.mpesa_shortcode,
        passkey=s.mpesa_passkey,
        transaction_type=s.mpesa_transaction_type,
        callback_url=f"{s.public_base_url}/payments/mpesa/callback/{token}",
    )
    return DarajaClient(config, rt.http, rt.mpesa_tokens)


def paystack_for(rt: Runtime) -> PaystackClient:
    return PaystackClient(rt.payments.paystack_secret_key, rt.http, rt.payments.paystack_base_url)


async def request_mpesa(rt: Runtime, tenant: Tenant, order: Order, phone: str) -> PaymentRequest:
    if not rt.payments.mpesa_configured:
        raise PaymentUnavailable("M-Pesa is not configured (MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET, MPESA_PASSKEY)")
    async with rt.uow() as uow:
        secret = await uow.tenants.callback_secret(tenant.id)
    if not secret:
        raise PaymentUnavailable(f"{tenant.slug} has no M-Pesa callback secret")
    try:
        accepted = await daraja_for(rt, tenant.id, secret).stk_push(
            order.total, phone, account_reference=order.number, description=f"Order {order.number}"
        )
    except Exception as e:  # network errors, Daraja refusals, a number Daraja would refuse
        raise PaymentUnavailable(str(e)) from e
    payment = await payments.start(
        rt.uow(), order.id, "mpesa", accepted.checkout_request_id, order.total, phone, first_check(rt)
    )
    await started(rt, payment)
    return PaymentRequest(payment)


async def request_card(rt: Runtime, customer_id: str, order: Order) -> PaymentRequest:
    if not rt.payments.paystack_configured:
        raise PaymentUnavailable("card payments are not configured (PAYSTACK_SECRET_KEY)")
    reference = new_reference(order.number)
    email = f"{customer_id}@{rt.payments.paystack_email_domain}"  # WhatsApp customers give no e-mail
    try:
        initialized = await paystack_for(rt).initialize(order.total, email, reference, order.id)
    except Exception as e:
        raise PaymentUnavailable(str(e)) from e
    payment = await payments.start(rt.uow(), order.id, "paystack", reference, order.total, None, first_check(rt))
    await started(rt, payment)
    return replace(PaymentRequest(payment), authorization_url=initialized.authorization_url)


async def started(rt: Runtime, payment: Payment) -> None:
    """Log the request, and remember the current correlation id for the callback and the worker's checks."""
    await correlation.remember_for_payment(rt.redis, payment)
    fields = {"payment_id": payment.id, "order_id": payment.order_id, "provider": payment.provider}
    log.info("payment %s requested from %s: %s", payment.id, payment.provider, payment.reference, extra=fields)


def first_check(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.payments.first_check_seconds)
