"""Placing, listing and cancelling a customer's orders."""

from __future__ import annotations

from dataclasses import replace

from actions.commerce.errors import EmptyCart, NothingToCancel, OrderNotCancellable, OrderNotFound, OutOfStock
from actions.commerce.model import CustomerRef, Order, OrderStatus, order_from_cart
from actions.commerce.ports import UnitOfWork
from actions.commerce.shoppers import identify


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
    """Cancel an unpaid order of this customer's (the latest when no number is given); put its stock back."""
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
        for line in order.lines:
            await uow.catalog.release(line.product_id, line.quantity)
        await uow.orders.set_status(order.id, OrderStatus.CANCELLED)
        await uow.commit()
        return replace(order, status=OrderStatus.CANCELLED)


async def expire_abandoned(uow: UnitOfWork, older_than_minutes: float, limit: int = 50) -> list[int]:
    """Give back the stock of unpaid orders nobody is paying for any more (the worker runs this)."""
    async with uow:
        expired = await uow.orders.abandoned(older_than_minutes, limit)
        for order_id in expired:
            await uow.orders.expire(order_id)
        await uow.commit()
        return expired
