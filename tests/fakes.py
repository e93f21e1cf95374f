"""In-memory versions of the ports in `actions.commerce.ports`, for fast use-case tests.

`FakeUnitOfWork` keeps a committed state and, inside `async with`, works on a deep copy of it:
`commit()` makes the copy the committed state, leaving the block without it throws the copy away,
as a rolled-back transaction does. Its repositories mirror the SQL ones in `actions.db.repositories`
(the same upserts, uniqueness, ordering and conditional updates), against a clock (`now`) the test
moves with `advance`. Ids come from counters that, like PostgreSQL's sequences, are not rolled back.

No database, no Redis, no network: plain Python over the real domain values.
"""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from actions.commerce.catalog_csv import CatalogRow
from actions.commerce.errors import ConversationsUnreachable, PaymentUnavailable
from actions.commerce.model import (
    Cart,
    CartLine,
    CatalogEntry,
    Category,
    NewOrder,
    Order,
    OrderLine,
    OrderNotice,
    OrderStatus,
    Product,
    ProductChanges,
    Tenant,
)
from actions.commerce.money import Money
from actions.commerce.nlu_examples import TrainingSet
from actions.commerce.payments import (
    CallbackSecrets,
    CheckPolicy,
    DueCheck,
    EventKey,
    Notice,
    Payment,
    PaymentStatus,
    ProviderEvent,
    RejectCaps,
    Rejected,
)
from actions.commerce.ports import (
    CannedReply,
    Conversation,
    Handoff,
    Invite,
    NewInvite,
    OrderRecipient,
    PaymentAsk,
    PaymentRecipient,
    Requested,
    StaffAccount,
    StaffListing,
    StaffMember,
    StaffReply,
    StoredAccount,
)
from actions.commerce.reminders import IdleCart, ReminderSettings

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


# --- the rows -----------------------------------------------------------------------------------


@dataclass
class TenantRow:
    id: int
    slug: str
    name: str
    currency: str
    callback_secret: str
    whatsapp_number: str | None = None
    api_token_hash: str | None = None
    previous_callback_secret: str | None = None
    callback_rotated_at: datetime | None = None

    def tenant(self) -> Tenant:
        return Tenant(self.id, self.slug, self.name, self.currency)


@dataclass
class CustomerRow:
    id: int
    tenant_id: int
    external_id: str


@dataclass
class CategoryRow:
    id: int
    tenant_id: int
    slug: str
    name: str


@dataclass
class ProductRow:
    id: int
    tenant_id: int
    category_id: int
    sku: str
    name: str
    price: Money
    stock: int
    description: str = ""
    image_url: str | None = None
    active: bool = True
    aliases: tuple[str, ...] = ()


@dataclass
class OrderRow:
    id: int
    tenant_id: int
    customer_id: int
    number: str
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    total: Money
    delivery_location: str | None
    created_at: datetime
    version: int = 1
    updated_at: datetime | None = None  # placed, or a payment last asked for (None: when placed)
    customer_told_status: OrderStatus | None = None

    @property
    def active_at(self) -> datetime:
        return self.updated_at or self.created_at


@dataclass
class PaymentRow:
    id: int
    tenant_id: int
    order_id: int
    provider: str
    reference: str
    status: PaymentStatus
    amount: Money
    phone: str | None
    next_check_at: datetime
    created_at: datetime
    needs_review: bool = False
    check_attempts: int = 0
    version: int = 1
    callback_nonce: str | None = None
    customer_told_at: datetime | None = None

    def payment(self) -> Payment:
        return Payment(
            self.id,
            self.tenant_id,
            self.order_id,
            self.provider,
            self.reference,
            self.status,
            self.amount,
            self.needs_review,
            self.callback_nonce,
        )


@dataclass
class EventRow:
    id: int
    payment_id: int | None
    provider: str
    key: str
    kind: str
    payload: dict[str, Any]


@dataclass
class RejectedRow:
    message: Rejected
    received_at: datetime


@dataclass
class HandoffRow:
    id: int
    tenant_id: int
    conversation_id: str
    reason: str
    resolved_at: datetime | None = None
    resolved_by: int | None = None
    assigned_to: int | None = None
    requested_at: datetime | None = None


@dataclass
class ReplyRow:
    reply: StaffReply
    staff_user_id: int
    delivered_at: datetime | None = None


@dataclass
class StaffRow:
    id: int
    tenant_id: int
    email: str
    name: str
    password_hash: str
    active: bool = True
    role: str = "staff"


@dataclass
class InviteRow:
    invite: Invite
    token_hash: str
    expires_at: datetime
    used_at: datetime | None = None


@dataclass
class AccountRow:
    account: StoredAccount
    active: bool = True
    created_by: int | None = None


@dataclass
class AuditRow:
    tenant_id: int
    staff_user_id: int
    action: str
    subject: str
    reason: str
    details: dict[str, object]


@dataclass(frozen=True)
class Told:
    payment: Payment
    notice: Notice
    correlation_id: str | None


@dataclass(frozen=True)
class ToldOrder:
    order_id: int
    notice: OrderNotice
    reason: str


