"""The commerce ports over an AsyncSession: SQL in, plain domain values out."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from actions.commerce import model
from actions.commerce.catalog_csv import CatalogRow
from actions.commerce.money import Money
from actions.commerce.payments import (
    CallbackSecrets,
    CheckPolicy,
    DueCheck,
    EventKey,
    Payment,
    PaymentStatus,
    ProviderEvent,
    RejectCaps,
    Rejected,
)
from actions.commerce.ports import Handoff, OrderRecipient, PaymentRecipient, StaffAccount, StaffMember
from actions.db import tables as t
from actions.db.cache import ReadCache


class Tenants:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_slug(self, slug: str) -> model.Tenant | None:
        row = await self.session.scalar(select(t.Tenant).where(t.Tenant.slug == slug))
        return model.Tenant(row.id, row.slug, row.name, row.currency) if row else None

    async def by_id(self, tenant_id: int) -> model.Tenant | None:
        row = await self.session.get(t.Tenant, tenant_id)
        return model.Tenant(row.id, row.slug, row.name, row.currency) if row else None

    async def callback_secrets(self, tenant_id: int) -> CallbackSecrets | None:
        row = (
            await self.session.execute(
                select(
                    t.Tenant.mpesa_callback_secret,
                    t.Tenant.mpesa_callback_secret_previous,
                    t.Tenant.mpesa_callback_rotated_at,
                ).where(t.Tenant.id == tenant_id)
            )
        ).first()
        return CallbackSecrets(row[0], row[1], row[2]) if row else None

    async def rotate_callback_secret(self, tenant_id: int, secret: str, unless_within: timedelta | None) -> bool:
        query = update(t.Tenant).where(t.Tenant.id == tenant_id)
        if unless_within is not None:
            query = query.where(
                or_(
                    t.Tenant.mpesa_callback_rotated_at.is_(None),
                    t.Tenant.mpesa_callback_rotated_at <= func.now() - unless_within,
                )
            )
        rotated = await self.session.scalar(
            query.values(
                mpesa_callback_secret_previous=t.Tenant.mpesa_callback_secret,
                mpesa_callback_secret=secret,
                mpesa_callback_rotated_at=func.now(),
            ).returning(t.Tenant.id)
        )
        return rotated is not None

    async def set_api_token_hash(self, tenant_id: int, token_hash: str) -> None:
        await self.session.execute(update(t.Tenant).where(t.Tenant.id == tenant_id).values(api_token_hash=token_hash))

    async def ensure(self, slug: str, name: str, currency: str) -> model.Tenant:
        secret = secrets.token_urlsafe(32)  # for the M-Pesa callback URL; see actions.payments.callbacks
        await self.session.execute(
            insert(t.Tenant)
            .values(slug=slug, name=name, currency=currency, mpesa_callback_secret=secret)
            .on_conflict_do_nothing(index_elements=["slug"])
        )
        tenant = await self.by_slug(slug)
        epoch = func.floor(func.extract("epoch", func.clock_timestamp()) * 1000)  # see actions.db.cache
        await self.session.execute(
            insert(t.CacheBase)
            .values(tenant_id=tenant.id, epoch=epoch)
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        return tenant

    async def by_whatsapp_number(self, phone_number_id: str) -> model.Tenant | None:
        row = await self.session.scalar(select(t.Tenant).where(t.Tenant.whatsapp_phone_number_id == phone_number_id))
        return model.Tenant(row.id, row.slug, row.name, row.currency) if row else None

    async def set_whatsapp_number(self, tenant_id: int, phone_number_id: str | None) -> bool:
        changed = await self.session.scalar(
            update(t.Tenant)
            .where(t.Tenant.id == tenant_id)
            .values(whatsapp_phone_number_id=phone_number_id)
            .returning(t.Tenant.id)
        )
        return changed is not None


class Customers:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_create(self, tenant_id: int, external_id: str) -> int:
        inserted = await self.session.scalar(
            insert(t.Customer)
            .values(tenant_id=tenant_id, external_id=external_id)
            .on_conflict_do_nothing(index_elements=["tenant_id", "external_id"])
            .returning(t.Customer.id)
        )
        if inserted is not None:
            return inserted
        return await self.session.scalar(
            select(t.Customer.id).where(t.Customer.tenant_id == tenant_id, t.Customer.external_id == external_id)
        )


def _product(row: t.Product) -> model.Product:
    return model.Product(
        id=row.id,
        sku=row.sku,
        name=row.name,
        category=row.category.slug,
        price=Money(row.price_minor, row.currency),
        stock=row.stock,
        description=row.description,
        image_url=row.image_url,
        aliases=tuple(row.aliases or ()),
    )


class Catalog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _products(self, tenant_id: int):
        return (
            select(t.Product)
            .options(selectinload(t.Product.category))
            .where(t.Product.tenant_id == tenant_id, t.Product.active)
            .order_by(t.Product.name)
        )

    async def categories(self, tenant_id: int) -> list[model.Category]:
        rows = await self.session.execute(
            select(t.Category.slug, t.Category.name, func.count(t.Product.id))
            .join(t.Product, (t.Product.category_id == t.Category.id) & t.Product.active, isouter=True)
            .where(t.Category.tenant_id == tenant_id)
            .group_by(t.Category.id)
            .order_by(t.Category.name)
        )
        return [model.Category(slug, name, count) for slug, name, count in rows]

    async def products(self, tenant_id: int, category: str | None, limit: int) -> list[model.Product]:
        query = self._products(tenant_id).limit(limit)
        if category:
            # "dairy" finds "Dairy & Eggs": customers name a category by its first word.
            wanted = _escape_like(category.strip().lower()) + "%"
            query = query.join(t.Category).where(
                or_(t.Category.slug.like(wanted, escape="\\"), func.lower(t.Category.name).like(wanted, escape="\\"))
            )
        return [_product(row) for row in await self.session.scalars(query)]

    async def search(self, tenant_id: int, text: str, limit: int) -> list[model.Product]:
        words = [w for w in text.lower().split() if w]
        if not words:
            return []
        query = self._products(tenant_id).join(t.Category).limit(limit)
        for word in words:
            pattern = f"%{_escape_like(word)}%"
            query = query.where(
                or_(
                    func.lower(t.Product.name).like(pattern, escape="\\"),
                    func.lower(t.Category.name).like(pattern, escape="\\"),
                    func.lower(t.Product.sku) == word,
                )
            )
        return [_product(row) for row in await self.session.scalars(query)]

    async def everything(self, tenant_id: int) -> list[model.Product]:
        return [_product(row) for row in await self.session.scalars(self._products(tenant_id))]

    async def by_sku(self, tenant_id: int, sku: str) -> model.Product | None:
        row = await self.session.scalar(self._products(tenant_id).where(t.Product.sku == sku))
        return _product(row) if row else None

    async def reserve(self, product_id: int, quantity: int) -> bool:
        # A hidden product is not sold, even from a cart filled before staff hid it.
        # A conditional UPDATE: under READ COMMITTED a competing order waits for our row lock,
        # then re-checks `stock >= quantity` against the committed value.
        taken = await self.session.scalar(
            update(t.Product)
            .where(t.Product.id == product_id, t.Product.active, t.Product.stock >= quantity)
            .values(stock=t.Product.stock - quantity, updated_at=func.now())
            .returning(t.Product.id)
        )
        return taken is not None

    async def release(self, product_id: int, quantity: int) -> None:
        await self.session.execute(
            update(t.Product)
            .where(t.Product.id == product_id)
            .values(stock=t.Product.stock + quantity, updated_at=func.now())
        )

    async def save_category(self, tenant_id: int, slug: str, name: str) -> int:
        return await self.session.scalar(
            insert(t.Category)
            .values(tenant_id=tenant_id, slug=slug, name=name)
            .on_conflict_do_update(index_elements=["tenant_id", "slug"], set_={"name": name})
            .returning(t.Category.id)
        )

    async def save_product(self, tenant_id: int, category_id: int, row: CatalogRow) -> None:
        values = {
            "category_id": category_id,
            "name": row.name,
            "description": row.description,
            "price_minor": row.price.minor,
            "currency": row.price.currency,
            "stock": row.stock,
            "image_url": row.image_url,
            "aliases": list(row.aliases),
            "active": True,
        }
        await self.session.execute(
            insert(t.Product)
            .values(tenant_id=tenant_id, sku=row.sku, **values)
            .on_conflict_do_update(index_elements=["tenant_id", "sku"], set_={**values, "updated_at": func.now()})
        )

    async def entry(self, tenant_id: int, product_id: int, *, for_update: bool = False) -> model.CatalogEntry | None:
        query = (
            select(t.Product, t.Category.name)
            .join(t.Category, t.Category.id == t.Product.category_id)
            .where(t.Product.id == product_id, t.Product.tenant_id == tenant_id)
        )
        row = (await self.session.execute(query.with_for_update(of=t.Product) if for_update else query)).first()
        return catalog_entry(*row) if row else None

    async def change(self, product_id: int, changes: model.ProductChanges) -> None:
        values = {
            "name": changes.name,
            "description": changes.description,
            "price_minor": changes.price.minor,
            "currency": changes.price.currency,
            "image_url": changes.image_url,
            "active": changes.visible,
            **({"stock": changes.stock} if changes.stock is not None else {}),
        }
        await self.session.execute(
            update(t.Product).where(t.Product.id == product_id).values(**values, updated_at=func.now())
        )


def catalog_entry(row: t.Product, category: str) -> model.CatalogEntry:
    return model.CatalogEntry(
        row.id, row.sku, row.name, category, Money(row.price_minor, row.currency), row.stock, row.description,
        row.image_url, row.active,
    )  # fmt: skip


class CachedCatalog(Catalog):
    """The catalog with its listings (categories, a category's products) served from the read cache."""

    def __init__(self, session: AsyncSession, cache: ReadCache) -> None:
        super().__init__(session)
        self.cache = cache

    async def categories(self, tenant_id: int) -> list[model.Category]:
        return await self.cache.fetch(
            self.session,
            tenant_id,
            "categories",
            lambda: super(CachedCatalog, self).categories(tenant_id),
            lambda categories: [[c.slug, c.name, c.products] for c in categories],
            lambda rows: [model.Category(*row) for row in rows],
        )

    async def everything(self, tenant_id: int) -> list[model.Product]:
        return await self.cache.fetch(
            self.session,
            tenant_id,
            "everything",
            lambda: super(CachedCatalog, self).everything(tenant_id),
            lambda products: [_product_json(p) for p in products],
            lambda rows: [_product_from_json(row) for row in rows],
        )

    async def products(self, tenant_id: int, category: str | None, limit: int) -> list[model.Product]:
        return await self.cache.fetch(
            self.session,
            tenant_id,
            f"products:{(category or '').strip().lower()}:{limit}",
            lambda: super(CachedCatalog, self).products(tenant_id, category, limit),
            lambda products: [_product_json(p) for p in products],
            lambda rows: [_product_from_json(row) for row in rows],
        )


def _product_json(product: model.Product) -> dict:
    return {**asdict(product), "price": [product.price.minor, product.price.currency]}


def _product_from_json(row: dict) -> model.Product:
    return model.Product(**{**row, "price": Money(*row["price"]), "aliases": tuple(row.get("aliases") or ())})


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Carts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant: model.Tenant, customer_id: int) -> model.Cart:
        rows = await self.session.execute(
            select(t.CartItem.quantity, t.Product)
            .join(t.Cart, t.Cart.id == t.CartItem.cart_id)
            .join(t.Product, t.Product.id == t.CartItem.product_id)
            .options(selectinload(t.Product.category))
            .where(t.Cart.customer_id == customer_id)
            .order_by(t.Product.name)
        )
        lines = tuple(model.CartLine(_product(product), quantity) for quantity, product in rows)
        return model.Cart(lines, tenant.currency)

    async def set_quantity(self, tenant_id: int, customer_id: int, product_id: int, quantity: int) -> None:
        cart_id = await self._cart_id(tenant_id, customer_id)
        if quantity <= 0:
            await self.session.execute(
                delete(t.CartItem).where(t.CartItem.cart_id == cart_id, t.CartItem.product_id == product_id)
            )
            return
        await self.session.execute(
            insert(t.CartItem)
            .values(cart_id=cart_id, product_id=product_id, quantity=quantity)
            .on_conflict_do_update(index_elements=["cart_id", "product_id"], set_={"quantity": quantity})
        )

    async def clear(self, customer_id: int) -> None:
        cart_ids = select(t.Cart.id).where(t.Cart.customer_id == customer_id).scalar_subquery()
        await self.session.execute(delete(t.CartItem).where(t.CartItem.cart_id == cart_ids))

    async def _cart_id(self, tenant_id: int, customer_id: int) -> int:
        return await self.session.scalar(
            insert(t.Cart)
            .values(tenant_id=tenant_id, customer_id=customer_id)
            .on_conflict_do_update(
                index_elements=["customer_id"], set_={"updated_at": func.now(), "version": t.Cart.version + 1}
            )
            .returning(t.Cart.id)
        )


