"""The `commerce` schema as SQLAlchemy models. Alembic owns the real schema; a test keeps the two equal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA = "commerce"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STAFF_ROLES = ("operator", "owner", "staff")

metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _currency() -> Mapped[str]:
    return mapped_column(String(3))


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("cart_reminder_minutes BETWEEN 10 AND 1380", name="cart_reminder_minutes_in_window"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = _currency()
    whatsapp_phone_number_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The shop's half of its M-Pesa callback URLs (`<tenant id>.<secret>/<payment nonce>`); callbacks are
    # unsigned. After a rotation the previous secret is still admitted, for the payments asked for before.
    mpesa_callback_secret: Mapped[str | None] = mapped_column(String(64))
    mpesa_callback_secret_previous: Mapped[str | None] = mapped_column(String(64))
    mpesa_callback_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # sha256 of the order API token
    # One reminder of a cart left with items, this long after the customer went quiet (commerce/reminders.py).
    cart_reminders: Mapped[bool] = mapped_column(server_default=text("false"))
    cart_reminder_minutes: Mapped[int] = mapped_column(Integer, server_default="120")
    created_at: Mapped[datetime] = _created_at()


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    # The customer's latest message (WhatsApp's 24-hour window runs from it), and their "no more reminders".
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        Index("ix_products_tenant_id_category_id", "tenant_id", "category_id"),
        Index("ix_products_tenant_id_lower_name", "tenant_id", text("lower(name)")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = _currency()
    stock: Mapped[int] = mapped_column(Integer)
    image_url: Mapped[str | None] = mapped_column(String(500))
    # Other names customers use ("sukari", "maziwa", a brand alone), matched like the name.
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    category: Mapped[Category] = relationship(lazy="raise")


class Cart(Base):
    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    # Up by one with every change of its lines; a reminder is queued once per version (reminded_version)
    # and noted when Rasa took it (reminder_sent_at), so a job run twice reminds once.
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    reminded_version: Mapped[int | None] = mapped_column(Integer)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True)
    quantity: Mapped[int] = mapped_column(Integer)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint(
            "status IN ('pending_payment', 'paid', 'packed', 'out_for_delivery', 'delivered', 'cancelled', 'expired')",
            name="status_known",
        ),
        Index("ix_orders_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_orders_customer_id_created_at", "customer_id", "created_at"),
        Index("ix_orders_tenant_id_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = _currency()
    delivery_location: Mapped[str | None] = mapped_column(String(500))
    # The last step the customer was told of in the chat (packed, delivered…): a job delivered twice tells once.
    customer_told_status: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    items: Mapped[list[OrderItem]] = relationship(lazy="raise", order_by="OrderItem.id")


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = _currency()
    quantity: Mapped[int] = mapped_column(Integer)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_reference"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("provider IN ('mpesa', 'paystack')", name="provider_known"),
        CheckConstraint("status IN ('pending', 'paid', 'failed', 'cancelled', 'expired')", name="status_known"),
        Index("ix_payments_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_payments_status_created_at", "status", "created_at"),
        Index("ix_payments_status_next_check_at", "status", "next_check_at"),
        Index("ix_payments_needing_review", "tenant_id", postgresql_where=text("needs_review")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_reference: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = _currency()
    phone: Mapped[str | None] = mapped_column(String(20))
    # This payment's own secret in its M-Pesa callback URL (None: card payments, and older ones).
    callback_nonce: Mapped[str | None] = mapped_column(String(64))
    # The shop's own account it was asked with (None: the platform's); checks and webhooks use the same.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("payment_accounts.id", ondelete="RESTRICT"))
    needs_review: Mapped[bool] = mapped_column(server_default=text("false"))
    # When the customer's message about how it ended reached Rasa: a job delivered twice tells them once.
    customer_told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Reconciliation: how often the provider was asked, and when to ask next.
    check_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class PaymentEvent(Base):
    """Every provider outcome about a payment of ours, once, under a key naming the payment
    (`mpesa:callback:<payment id>:<code>`). Append-only: a trigger refuses UPDATE and DELETE.
    (Rows from before revision 0006 may have no payment: unknown and forged messages now go to
    rejected_messages.)"""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = _created_at()


class StaffUser(Base):
    """A merchant's staff member, who signs in to the admin pages and sees only that merchant."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(f"role IN {STAFF_ROLES}", name="role_known"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    # operator: platform staff (creates shops); owner: manages the shop's staff and payment accounts.
    role: Mapped[str] = mapped_column(String(16), server_default=text("'staff'"))
    created_at: Mapped[datetime] = _created_at()