@dataclass
class State:
    """Everything the database would hold; tests read the committed one as `uow.committed`."""

    tenants: dict[int, TenantRow] = field(default_factory=dict)
    customers: dict[int, CustomerRow] = field(default_factory=dict)
    categories: dict[int, CategoryRow] = field(default_factory=dict)
    products: dict[int, ProductRow] = field(default_factory=dict)
    carts: dict[int, dict[int, int]] = field(default_factory=dict)  # customer id -> product id -> quantity
    orders: dict[int, OrderRow] = field(default_factory=dict)
    payments: dict[int, PaymentRow] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_counts: dict[tuple[datetime, str], int] = field(default_factory=dict)  # (hour, address) -> received
    handoffs: dict[int, HandoffRow] = field(default_factory=dict)
    replies: dict[int, ReplyRow] = field(default_factory=dict)
    canned: dict[int, tuple[int, CannedReply]] = field(default_factory=dict)  # id -> (tenant id, reply)
    replies_queued: list[int] = field(default_factory=list)  # the outbox: staff replies for the worker
    staff: dict[str, StaffRow] = field(default_factory=dict)  # by email, unique across shops
    invites: list[InviteRow] = field(default_factory=list)
    accounts: dict[int, AccountRow] = field(default_factory=dict)
    audit: list[AuditRow] = field(default_factory=list)
    told: list[Told] = field(default_factory=list)  # the outbox: customers' messages queued for the worker
    told_orders: list[ToldOrder] = field(default_factory=list)  # the outbox's order steps
    reminder_settings: dict[int, ReminderSettings] = field(default_factory=dict)  # by shop
    cart_changes: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # customer id -> (version, when)
    heard: dict[int, tuple[datetime, str | None]] = field(
        default_factory=dict
    )  # customer id -> (last message, language)
    opted_out: set[int] = field(default_factory=set)  # customer ids
    reminded: dict[int, tuple[int, bool]] = field(default_factory=dict)  # customer id -> (version, sent)
    reminders_queued: list[tuple[int, int]] = field(default_factory=list)  # the outbox: (cart, version)

    def product(self, sku: str, tenant_id: int | None = None) -> ProductRow:
        [row] = [p for p in self.products.values() if p.sku == sku and tenant_id in (None, p.tenant_id)]
        return row

    def events_of(self, payment_id: int | None) -> list[EventRow]:
        return [e for e in self.events if e.payment_id == payment_id]


# --- the repositories ---------------------------------------------------------------------------


class _Repository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _s(self) -> State:
        return self._uow.working

    def _id(self, table: str) -> int:
        return self._uow.next_id(table)


class FakeTenants(_Repository):
    async def by_slug(self, slug: str) -> Tenant | None:
        row = next((t for t in self._s.tenants.values() if t.slug == slug), None)
        return row.tenant() if row else None

    async def by_id(self, tenant_id: int) -> Tenant | None:
        row = self._s.tenants.get(tenant_id)
        return row.tenant() if row else None

    async def by_whatsapp_number(self, phone_number_id: str) -> Tenant | None:
        row = next((t for t in self._s.tenants.values() if t.whatsapp_number == phone_number_id), None)
        return row.tenant() if row else None

    async def callback_secrets(self, tenant_id: int) -> CallbackSecrets | None:
        row = self._s.tenants.get(tenant_id)
        if row is None:
            return None
        return CallbackSecrets(row.callback_secret, row.previous_callback_secret, row.callback_rotated_at)

    async def rotate_callback_secret(self, tenant_id: int, secret: str, unless_within: timedelta | None) -> bool:
        row = self._s.tenants.get(tenant_id)
        if row is None:
            return False
        last = row.callback_rotated_at
        if unless_within is not None and last is not None and last > self._uow.now - unless_within:
            return False
        row.previous_callback_secret, row.callback_secret = row.callback_secret, secret
        row.callback_rotated_at = self._uow.now
        return True

    async def set_whatsapp_number(self, tenant_id: int, phone_number_id: str | None) -> bool:
        if tenant_id not in self._s.tenants:
            return False
        if phone_number_id and any(
            t.whatsapp_number == phone_number_id and t.id != tenant_id for t in self._s.tenants.values()
        ):
            raise ValueError("duplicate whatsapp_phone_number_id")  # a unique constraint
        self._s.tenants[tenant_id].whatsapp_number = phone_number_id
        return True

    async def set_api_token_hash(self, tenant_id: int, token_hash: str) -> None:
        if tenant_id in self._s.tenants:
            self._s.tenants[tenant_id].api_token_hash = token_hash

    async def ensure(self, slug: str, name: str, currency: str) -> Tenant:
        existing = await self.by_slug(slug)
        if existing is not None:  # ON CONFLICT DO NOTHING: name and currency stay as they were
            return existing
        row = TenantRow(self._id("tenants"), slug, name, currency, callback_secret=f"secret-{slug}")
        self._s.tenants[row.id] = row
        return row.tenant()


class FakeCustomers(_Repository):
    async def get_or_create(self, tenant_id: int, external_id: str) -> int:
        for row in self._s.customers.values():
            if (row.tenant_id, row.external_id) == (tenant_id, external_id):
                return row.id
        row = CustomerRow(self._id("customers"), tenant_id, external_id)
        self._s.customers[row.id] = row
        return row.id