# The hot path of a provider's message (settlement.record) uses the tables, not the mapped classes:
# Core statements, plain rows, no identity map.
_payments, _events, _orders = t.Payment.__table__, t.PaymentEvent.__table__, t.Order.__table__
_PAYMENT_COLUMNS = tuple(
    _payments.c[name]
    for name in ("id", "tenant_id", "order_id", "provider", "provider_reference", "status", "amount_minor",
                 "currency", "needs_review", "callback_nonce", "account_id")
)  # fmt: skip


def _order(row: t.Order) -> model.Order:
    lines = tuple(
        model.OrderLine(i.product_id, i.sku, i.name, Money(i.unit_price_minor, i.currency), i.quantity)
        for i in row.items
    )
    return model.Order(
        id=row.id,
        number=row.number,
        status=model.OrderStatus(row.status),
        total=Money(row.total_minor, row.currency),
        lines=lines,
        delivery_location=row.delivery_location,
        created_at=row.created_at,
    )


class Orders:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, order: model.NewOrder) -> model.Order:
        row = t.Order(
            tenant_id=order.tenant_id,
            customer_id=order.customer_id,
            number=order.number,
            status=model.OrderStatus.PENDING_PAYMENT.value,
            total_minor=order.total.minor,
            currency=order.currency,
            delivery_location=order.delivery_location,
            items=[
                t.OrderItem(
                    product_id=line.product_id,
                    sku=line.sku,
                    name=line.name,
                    unit_price_minor=line.unit_price.minor,
                    currency=line.unit_price.currency,
                    quantity=line.quantity,
                )
                for line in order.lines
            ],
        )
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row, ["created_at"])
        return _order(row)

    async def for_customer(self, customer_id: int, limit: int) -> list[model.Order]:
        rows = await self.session.scalars(
            select(t.Order)
            .options(selectinload(t.Order.items))
            .where(t.Order.customer_id == customer_id)
            .order_by(t.Order.created_at.desc(), t.Order.id.desc())
            .limit(limit)
        )
        return [_order(row) for row in rows]

    async def get(self, order_id: int, *, for_update: bool = False) -> model.Order | None:
        query = select(t.Order).options(selectinload(t.Order.items)).where(t.Order.id == order_id)
        if for_update:
            query = query.with_for_update(of=t.Order).execution_options(populate_existing=True)
        row = await self.session.scalar(query)
        return _order(row) if row else None

    async def move(self, order_id: int, was: model.OrderStatus, becomes: model.OrderStatus) -> bool:
        # One conditional UPDATE: it waits for a competing change of the row and re-checks `status` after it.
        moved = await self.session.scalar(
            update(_orders)
            .where(_orders.c.id == order_id, _orders.c.status == was.value)
            .values(status=becomes.value, version=_orders.c.version + 1, updated_at=func.now())
            .returning(_orders.c.id)
        )
        return moved is not None

    async def by_number(self, customer_id: int, number: str, *, for_update: bool = False) -> model.Order | None:
        query = (
            select(t.Order)
            .options(selectinload(t.Order.items))
            .where(t.Order.customer_id == customer_id, t.Order.number == number)
        )
        if for_update:
            query = query.with_for_update(of=t.Order)
        row = await self.session.scalar(query)
        return _order(row) if row else None

    async def of_shop(self, tenant_id: int, number: str) -> model.Order | None:
        query = (
            select(t.Order)
            .options(selectinload(t.Order.items))
            .where(t.Order.tenant_id == tenant_id, t.Order.number == number)
        )
        row = await self.session.scalar(query)
        return _order(row) if row else None

    async def recipient(self, order_id: int) -> OrderRecipient | None:
        row = (
            await self.session.execute(
                select(t.Customer.external_id, t.Order.number, t.Order.status, t.Order.customer_told_status)
                .join(t.Customer, t.Customer.id == t.Order.customer_id)
                .where(t.Order.id == order_id)
            )
        ).first()
        if row is None:
            return None
        told = model.OrderStatus(row[3]) if row[3] else None
        return OrderRecipient(row[0], row[1], model.OrderStatus(row[2]), told)

    async def mark_told(self, order_id: int, status: model.OrderStatus) -> None:
        await self.session.execute(
            update(_orders).where(_orders.c.id == order_id).values(customer_told_status=status.value)
        )

    async def abandoned(self, older_than_minutes: float, limit: int) -> list[int]:
        pending_payment = select(t.Payment.id).where(
            t.Payment.order_id == t.Order.id, t.Payment.status == PaymentStatus.PENDING.value
        )
        rows = await self.session.scalars(
            select(t.Order.id)
            .where(
                t.Order.status == model.OrderStatus.PENDING_PAYMENT.value,
                t.Order.updated_at < func.now() - timedelta(minutes=older_than_minutes),  # placed or last asked
                ~pending_payment.exists(),
            )
            .order_by(t.Order.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows)

    async def touch(self, order_id: int) -> None:
        await self.session.execute(update(t.Order).where(t.Order.id == order_id).values(updated_at=func.now()))

    async def set_status(self, order_id: int, status: model.OrderStatus) -> None:
        await self.session.execute(
            update(t.Order)
            .where(t.Order.id == order_id)
            .values(status=status.value, version=t.Order.version + 1, updated_at=func.now())
        )


def _payment(row: t.Payment) -> Payment:
    """A payment from its mapped row or from a row of _PAYMENT_COLUMNS."""
    return Payment(
        id=row.id,
        tenant_id=row.tenant_id,
        order_id=row.order_id,
        provider=row.provider,
        reference=row.provider_reference,
        status=PaymentStatus(row.status),
        amount=Money(row.amount_minor, row.currency),
        needs_review=row.needs_review,
        callback_nonce=row.callback_nonce,
        account_id=row.account_id,
    )


class Payments:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        tenant_id = await self.session.scalar(select(t.Order.tenant_id).where(t.Order.id == order_id))
        row = t.Payment(
            tenant_id=tenant_id,
            order_id=order_id,
            provider=provider,
            provider_reference=reference,
            status=PaymentStatus.PENDING.value,
            amount_minor=amount.minor,
            currency=amount.currency,
            phone=phone,
            callback_nonce=callback_nonce,
            account_id=account_id,
            needs_review=False,
            check_attempts=0,
            next_check_at=func.now() + first_check,
        )
        self.session.add(row)
        await self.session.flush()
        return _payment(row)

    async def by_reference_with_keys(self, provider: str, reference: str) -> tuple[Payment, frozenset[str]] | None:
        keys = (
            select(func.array_agg(_events.c.event_key))
            .where(_events.c.payment_id == _payments.c.id)
            .correlate(_payments)
            .scalar_subquery()
        )
        query = select(*_PAYMENT_COLUMNS, keys.label("keys")).where(
            _payments.c.provider == provider, _payments.c.provider_reference == reference
        )
        found = (await self.session.execute(query)).first()
        return (_payment(found), frozenset(found.keys or ())) if found else None

    async def pending_for_order(self, order_id: int) -> bool:
        pending = await self.session.scalar(
            select(t.Payment.id)
            .where(t.Payment.order_id == order_id, t.Payment.status == PaymentStatus.PENDING.value)
            .limit(1)
        )
        return pending is not None

    async def pending_of_order(self, order_id: int) -> list[Payment]:
        rows = await self.session.scalars(
            select(t.Payment)
            .where(t.Payment.order_id == order_id, t.Payment.status == PaymentStatus.PENDING.value)
            .order_by(t.Payment.id)
        )
        return [_payment(row) for row in rows]

    async def record_event(self, payment_id: int, event: ProviderEvent) -> Payment | None:
        # The row goes in first: a concurrent copy of the same key waits on it, then inserts nothing and
        # locks nothing. The payment is locked after its event, as it is now (re-read after any wait).
        recorded = (
            insert(_events)
            .values(
                payment_id=payment_id,
                provider=event.provider,
                event_key=EventKey.ledger(event.provider, payment_id, event.key),
                kind=event.kind,
                payload=event.payload,
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_key"])
            .returning(_events.c.payment_id)
            .cte("recorded")
        )
        query = (
            select(*_PAYMENT_COLUMNS)
            .join_from(_payments, recorded, recorded.c.payment_id == _payments.c.id)
            .with_for_update(of=_payments)
        )
        found = (await self.session.execute(query)).first()
        return _payment(found) if found else None

    async def update(
        self, payment_id: int, *, status: PaymentStatus | None = None, flag: bool = False, check_now: bool = False
    ) -> None:
        values: dict[str, object] = {}
        if status is not None:
            values.update(status=status.value, version=_payments.c.version + 1, updated_at=func.now())
        if flag:
            values["needs_review"] = True
        if check_now:
            values["next_check_at"] = func.now()
        if values:
            await self.session.execute(update(_payments).where(_payments.c.id == payment_id).values(values))

    async def claim_due(self, limit: int, policy: CheckPolicy) -> list[DueCheck]:
        rows = (
            await self.session.scalars(
                select(t.Payment)
                .where(t.Payment.status == PaymentStatus.PENDING.value, t.Payment.next_check_at <= func.now())
                .order_by(t.Payment.next_check_at)
                .limit(limit)
                .with_for_update(skip_locked=True)  # several workers share the work
            )
        ).all()
        claimed = []
        for row in rows:
            age = timedelta(
                seconds=float(await self.session.scalar(select(func.extract("epoch", func.now() - row.created_at))))
            )
            claimed.append(DueCheck(_payment(row), row.check_attempts, age))
            row.next_check_at = func.now() + policy.next_check_in(row.check_attempts, age)
            row.check_attempts += 1
        await self.session.flush()
        return claimed

    async def recipient(self, payment_id: int) -> PaymentRecipient | None:
        row = (
            await self.session.execute(
                select(t.Customer.external_id, t.Order.number, t.Payment.status, t.Payment.customer_told_at)
                .join(t.Order, t.Order.id == t.Payment.order_id)
                .join(t.Customer, t.Customer.id == t.Order.customer_id)
                .where(t.Payment.id == payment_id)
            )
        ).first()
        return PaymentRecipient(row[0], row[1], PaymentStatus(row[2]), row[3] is not None) if row else None

    async def mark_told(self, payment_id: int) -> None:
        told = update(t.Payment).where(t.Payment.id == payment_id, t.Payment.customer_told_at.is_(None))
        await self.session.execute(told.values(customer_told_at=func.now()))

    async def by_id(self, payment_id: int) -> Payment | None:
        row = await self.session.get(t.Payment, payment_id)
        return _payment(row) if row else None

    async def lock_of_order(self, order_id: int) -> list[Payment]:
        query = select(*_PAYMENT_COLUMNS).where(_payments.c.order_id == order_id).order_by(_payments.c.id)
        return [_payment(row) for row in await self.session.execute(query.with_for_update())]


class RejectedMessages:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep(self, message: Rejected, caps: RejectCaps) -> bool:
        if not message.signed:
            hour = func.date_trunc("hour", func.now())
            # The address's count, then everyone's: always in this order, and each an atomic increment.
            for address, cap in ((message.source_address[:64], caps.per_address_per_hour), ("*", caps.per_hour)):
                received = await self.session.scalar(
                    insert(t.RejectedMessageCount)
                    .values(hour=hour, source_address=address, received=1)
                    .on_conflict_do_update(
                        index_elements=["hour", "source_address"],
                        set_={"received": t.RejectedMessageCount.received + 1},
                    )
                    .returning(t.RejectedMessageCount.received)
                )
                if received > cap:
                    return False
        await self.session.execute(
            insert(t.RejectedMessage).values(
                provider=message.provider, reason=message.reason, signed=message.signed,
                source_address=message.source_address[:64], tenant_id=message.tenant_id,
                reference=message.reference[:128], payload=message.payload,
            )
        )  # fmt: skip
        return True


class Handoffs:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def request(self, tenant_id: int, conversation_id: str, customer_text: str) -> None:
        """Note a conversation as waiting for a person; asking twice keeps the first request."""
        await self.session.execute(
            insert(t.Handoff)
            .values(tenant_id=tenant_id, conversation_id=conversation_id, reason=customer_text)
            .on_conflict_do_nothing(
                index_elements=["tenant_id", "conversation_id"], index_where=t.Handoff.resolved_at.is_(None)
            )
        )

    async def waiting(self, handoff_id: int) -> Handoff | None:
        row = await self.session.get(t.Handoff, handoff_id)
        if row is None or row.resolved_at is not None:
            return None
        return Handoff(row.id, row.tenant_id, row.conversation_id)

    async def resolve(self, handoff_id: int, staff_user_id: int) -> None:
        await self.session.execute(
            update(t.Handoff)
            .where(t.Handoff.id == handoff_id, t.Handoff.resolved_at.is_(None))
            .values(resolved_at=func.now(), resolved_by=staff_user_id)
        )


class Staff:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, tenant_id: int, email: str, name: str, password_hash: str, role: str | None = None) -> None:
        values = {"password_hash": password_hash, "name": name, "active": True} | ({"role": role} if role else {})
        await self.session.execute(
            insert(t.StaffUser)
            .values(tenant_id=tenant_id, email=email, **values)
            .on_conflict_do_update(index_elements=["email"], set_=values, where=t.StaffUser.tenant_id == tenant_id)
        )

    async def active(self, email: str) -> StaffAccount | None:
        row = (
            await self.session.execute(
                select(t.StaffUser, t.Tenant.name)
                .join(t.Tenant, t.Tenant.id == t.StaffUser.tenant_id)
                .where(func.lower(t.StaffUser.email) == email, t.StaffUser.active)
            )
        ).first()
        if row is None:
            return None
        user, tenant_name = row
        return StaffAccount(user.id, user.tenant_id, tenant_name, user.email, user.name, user.password_hash, user.role)

    async def replace_password_hash(self, user_id: int, old_hash: str, new_hash: str) -> None:
        await self.session.execute(
            update(t.StaffUser)
            .where(t.StaffUser.id == user_id, t.StaffUser.password_hash == old_hash)
            .values(password_hash=new_hash)
        )


class Audit:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def write(self, staff: StaffMember, action: str, subject: str, reason: str = "", **details: object) -> None:
        await self.session.execute(
            insert(t.AuditEntry).values(
                tenant_id=staff.tenant_id, staff_user_id=staff.user_id, action=action, subject=subject,
                reason=reason, details=details,
            )
        )  # fmt: skip
