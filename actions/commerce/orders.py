"""Placing, listing and cancelling a customer's orders."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from actions.commerce.errors import (
    EmptyCart,
    NothingToCancel,
    OrderNotCancellable,
    OrderNotFound,
    OutOfStock,
    PaymentStillPending,
)
from actions.commerce.model import CustomerRef, Order, OrderStatus, order_from_cart
from actions.commerce.payments import PROMPT_PROVIDERS
from actions.commerce.ports import UnitOfWork
from actions.commerce.shops import identify


async def place(uow: UnitOfWork, who: CustomerRef, delivery_location: str | None = None) -> Order:
    """Turn the cart into an order, reserving its stock in the same transaction."""
    async with uow:
        tenant, customer_id = await identify(uow, who)
        cart = await uow.carts.get(tenant, customer_id)
        if cart.is_empty:
            raise EmptyCart()
        # Reserve in product-id order so two orders sharing products never deadlock.
        for line in sorted(cart.lines, key=lambda line: line.product.id):
            if not await uow.catalog.reserve(line.product.id, line.quantity):
                current = await uow.catalog.by_sku(tenant.id, line.product.sku)
                raise OutOfStock(line.product, current.stock if current else 0)
        order = await uow.orders.add(order_from_cart(tenant.id, customer_id, cart, delivery_location))
        await uow.carts.clear(customer_id)
        await uow.commit()
        return order


async def mine(uow: UnitOfWork, who: CustomerRef, limit: int = 5) -> list[Order]:
    """The customer's latest orders, newest first; never another customer's."""
    async with uow:
        _, customer_id = await identify(uow, who)
        return await uow.orders.for_customer(customer_id, limit)


async def find(uow: UnitOfWork, who: CustomerRef, number: str) -> Order:
    async with uow:
        _, customer_id = await identify(uow, who)
        order = await uow.orders.by_number(customer_id, number.strip().upper())
        if order is None:
            raise OrderNotFound(number)
        return order


async def cancel(uow: UnitOfWork, who: CustomerRef, number: str | None = None) -> Order:
    """Cancel an unpaid order of this customer's (the latest when no number is given); put its stock back.

    Not while an M-Pesa prompt for it may still be answered on the customer's phone (PaymentStillPending:
    wait for it, or decline it, then cancel): the money could arrive for an order already given up.
    A pending card payment does not hold the order, since its link stays payable for the whole retry
    window; money that still arrives for a cancelled order is flagged for staff and the customer is
    told so (Notice.PAID_FOR_ENDED_ORDER)."""
    async with uow:
        _, customer_id = await identify(uow, who)
        if number is None:
            pending = [o for o in await uow.orders.for_customer(customer_id, 20) if o.can_be_cancelled]
            if not pending:
                raise NothingToCancel()
            number = pending[0].number
        order = await uow.orders.by_number(customer_id, number.strip().upper(), for_update=True)
        if order is None:
            raise OrderNotFound(number)
        if not order.can_be_cancelled:
            raise OrderNotCancellable(order.number, order.status)
        if any(p.provider in PROMPT_PROVIDERS for p in await uow.payments.pending_of_order(order.id)):
            raise PaymentStillPending(order.number)
        await give_back(uow, order, OrderStatus.CANCELLED)
        await uow.commit()
        return replace(order, status=OrderStatus.CANCELLED)


async def expire_abandoned(uow: UnitOfWork, older_than: timedelta, limit: int = 50) -> list[int]:
    """Give back the stock of unpaid orders nobody is paying for any more (the worker runs this).

    Never an order with a payment still pending (its provider could still complete it: the worker's
    checks end that payment first), nor one a payment was asked for within `older_than`. Each order is
    checked again once locked, as a payment may have been recorded since it was found."""
    async with uow:
        expired = []
        for order_id in await uow.orders.abandoned(older_than.total_seconds() / 60, limit):
            order = await uow.orders.get(order_id, for_update=True)
            if order is None or order.status is not OrderStatus.PENDING_PAYMENT:
                continue
            if await uow.payments.pending_for_order(order_id):
                continue
            await give_back(uow, order, OrderStatus.EXPIRED)
            expired.append(order_id)
        await uow.commit()
        return expired


async def give_back(uow: UnitOfWork, order: Order, status: OrderStatus) -> None:
    """An unpaid order ends (`status`: cancelled or expired) and its stock goes back on the shelf.

    The one place stock returns; the caller holds the order's row lock and commits."""
    for line in sorted(order.lines, key=lambda line: line.product_id):
        await uow.catalog.release(line.product_id, line.quantity)
    await uow.orders.set_status(order.id, status)