class FakeCatalog(_Repository):
    def _product(self, row: ProductRow) -> Product:
        category = self._s.categories[row.category_id]
        return Product(
            id=row.id,
            sku=row.sku,
            name=row.name,
            category=category.slug,
            price=row.price,
            stock=row.stock,
            description=row.description,
            image_url=row.image_url,
            aliases=row.aliases,
        )

    def _visible(self, tenant_id: int) -> list[ProductRow]:
        rows = [p for p in self._s.products.values() if p.tenant_id == tenant_id and p.active]
        return sorted(rows, key=lambda p: p.name)

    async def categories(self, tenant_id: int) -> list[Category]:
        rows = sorted((c for c in self._s.categories.values() if c.tenant_id == tenant_id), key=lambda c: c.name)
        visible = self._visible(tenant_id)
        return [Category(c.slug, c.name, sum(p.category_id == c.id for p in visible)) for c in rows]

    async def products(self, tenant_id: int, category: str | None, limit: int) -> list[Product]:
        rows = self._visible(tenant_id)
        if category:  # "dairy" finds "Dairy & Eggs": a category named by its first word
            wanted = category.strip().lower()
            rows = [
                p
                for p in rows
                if self._s.categories[p.category_id].slug.startswith(wanted)
                or self._s.categories[p.category_id].name.lower().startswith(wanted)
            ]
        return [self._product(p) for p in rows[:limit]]

    async def search(self, tenant_id: int, text: str, limit: int) -> list[Product]:
        words = [w for w in text.lower().split() if w]
        if not words:
            return []

        def matches(p: ProductRow, word: str) -> bool:
            category = self._s.categories[p.category_id].name.lower()
            return word in p.name.lower() or word in category or p.sku.lower() == word

        rows = [p for p in self._visible(tenant_id) if all(matches(p, w) for w in words)]
        return [self._product(p) for p in rows[:limit]]

    async def everything(self, tenant_id: int) -> list[Product]:
        return [self._product(p) for p in self._visible(tenant_id)]

    async def by_sku(self, tenant_id: int, sku: str) -> Product | None:
        row = next((p for p in self._visible(tenant_id) if p.sku == sku), None)
        return self._product(row) if row else None

    async def reserve(self, product_id: int, quantity: int) -> bool:
        row = self._s.products.get(product_id)
        if row is None or not row.active or row.stock < quantity:
            return False
        row.stock -= quantity
        return True

    async def release(self, product_id: int, quantity: int) -> None:
        if product_id in self._s.products:
            self._s.products[product_id].stock += quantity

    async def save_category(self, tenant_id: int, slug: str, name: str) -> int:
        for row in self._s.categories.values():
            if (row.tenant_id, row.slug) == (tenant_id, slug):
                row.name = name
                return row.id
        row = CategoryRow(self._id("categories"), tenant_id, slug, name)
        self._s.categories[row.id] = row
        return row.id

    async def save_product(self, tenant_id: int, category_id: int, row: CatalogRow) -> None:
        values = {
            "category_id": category_id,
            "name": row.name,
            "description": row.description,
            "price": row.price,
            "stock": row.stock,
            "image_url": row.image_url,
            "aliases": row.aliases,
            "active": True,
        }
        for existing in self._s.products.values():
            if (existing.tenant_id, existing.sku) == (tenant_id, row.sku):
                for name, value in values.items():
                    setattr(existing, name, value)
                return
        product = ProductRow(id=self._id("products"), tenant_id=tenant_id, sku=row.sku, **values)
        self._s.products[product.id] = product

    async def entry(self, tenant_id: int, product_id: int, *, for_update: bool = False) -> CatalogEntry | None:
        row = self._s.products.get(product_id)
        if row is None or row.tenant_id != tenant_id:
            return None
        category = self._s.categories[row.category_id].name
        return CatalogEntry(
            row.id, row.sku, row.name, category, row.price, row.stock, row.description, row.image_url, row.active
        )

    async def change(self, product_id: int, changes: ProductChanges) -> None:
        row = self._s.products[product_id]
        row.name, row.description, row.price = changes.name, changes.description, changes.price
        row.image_url, row.active = changes.image_url, changes.visible
        if changes.stock is not None:
            row.stock = changes.stock


class FakeCarts(_Repository):
    async def get(self, tenant: Tenant, customer_id: int) -> Cart:
        catalog = FakeCatalog(self._uow)
        items = self._s.carts.get(customer_id, {})
        lines = [CartLine(catalog._product(self._s.products[pid]), qty) for pid, qty in items.items()]
        return Cart(tuple(sorted(lines, key=lambda line: line.product.name)), tenant.currency)

    async def set_quantity(self, tenant_id: int, customer_id: int, product_id: int, quantity: int) -> None:
        items = self._s.carts.setdefault(customer_id, {})  # one cart per customer, its id the customer's
        version, _ = self._s.cart_changes.get(customer_id, (0, self._uow.now))
        self._s.cart_changes[customer_id] = (version + 1, self._uow.now)
        if quantity <= 0:
            items.pop(product_id, None)
        else:
            items[product_id] = quantity

    async def clear(self, customer_id: int) -> None:
        if customer_id in self._s.carts:
            self._s.carts[customer_id] = {}


def _order(row: OrderRow) -> Order:
    return Order(row.id, row.number, row.status, row.total, row.lines, row.delivery_location, row.created_at)