class StaffInvite(Base):
    """A one-time link for a new staff member to set their password; only the token's SHA-256 is kept."""

    __tablename__ = "staff_invites"
    __table_args__ = (CheckConstraint(f"role IN {STAFF_ROLES}", name="role_known"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created_at()


class PaymentAccount(Base):
    """A shop's own M-Pesa till or paybill, or Paystack key. `secrets` is one Fernet token (SHOP_SECRETS_KEY)
    of a JSON object; `settings` holds what is not secret (shortcode, till or paybill) and the secrets'
    last characters for the pages. Never updated but to deactivate: payments keep the row they used."""

    __tablename__ = "payment_accounts"
    __table_args__ = (
        CheckConstraint("provider IN ('mpesa', 'paystack')", name="provider_known"),
        Index("ix_payment_accounts_current", "tenant_id", "provider", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"))
    provider: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    secrets: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created_at()


class AuditEntry(Base):
    """What staff did and why ("payment 12 marked verified: M-Pesa SMS QK71..."). Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_id_subject", "tenant_id", "subject"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))  # "payment:12", "order:K7QX2M", "conversation:…"
    reason: Mapped[str] = mapped_column(Text, server_default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = _created_at()


class Handoff(Base):
    """A conversation waiting for a person; resolved when staff hand it back to the bot."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index(
            "ix_handoffs_waiting",
            "tenant_id",
            "conversation_id",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, server_default="")
    requested_at: Mapped[datetime] = _created_at()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    # The staff member who answered the customer last (the inbox shows whose conversation it is).
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class StaffReply(Base):
    """What staff wrote to a customer from the inbox; the worker delivers it through Rasa (delivered_at)."""

    __tablename__ = "staff_replies"
    __table_args__ = (
        Index("ix_staff_replies_conversation_id", "conversation_id"),
        CheckConstraint("length(text) BETWEEN 1 AND 4096", name="text_length"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(String(128))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    staff_name: Mapped[str] = mapped_column(String(200))  # as the customer's conversation shows it
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CannedReply(Base):
    """A shop's ready answer for the inbox, in English and Swahili."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("tenant_id", "title"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(80))
    text_en: Mapped[str] = mapped_column(Text)
    text_sw: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = _created_at()


class RejectedMessage(Base):
    """A provider message the ledger does not take: a forged callback URL, a bad signature, an unreadable
    body, or one about no payment of ours. Unsigned ones are capped per source address and hour."""

    __tablename__ = "rejected_messages"
    __table_args__ = (Index("ix_rejected_messages_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    signed: Mapped[bool] = mapped_column(server_default=text("false"))
    source_address: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[int | None] = mapped_column(BigInteger)  # the shop its URL named, if any (unverified)
    reference: Mapped[str] = mapped_column(String(128), server_default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = _created_at()


class RejectedMessageCount(Base):
    """How many unsigned rejected messages came in an hour, from one address ('*': from all): the caps
    of rejected_messages, and the count of those not kept."""

    __tablename__ = "rejected_message_counts"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    source_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    received: Mapped[int] = mapped_column(Integer)


class CacheChange(Base):
    """One row per transaction that wrote a shop's products, categories, orders or payments, inserted by a
    trigger: inserts take no lock another writer waits for. A shop's cache version is its changes so
    far (cache_bases.changes plus these rows), read in one statement (actions/db/cache.py)."""

    __tablename__ = "cache_changes"
    __table_args__ = (Index("ix_cache_changes_tenant_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)


class CacheBase(Base):
    """A shop's changes folded in by `commerce.compact_cache_changes()` (the worker), and the epoch (the
    clock in milliseconds when the row was made) that keeps keys of a restored or emptied database apart."""

    __tablename__ = "cache_bases"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    changes: Mapped[int] = mapped_column(BigInteger, server_default="0")


class ConversationEvent(Base):
    """A finished conversation session's events, moved here from Redis by bot/stores/tracker.py."""

    __tablename__ = "conversation_events"

    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # the event's place in the whole conversation
    event_type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[float | None] = mapped_column(Float)  # Rasa's timestamp (seconds since 1970)
    event: Mapped[dict[str, Any]] = mapped_column(JSONB)
    archived_at: Mapped[datetime] = _created_at()
