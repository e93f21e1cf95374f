"""A customer's cart: one per customer of a shop, kept in the database across conversations."""

from __future__ import annotations

from actions.commerce.catalog import find_one
from actions.commerce.errors import InvalidQuantity, OutOfStock
from actions.commerce.model import MAX_QUANTITY, Cart, CartUpdate, CustomerRef
from actions.commerce.ports import UnitOfWork
from actions.commerce.shops import identify


async def view(uow: UnitOfWork, who: CustomerRef) -> Cart:
    async with uow:
        tenant, customer_id = await identify(uow, who)
        cart = await uow.carts.get(tenant, customer_id)
        await uow.commit()  # keeps the customer created on first contact
        return cart


async def add(uow: UnitOfWork, who: CustomerRef, product_query: str, quantity: int = 1) -> CartUpdate:
    """Add `quantity` of a product; stock is checked here and reserved only when ordering."""
    _check(quantity)
    async with uow:
        tenant, customer_id = await identify(uow, who)
        product = await find_one(uow, tenant.id, product_query)
        cart = await uow.carts.get(tenant, customer_id)
        wanted = cart.quantity_of(product.id) + quantity
        if wanted > MAX_QUANTITY:
            raise InvalidQuantity(wanted)
        if wanted > product.stock:
            raise OutOfStock(product, product.stock)
        await uow.carts.set_quantity(tenant.id, customer_id, product.id, wanted)
        update = CartUpdate(product, await uow.carts.get(tenant, customer_id))
        await uow.commit()
        return update


async def change_quantity(uow: UnitOfWork, who: CustomerRef, product_query: str, quantity: int) -> CartUpdate:
    """Set a line to `quantity`; 0 removes it."""
    if quantity != 0:
        _check(quantity)
    async with uow:
        tenant, customer_id = await identify(uow, who)
        product = await find_one(uow, tenant.id, product_query)
        if quantity > product.stock:
            raise OutOfStock(product, product.stock)
        await uow.carts.set_quantity(tenant.id, customer_id, product.id, quantity)
        update = CartUpdate(product, await uow.carts.get(tenant, customer_id))
        await uow.commit()
        return update


async def remove(uow: UnitOfWork, who: CustomerRef, product_query: str) -> CartUpdate:
    return await change_quantity(uow, who, product_query, 0)


async def clear(uow: UnitOfWork, who: CustomerRef) -> Cart:
    async with uow:
        tenant, customer_id = await identify(uow, who)
        await uow.carts.clear(customer_id)
        await uow.commit()
        return Cart((), tenant.currency)


def _check(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(quantity)