class FakeOrders(_Repository):
    async def add(self, order: NewOrder) -> Order:
        row = OrderRow(
            id=self._id("orders"),
            tenant_id=order.tenant_id,
            customer_id=order.customer_id,
            number=order.number,
            status=OrderStatus.PENDING_PAYMENT,
            lines=order.lines,
            total=order.total,
            delivery_location=order.delivery_location,
            created_at=self._uow.now,
        )
        self._s.orders[row.id] = row
        return _order(row)

    async def for_customer(self, customer_id: int, limit: int) -> list[Order]:
        rows = [o for o in self._s.orders.values() if o.customer_id == customer_id]
        rows.sort(key=lambda o: (o.created_at, o.id), reverse=True)
        return [_order(o) for o in rows[:limit]]

    async def by_number(self, customer_id: int, number: str, *, for_update: bool = False) -> Order | None:
        row = next((o for o in self._s.orders.values() if (o.customer_id, o.number) == (customer_id, number)), None)
        return _order(row) if row else None

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        row = self._s.orders.get(order_id)
        return _order(row) if row else None

    async def of_shop(self, tenant_id: int, number: str) -> Order | None:
        row = next((o for o in self._s.orders.values() if (o.tenant_id, o.number) == (tenant_id, number)), None)
        return _order(row) if row else None

    async def recipient(self, order_id: int) -> OrderRecipient | None:
        row = self._s.orders.get(order_id)
        if row is None:
            return None
        customer = self._s.customers[row.customer_id]
        return OrderRecipient(customer.external_id, row.number, row.status, row.customer_told_status)

    async def mark_told(self, order_id: int, status: OrderStatus) -> None:
        if order_id in self._s.orders:
            self._s.orders[order_id].customer_told_status = status

    async def move(self, order_id: int, was: OrderStatus, becomes: OrderStatus) -> bool:
        row = self._s.orders.get(order_id)
        if row is None or row.status is not was:
            return False
        row.status, row.version = becomes, row.version + 1
        return True

    async def set_status(self, order_id: int, status: OrderStatus) -> None:
        if order_id in self._s.orders:
            row = self._s.orders[order_id]
            row.status, row.version = status, row.version + 1

    async def abandoned(self, older_than_minutes: float, limit: int) -> list[int]:
        cutoff = self._uow.now - timedelta(minutes=older_than_minutes)
        paying = {p.order_id for p in self._s.payments.values() if p.status is PaymentStatus.PENDING}
        rows = [
            o
            for o in self._s.orders.values()
            if o.status is OrderStatus.PENDING_PAYMENT and o.active_at < cutoff and o.id not in paying
        ]
        rows.sort(key=lambda o: o.active_at)
        return [o.id for o in rows[:limit]]

    async def touch(self, order_id: int) -> None:
        if order_id in self._s.orders:
            self._s.orders[order_id].updated_at = self._uow.now


class FakePayments(_Repository):
    async def add(
        self,
        order_id: int,
        provider: str,
        reference: str,
        amount: Money,
        phone: str | None,
        first_check: timedelta,
        callback_nonce: str | None = None,
        account_id: int | None = None,
    ) -> Payment:
        order = self._s.orders[order_id]  # a foreign key: the order must be there
        if any((p.provider, p.reference) == (provider, reference) for p in self._s.payments.values()):
            raise ValueError(f"duplicate payment reference {provider}:{reference}")  # a unique constraint
        row = PaymentRow(
            id=self._id("payments"),
            tenant_id=order.tenant_id,
            order_id=order_id,
            provider=provider,
            reference=reference,
            status=PaymentStatus.PENDING,
            amount=amount,
            phone=phone,
            next_check_at=self._uow.now + first_check,
            created_at=self._uow.now,
            callback_nonce=callback_nonce,
        )
        self._s.payments[row.id] = row
        return row.payment()

    async def by_reference_with_keys(self, provider: str, reference: str) -> tuple[Payment, frozenset[str]] | None:
        row = next((p for p in self._s.payments.values() if (p.provider, p.reference) == (provider, reference)), None)
        if row is None:
            return None
        return row.payment(), frozenset(e.key for e in self._s.events if e.payment_id == row.id)

    async def pending_for_order(self, order_id: int) -> bool:
        return any(p.order_id == order_id and p.status is PaymentStatus.PENDING for p in self._s.payments.values())

    async def pending_of_order(self, order_id: int) -> list[Payment]:
        rows = [p for p in self._s.payments.values() if p.order_id == order_id and p.status is PaymentStatus.PENDING]
        return [p.payment() for p in sorted(rows, key=lambda p: p.id)]

    async def record_event(self, payment_id: int, event: ProviderEvent) -> Payment | None:
        if payment_id not in self._s.payments:
            raise ValueError(f"no payment {payment_id}")  # a foreign key: the payment must be there
        key = EventKey.ledger(event.provider, payment_id, event.key)
        if any((e.provider, e.key) == (event.provider, key) for e in self._s.events):
            return None
        self._s.events.append(EventRow(self._id("events"), payment_id, event.provider, key, event.kind, event.payload))
        return self._s.payments[payment_id].payment()

    async def update(
        self, payment_id: int, *, status: PaymentStatus | None = None, flag: bool = False, check_now: bool = False
    ) -> None:
        row = self._s.payments.get(payment_id)
        if row is None:
            return
        if status is not None:
            row.status, row.version = status, row.version + 1
        row.needs_review = row.needs_review or flag
        if check_now:
            row.next_check_at = self._uow.now

    async def claim_due(self, limit: int, policy: CheckPolicy) -> list[DueCheck]:
        now = self._uow.now
        rows = [p for p in self._s.payments.values() if p.status is PaymentStatus.PENDING and p.next_check_at <= now]
        rows.sort(key=lambda p: p.next_check_at)
        claimed = []
        for row in rows[:limit]:
            age = now - row.created_at
            claimed.append(DueCheck(row.payment(), row.check_attempts, age))
            row.next_check_at = now + policy.next_check_in(row.check_attempts, age)
            row.check_attempts += 1
        return claimed

    async def recipient(self, payment_id: int) -> PaymentRecipient | None:
        row = self._s.payments.get(payment_id)
        if row is None:
            return None
        order = self._s.orders[row.order_id]
        customer = self._s.customers[order.customer_id]
        return PaymentRecipient(customer.external_id, order.number, row.status, row.customer_told_at is not None)

    async def mark_told(self, payment_id: int) -> None:
        row = self._s.payments.get(payment_id)
        if row is not None and row.customer_told_at is None:
            row.customer_told_at = self._uow.now

    async def by_id(self, payment_id: int) -> Payment | None:
        row = self._s.payments.get(payment_id)
        return row.payment() if row else None

    async def lock_of_order(self, order_id: int) -> list[Payment]:
        rows = sorted((p for p in self._s.payments.values() if p.order_id == order_id), key=lambda p: p.id)
        return [p.payment() for p in rows]


