"""What can go wrong in the shop, as exceptions the entry points turn into replies or status codes."""

from __future__ import annotations

from actions.commerce.model import OrderStatus, Product


class CommerceError(Exception):
    """Base class: a business rule said no. Nothing was changed."""


class UnknownTenant(CommerceError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no shop called {slug!r}")
        self.slug = slug


class ProductNotFound(CommerceError):
    def __init__(self, query: str) -> None:
        super().__init__(f"no product matches {query!r}")
        self.query = query


class AmbiguousProduct(CommerceError):
    def __init__(self, query: str, candidates: list[Product]) -> None:
        super().__init__(f"{len(candidates)} products match {query!r}")
        self.query = query
        self.candidates = candidates


class InvalidQuantity(CommerceError):
    def __init__(self, quantity: int) -> None:
        super().__init__(f"quantity must be between 1 and 99, got {quantity}")
        self.quantity = quantity


class OutOfStock(CommerceError):
    def __init__(self, product: Product, available: int) -> None:
        super().__init__(f"only {available} of {product.sku} left")
        self.product = product
        self.available = available


class EmptyCart(CommerceError):
    def __init__(self) -> None:
        super().__init__("the cart is empty")


class OrderNotFound(CommerceError):
    def __init__(self, number: str) -> None:
        super().__init__(f"no order {number!r} for this customer")
        self.number = number


class NothingToCancel(CommerceError):
    def __init__(self) -> None:
        super().__init__("no unpaid order to cancel")


class OrderNotCancellable(CommerceError):
    def __init__(self, number: str, status: OrderStatus) -> None:
        super().__init__(f"order {number} is {status.value} and can no longer be cancelled")
        self.number = number
        self.status = status


class PaymentUnavailable(CommerceError):
    """The provider could not be asked (not configured, unreachable, refused); the order stays unpaid."""


class PaymentStillPending(CommerceError):
    def __init__(self, number: str) -> None:
        super().__init__(f"a payment for order {number} is still waiting for the provider")
        self.number = number


class ConversationsUnreachable(CommerceError):
    """The bot's HTTP API could not be reached or refused; nothing was changed in the conversation."""


class NotFound(CommerceError):
    """What staff asked about is not there, or belongs to another shop (which is the same to them)."""


class Refused(CommerceError):
    """The action makes no sense now; the message says why and nothing was changed."""
