"""What the shop is made of, as plain values."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from actions.commerce.money import Money, total


@dataclass(frozen=True)
class Tenant:
    id: int
    slug: str
    name: str
    currency: str


@dataclass(frozen=True)
class CustomerRef:
    """Who is talking: one customer of one merchant (on WhatsApp, the sender's id)."""

    tenant: str
    external_id: str


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    products: int = 0


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    name: str
    category: str
    price: Money
    stock: int
    description: str = ""
    image_url: str | None = None
    aliases: tuple[str, ...] = ()  # other names customers use, set by the merchant

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


@dataclass(frozen=True)
class CatalogEntry:
    """A product as the shop's staff see it: hidden ones too, with its category's name."""

    id: int
    sku: str
    name: str
    category: str
    price: Money
    stock: int
    description: str
    image_url: str | None
    visible: bool


@dataclass(frozen=True)
class ProductChanges:
    """What staff set on a product; `stock` None leaves the stock as orders left it."""

    name: str
    description: str
    price: Money
    stock: int | None
    image_url: str | None
    visible: bool


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def line_total(self) -> Money:
        return self.product.price * self.quantity


@dataclass(frozen=True)
class Cart:
    lines: tuple[CartLine, ...]
    currency: str

    @property
    def total(self) -> Money:
        return total([line.line_total for line in self.lines], self.currency)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    def quantity_of(self, product_id: int) -> int:
        return sum(line.quantity for line in self.lines if line.product.id == product_id)


@dataclass(frozen=True)
class CartUpdate:
    """The product a change was about (as the customer named it, resolved) and the cart after it."""

    product: Product
    cart: Cart


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PACKED = "packed"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"


class OrderNotice(StrEnum):
    """What the customer is told about a step (actions/chat/orders.py turns it into a reply)."""

    PACKED = "packed"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    CANCELLED_REFUND = "cancelled_refund"  # cancelled after the money arrived: the shop refunds it

    @property
    def status(self) -> OrderStatus:
        return OrderStatus.CANCELLED if self is OrderNotice.CANCELLED_REFUND else OrderStatus(self.value)


@dataclass(frozen=True)
class OrderLine:
    product_id: int
    sku: str
    name: str
    unit_price: Money
    quantity: int

    @property
    def line_total(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class NewOrder:
    tenant_id: int
    customer_id: int
    number: str
    lines: tuple[OrderLine, ...]
    currency: str
    delivery_location: str | None = None

    @property
    def total(self) -> Money:
        return total([line.line_total for line in self.lines], self.currency)


@dataclass(frozen=True)
class Order:
    id: int
    number: str
    status: OrderStatus
    total: Money
    lines: tuple[OrderLine, ...]
    delivery_location: str | None
    created_at: datetime

    @property
    def can_be_cancelled(self) -> bool:
        return self.status == OrderStatus.PENDING_PAYMENT


MAX_QUANTITY = 99

# No 0/O or 1/I: customers read order numbers off a small screen and type them back.
_ORDER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


_ORDER_NUMBER = re.compile(r"\b(?=[A-Z]*[2-9])(?=[2-9]*[A-Z])[A-HJ-NP-Z2-9]{6}\b", re.IGNORECASE)


def order_number_in(text: str) -> str | None:
    """An order number written anywhere in a message ("cancel k7qx2m please"), upper-cased."""
    match = _ORDER_NUMBER.search(text or "")
    return match.group(0).upper() if match else None


def is_order_number(text: str) -> bool:
    """Whether the text is an order number as we make them (any case): no other text names an order."""
    return _ORDER_NUMBER.fullmatch(text or "") is not None


def new_order_number() -> str:
    """Six characters with at least one digit and one letter, so that no order number is a word
    ("cancel SUGARS" must not look like an order) and `order_number_in` finds every one."""
    while True:
        number = "".join(secrets.choice(_ORDER_ALPHABET) for _ in range(6))
        if order_number_in(number) == number:
            return number


def order_from_cart(tenant_id: int, customer_id: int, cart: Cart, location: str | None) -> NewOrder:
    lines = tuple(
        OrderLine(line.product.id, line.product.sku, line.product.name, line.product.price, line.quantity)
        for line in cart.lines
    )
    return NewOrder(tenant_id, customer_id, new_order_number(), lines, cart.currency, location)