class FakeRejectedMessages(_Repository):
    async def keep(self, message: Rejected, caps: RejectCaps) -> bool:
        if not message.signed:
            hour = self._uow.now.replace(minute=0, second=0, microsecond=0)
            for address, cap in ((message.source_address, caps.per_address_per_hour), ("*", caps.per_hour)):
                received = self._s.rejected_counts[(hour, address)] = (
                    self._s.rejected_counts.get((hour, address), 0) + 1
                )
                if received > cap:
                    return False
        self._s.rejected.append(RejectedRow(message, self._uow.now))
        return True


class FakeHandoffs(_Repository):
    async def request(self, tenant_id: int, conversation_id: str, customer_text: str) -> None:
        for row in self._s.handoffs.values():
            if (row.tenant_id, row.conversation_id) == (tenant_id, conversation_id) and row.resolved_at is None:
                return  # one waiting hand-off per conversation: the first request is kept
        row = HandoffRow(self._id("handoffs"), tenant_id, conversation_id, customer_text, requested_at=self._uow.now)
        self._s.handoffs[row.id] = row

    async def waiting(self, handoff_id: int) -> Handoff | None:
        row = self._s.handoffs.get(handoff_id)
        if row is None or row.resolved_at is not None:
            return None
        return Handoff(row.id, row.tenant_id, row.conversation_id)

    async def resolve(self, handoff_id: int, staff_user_id: int) -> None:
        row = self._s.handoffs.get(handoff_id)
        if row is not None and row.resolved_at is None:
            row.resolved_at, row.resolved_by = self._uow.now, staff_user_id

    async def get(self, handoff_id: int) -> Handoff | None:
        row = self._s.handoffs.get(handoff_id)
        if row is None:
            return None
        assignee = next((s.name for s in self._s.staff.values() if s.id == row.assigned_to), None)
        return Handoff(
            row.id, row.tenant_id, row.conversation_id, row.resolved_at is None, row.reason, row.requested_at, assignee
        )

    async def is_waiting(self, tenant_id: int, conversation_id: str) -> bool:
        return any(
            (h.tenant_id, h.conversation_id, h.resolved_at) == (tenant_id, conversation_id, None)
            for h in self._s.handoffs.values()
        )

    async def add_reply(self, handoff: Handoff, staff: StaffMember, staff_name: str, text: str) -> StaffReply:
        reply = StaffReply(
            self._id("replies"), handoff.tenant_id, handoff.id, handoff.conversation_id, staff_name, text, self._uow.now
        )
        self._s.replies[reply.id] = ReplyRow(reply, staff.user_id)
        self._s.handoffs[handoff.id].assigned_to = staff.user_id
        return reply

    async def reply(self, reply_id: int) -> StaffReply | None:
        row = self._s.replies.get(reply_id)
        return replace(row.reply, delivered=row.delivered_at is not None) if row else None

    async def undelivered(self, conversation_id: str) -> list[StaffReply]:
        rows = [r for r in self._s.replies.values() if r.reply.conversation_id == conversation_id]
        return [r.reply for r in sorted(rows, key=lambda r: r.reply.id) if r.delivered_at is None]

    async def mark_delivered(self, reply_id: int) -> None:
        row = self._s.replies[reply_id]
        row.delivered_at = row.delivered_at or self._uow.now


class FakeCannedReplies(_Repository):
    async def of_shop(self, tenant_id: int) -> list[CannedReply]:
        return sorted((c for shop, c in self._s.canned.values() if shop == tenant_id), key=lambda c: c.title)

    async def save(self, tenant_id: int, reply_id: int | None, title: str, text_en: str, text_sw: str) -> bool:
        if any(shop == tenant_id and c.title == title and c.id != reply_id for shop, c in self._s.canned.values()):
            return False  # the unique (tenant_id, title)
        if reply_id is None:
            reply_id = self._id("canned")
        elif self._s.canned.get(reply_id, (None,))[0] != tenant_id:
            return False
        self._s.canned[reply_id] = (tenant_id, CannedReply(reply_id, title, text_en, text_sw))
        return True

    async def delete(self, tenant_id: int, reply_id: int) -> bool:
        if self._s.canned.get(reply_id, (None,))[0] != tenant_id:
            return False
        del self._s.canned[reply_id]
        return True


