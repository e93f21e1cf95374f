"""What the use cases need from storage. `actions.db` implements it over PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import Protocol, Self

from actions.commerce.model import (
    Cart,
    Category,
    NewOrder,
    Order,
    OrderStatus,
    Product,
    Tenant,
)
from actions.commerce.money import Money
from actions.commerce.payments import DueCheck, Payment, PaymentStatus, ProviderEvent


class Tenants(Protocol):
    async def by_slug(self, slug: str) -> Tenant | None: ...

    async def by_whatsapp_number(self, phone_number_id: str) -> Tenant | None: ...

    async def callback_secret(self, tenant_id: int) -> str | None: ...


class Customers(Protocol):
    async def get_or_create(self, tenant_id: int, external_id: str) -> int: ...


class Catalog(Protocol):
    async def categories(self, tenant_id: int) -> list[Category]: ...

    async def products(self, tenant_id: int, category: str | None, limit: int) -> list[Product]: ...

    async def search(self, tenant_id: int, text: str, limit: int) -> list[Product]: ...

    async def by_sku(self, tenant_id: int, sku: str) -> Product | None: ...

    async def reserve(self, product_id: int, quantity: int) -> bool:
        """Take `quantity` from stock if that much is there; atomic against other orders."""
        ...

    async def release(self, product_id: int, quantity: int) -> None: ...


class Carts(Protocol):
    async def get(self, tenant: Tenant, customer_id: int) -> Cart: ...

    async def set_quantity(self, tenant_id: int, customer_id: int, product_id: int, quantity: int) -> None:
        """Quantity 0 removes the line."""
        ...

    async def clear(self, customer_id: int) -> None: ...


class Orders(Protocol):
    async def add(self, order: NewOrder) -> Order: ...

    async def for_customer(self, customer_id: int, limit: int) -> list[Order]: ...

    async def by_number(self, customer_id: int, number: str, *, for_update: bool = False) -> Order | None: ...

    async def set_status(self, order_id: int, status: OrderStatus) -> None: ...

    async def expire(self, order_id: int) -> None:
        """An unpaid order whose payment window closed: expired, and its stock released."""
        ...

    async def abandoned(self, older_than_minutes: float, limit: int) -> list[int]:
        """Unpaid orders older than that with no payment still pending (cancelled, failed, never started)."""
        ...


class Payments(Protocol):
    async def add(
        self, order_id: int, provider: str, reference: str, amount: Money, phone: str | None, first_check: timedelta
    ) -> Payment: ...

    async def by_reference(self, provider: str, reference: str) -> Payment | None: ...

    async def pending_for_order(self, order_id: int) -> bool:
        """Whether a payment for the order is still waiting for the provider (so no second prompt)."""
        ...

    async def lock(self, payment_id: int) -> Payment:
        """The payment, locked (SELECT … FOR UPDATE) until the transaction ends."""
        ...

    async def add_event(self, payment_id: int | None, event: ProviderEvent, note: str | None = None) -> bool:
        """Append the event; False when its key was recorded before (nothing is written then)."""
        ...

    async def set_status(self, payment: Payment, status: PaymentStatus) -> None: ...

    async def claim_due(self, limit: int, backoff_seconds: float) -> list[DueCheck]:
        """Pending payments whose next check is due; each one's next check moves back (backoff x 2^n)
        in the same transaction, so a worker that dies mid-check delays a check but never loses it."""
        ...

    async def by_id(self, payment_id: int) -> Payment | None: ...

    async def check_now(self, payment_id: int) -> None:
        """Make the payment's next provider check due at once (a doubtful callback)."""
        ...

    async def flag(self, payment_id: int) -> None:
        """Mark for a person to look at (money after the end, an amount that does not match)."""
        ...


class Handoffs(Protocol):
    async def request(self, tenant_id: int, conversation_id: str, reason: str) -> None:
        """Note a conversation as waiting for a person (once, however often it is asked)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    tenants: Tenants
    customers: Customers
    catalog: Catalog
    carts: Carts
    orders: Orders
    payments: Payments
    handoffs: Handoffs

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...