class FakeStaff(_Repository):
    async def save(self, tenant_id: int, email: str, name: str, password_hash: str, role: str | None = None) -> None:
        row = self._s.staff.get(email)
        if row is None:
            self._s.staff[email] = StaffRow(
                self._id("staff"), tenant_id, email, name, password_hash, True, role or "staff"
            )
        elif row.tenant_id == tenant_id:  # ON CONFLICT (email) DO UPDATE … WHERE the same shop
            row.name, row.password_hash, row.active = name, password_hash, True
            row.role = role or row.role

    async def active(self, email: str) -> StaffAccount | None:
        row = self._s.staff.get(email)
        if row is None or not row.active:
            return None
        shop = self._s.tenants[row.tenant_id].name
        return StaffAccount(row.id, row.tenant_id, shop, row.email, row.name, row.password_hash, row.role)

    async def replace_password_hash(self, user_id: int, old_hash: str, new_hash: str) -> None:
        for row in self._s.staff.values():
            if row.id == user_id and row.password_hash == old_hash:
                row.password_hash = new_hash


class FakeShopStaff(_Repository):
    async def of_shop(self, tenant_id: int) -> list[StaffListing]:
        rows = sorted((r for r in self._s.staff.values() if r.tenant_id == tenant_id), key=lambda r: r.email)
        return [StaffListing(r.id, r.email, r.name, r.role, r.active) for r in rows]

    async def set_role(self, tenant_id: int, user_id: int, role: str) -> bool:
        return self._set(tenant_id, user_id, role=role)

    async def set_active(self, tenant_id: int, user_id: int, active: bool) -> bool:
        return self._set(tenant_id, user_id, active=active)

    def _set(self, tenant_id: int, user_id: int, **values: object) -> bool:
        for row in self._s.staff.values():
            if (row.id, row.tenant_id) == (user_id, tenant_id):
                for name, value in values.items():
                    setattr(row, name, value)
                return True
        return False


class FakeInvites(_Repository):
    async def add(self, invite: NewInvite, token_hash: str, expires_in: timedelta) -> None:
        shop = self._s.tenants[invite.tenant_id].name
        stored = Invite(*astuple(invite), id=self._id("invites"), tenant_name=shop)
        self._s.invites.append(InviteRow(stored, token_hash, self._uow.now + expires_in))

    def _usable(self, token_hash: str) -> InviteRow | None:
        return next(
            (
                r
                for r in self._s.invites
                if r.token_hash == token_hash and r.used_at is None and r.expires_at > self._uow.now
            ),
            None,
        )

    async def find(self, token_hash: str) -> Invite | None:
        row = self._usable(token_hash)
        return row.invite if row else None

    async def take(self, token_hash: str) -> Invite | None:
        row = self._usable(token_hash)
        if row is None:
            return None
        row.used_at = self._uow.now
        return row.invite


class FakePaymentAccounts(_Repository):
    async def current(self, tenant_id: int, provider: str) -> StoredAccount | None:
        return next(
            (r.account for r in self._s.accounts.values()
             if r.active and (r.account.tenant_id, r.account.provider) == (tenant_id, provider)),
            None,
        )  # fmt: skip

    async def by_id(self, account_id: int) -> StoredAccount | None:
        row = self._s.accounts.get(account_id)
        return row.account if row else None

    async def replace(
        self, tenant_id: int, provider: str, settings: dict[str, str], sealed: str, created_by: int | None
    ) -> int:
        await self.deactivate(tenant_id, provider)
        account = StoredAccount(self._id("accounts"), tenant_id, provider, dict(settings), sealed)
        self._s.accounts[account.id] = AccountRow(account, True, created_by)
        return account.id

    async def deactivate(self, tenant_id: int, provider: str) -> bool:
        found = False
        for row in self._s.accounts.values():
            if row.active and (row.account.tenant_id, row.account.provider) == (tenant_id, provider):
                row.active, found = False, True
        return found

    async def every_sealed(self) -> list[tuple[int, str]]:
        return [(account_id, row.account.sealed) for account_id, row in sorted(self._s.accounts.items())]

    async def reseal(self, account_id: int, was: str, sealed: str) -> bool:
        row = self._s.accounts.get(account_id)
        if row is None or row.account.sealed != was:
            return False
        row.account = replace(row.account, sealed=sealed)
        return True


class FakeAudit(_Repository):
    async def write(self, staff: StaffMember, action: str, subject: str, reason: str = "", **details: object) -> None:
        self._s.audit.append(AuditRow(staff.tenant_id, staff.user_id, action, subject, reason, dict(details)))


class FakeReminders(_Repository):
    async def settings(self, tenant_id: int) -> ReminderSettings:
        return self._s.reminder_settings.get(tenant_id, ReminderSettings())

    async def save_settings(self, tenant_id: int, wanted: ReminderSettings) -> None:
        self._s.reminder_settings[tenant_id] = wanted

    def _idle(self, customer_id: int) -> IdleCart | None:
        customer = self._s.customers[customer_id]
        wanted = self._s.reminder_settings.get(customer.tenant_id, ReminderSettings())
        if not wanted.on or not self._s.carts.get(customer_id):
            return None
        version, changed = self._s.cart_changes[customer_id]
        heard, language = self._s.heard.get(customer_id, (None, None))
        reminded, sent = self._s.reminded.get(customer_id, (None, False))
        opted_out = customer_id in self._s.opted_out
        conversation = customer.external_id
        return IdleCart(
            customer_id, version, conversation, language, wanted.delay, changed, heard, reminded, sent, opted_out
        )

    async def idle_carts(self, heard_since: datetime, limit: int) -> list[IdleCart]:
        carts = [self._idle(customer_id) for customer_id in self._s.carts]
        return [
            c for c in carts
            if c and not c.opted_out and c.last_message_at and c.last_message_at >= heard_since
            and c.reminded_version != c.version
        ][:limit]  # fmt: skip

    async def cart(self, cart_id: int) -> IdleCart | None:
        return self._idle(cart_id) if cart_id in self._s.carts else None

    async def claim(self, cart_id: int, version: int) -> bool:
        current, _ = self._s.cart_changes.get(cart_id, (None, None))
        if current != version or self._s.reminded.get(cart_id, (None, False))[0] == version:
            return False
        self._s.reminded[cart_id] = (version, False)
        return True

    async def mark_sent(self, cart_id: int, version: int) -> None:
        if self._s.reminded.get(cart_id, (None, False))[0] == version:
            self._s.reminded[cart_id] = (version, True)

    async def heard_from(self, customer_id: int, at: datetime, language: str | None) -> None:
        last, known = self._s.heard.get(customer_id, (at, None))
        self._s.heard[customer_id] = (max(last, at), language or known)

    async def opt_out(self, customer_id: int, at: datetime) -> None:
        self._s.opted_out.add(customer_id)


class FakeOutbox(_Repository):
    """Like procrastinate's queueing lock: one waiting message per payment (the fake delivers none)."""

    async def tell_customer(self, payment: Payment, notice: Notice, correlation_id: str | None = None) -> None:
        if not any(
            (t.payment.provider, t.payment.reference) == (payment.provider, payment.reference) for t in self._s.told
        ):
            self._s.told.append(Told(payment, notice, correlation_id))

    async def tell_order(self, order: Order, notice: OrderNotice, reason: str = "") -> None:
        if not any((t.order_id, t.notice) == (order.id, notice) for t in self._s.told_orders):
            self._s.told_orders.append(ToldOrder(order.id, notice, reason))

    async def remind_cart(self, cart_id: int, version: int) -> None:
        if (cart_id, version) not in self._s.reminders_queued:
            self._s.reminders_queued.append((cart_id, version))

    async def send_reply(self, reply: StaffReply) -> None:
        self._s.replies_queued.append(reply.id)


# --- the unit of work ---------------------------------------------------------------------------


class FakeUnitOfWork:
    """One transaction per `async with`, over an in-memory state; reusable like `SqlUnitOfWork`."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now
        self.committed = State()
        self.working: State  # only inside `async with`
        self._in_transaction = False
        self._ids: defaultdict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.commits = 0
        self.rollbacks = 0
        self.tenants = FakeTenants(self)
        self.customers = FakeCustomers(self)
        self.catalog = FakeCatalog(self)
        self.carts = FakeCarts(self)
        self.orders = FakeOrders(self)
        self.payments = FakePayments(self)
        self.rejected = FakeRejectedMessages(self)
        self.handoffs = FakeHandoffs(self)
        self.canned_replies = FakeCannedReplies(self)
        self.staff = FakeStaff(self)
        self.shop_staff = FakeShopStaff(self)
        self.invites = FakeInvites(self)
        self.payment_accounts = FakePaymentAccounts(self)
        self.audit = FakeAudit(self)
        self.reminders = FakeReminders(self)
        self.outbox = FakeOutbox(self)

    def __getattr__(self, name: str) -> Any:
        if name == "working":
            raise RuntimeError("use the unit of work inside `async with`")
        raise AttributeError(name)

    async def __aenter__(self) -> Self:
        if self._in_transaction:
            raise RuntimeError("the unit of work is already in a transaction (nested `async with`)")
        self._in_transaction = True
        self.working = copy.deepcopy(self.committed)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.working != self.committed:
            self.rollbacks += 1  # changes left uncommitted: thrown away
        del self.working
        self._in_transaction = False

    async def commit(self) -> None:
        if not self._in_transaction:
            raise RuntimeError("commit() outside `async with`")
        self.committed = copy.deepcopy(self.working)
        self.commits += 1

    def next_id(self, table: str) -> int:
        return next(self._ids[table])

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        """Move the clock on: `advance(minutes=5)`."""
        self.now += delta if delta is not None else timedelta(**kwargs)

    # --- arranging: rows put straight into the committed state, as a fixture would ---

    def add_shop(
        self,
        slug: str = "demo-shop",
        name: str = "Demo Shop",
        currency: str = "KES",
        whatsapp_number: str | None = None,
    ) -> Tenant:
        row = TenantRow(self.next_id("tenants"), slug, name, currency, f"secret-{slug}", whatsapp_number)
        self.committed.tenants[row.id] = row
        return row.tenant()

    def add_product(
        self,
        shop: Tenant,
        sku: str,
        name: str,
        price_minor: int,
        stock: int,
        category: str = "Groceries",
        *,
        active: bool = True,
    ) -> Product:
        slug = category.lower().replace(" ", "-")
        category_row = next(
            (c for c in self.committed.categories.values() if (c.tenant_id, c.slug) == (shop.id, slug)), None
        )
        if category_row is None:
            category_row = CategoryRow(self.next_id("categories"), shop.id, slug, category)
            self.committed.categories[category_row.id] = category_row
        row = ProductRow(
            self.next_id("products"), shop.id, category_row.id, sku, name, Money(price_minor, shop.currency), stock
        )
        row.active = active
        self.committed.products[row.id] = row
        return Product(row.id, sku, name, slug, row.price, stock)

    # --- looking: the committed state, as another transaction would see it ---

    def stock(self, sku: str, shop: Tenant | None = None) -> int:
        return self.committed.product(sku, shop.id if shop else None).stock

    def order(self, order_id: int) -> OrderRow:
        return self.committed.orders[order_id]

    def payment(self, payment_id: int) -> PaymentRow:
        return self.committed.payments[payment_id]


# --- beyond storage -----------------------------------------------------------------------------


class FakeProvider:
    """A payment provider that records what it was asked and answers `check` with `answer`:
    a ProviderEvent, None (no final answer yet), an exception to raise, or a function of
    (payment, kind) giving one of those."""

    def __init__(self, name: str, authorization_url: str | None = None) -> None:
        self.name = name
        self.authorization_url = authorization_url
        self.requests: list[PaymentAsk] = []
        self.checks: list[tuple[Payment, str]] = []
        self.refusal: Exception | None = None  # raised by `request` when set
        self.answer: Any = None
        self._references = itertools.count(1)

    async def request(self, ask: PaymentAsk) -> Requested:
        if self.refusal is not None:
            raise self.refusal
        self.requests.append(ask)
        return Requested(f"{self.name}-ref-{next(self._references)}", self.authorization_url)

    async def check(self, payment: Payment, kind: str) -> ProviderEvent | None:
        self.checks.append((payment, kind))
        answer = self.answer(payment, kind) if callable(self.answer) else self.answer
        if isinstance(answer, BaseException):
            raise answer
        return answer


PAID_NOTICES = {"mpesa": Notice.MPESA_PAID, "paystack": Notice.CARD_PAID}
METHODS = {"mpesa": "mpesa", "card": "paystack"}


class FakeProviders:
    """M-Pesa and Paystack as fakes; `unconfigured` names the ones `get` refuses."""

    def __init__(self, *providers: FakeProvider) -> None:
        providers = providers or (FakeProvider("mpesa"), FakeProvider("paystack", "https://pay.example/abc"))
        self.providers = {p.name: p for p in providers}
        self.unconfigured: set[str] = set()

    def __getitem__(self, name: str) -> FakeProvider:
        return self.providers[name]

    def get(self, name: str) -> FakeProvider:
        provider = self.providers.get(name)
        if provider is None or name in self.unconfigured:
            raise PaymentUnavailable(f"no payment provider called {name!r} is configured")
        return provider

    def paid_notice(self, name: str) -> Notice:
        return PAID_NOTICES[name]

    def for_method(self, method: str) -> FakeProvider:
        return self.get(METHODS.get(method, method))


class FakeConversations:
    """Records what the bot was asked to do; `unreachable = True` makes every call fail as Rasa down would."""

    def __init__(self) -> None:
        self.resumed: list[str] = []
        self.updates: list[tuple[PaymentRecipient, Notice]] = []
        self.order_updates: list[tuple[OrderRecipient, OrderNotice, str]] = []
        self.reminders: list[tuple[str, str | None]] = []  # (conversation, language)
        self.said: list[tuple[str, str, dict[str, Any]]] = []  # conversation id, text, metadata
        self.unreachable = False

    def _reach(self) -> None:
        if self.unreachable:
            raise ConversationsUnreachable("the bot cannot be reached (fake)")

    async def resume(self, conversation_id: str) -> None:
        self._reach()
        self.resumed.append(conversation_id)

    async def payment_update(self, recipient: PaymentRecipient, notice: Notice) -> None:
        self._reach()
        self.updates.append((recipient, notice))

    async def order_update(self, recipient: OrderRecipient, notice: OrderNotice, reason: str) -> None:
        self._reach()
        self.order_updates.append((recipient, notice, reason))

    async def cart_reminder(self, conversation_id: str, language: str | None) -> None:
        self._reach()
        self.reminders.append((conversation_id, language))

    async def say(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> None:
        self._reach()
        self.said.append((conversation_id, text, metadata))


class FakeConversationSource:
    """Stored conversations (live and archived) as given; `since` leaves out those with nothing since then."""

    def __init__(self, *conversations: Conversation) -> None:
        self.conversations = list(conversations)

    async def since(self, moment: datetime | None) -> list[Conversation]:
        def recent(c: Conversation) -> bool:
            return moment is None or any(float(e.get("timestamp") or 0) >= moment.timestamp() for e in c.events)

        return [c for c in self.conversations if recent(c)]

    async def one(self, conversation_id: str, last: int) -> list[dict[str, Any]]:
        return [e for c in self.conversations if c.id == conversation_id for e in c.events]


class FakeTrainingData:
    """Training files in memory, by name: `files` (data/nlu/<language>.yml and others), `held_out` (tests/nlu/)."""

    def __init__(self, intents: set[str], files: dict[str, str], held_out: dict[str, str] | None = None) -> None:
        self.intents, self.files, self.held_out = intents, files, held_out or {}

    async def current(self) -> TrainingSet:
        return TrainingSet.of(self.intents, self.files, self.held_out)

    async def change(self, language: str, edit: Callable[[str, str], str]) -> str:
        name = f"data/nlu/{language}.yml"
        self.files[name] = edit(self.files[name], name)
        return name
