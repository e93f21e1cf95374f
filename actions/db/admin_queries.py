"""What the admin pages and the order API read, and the audit log they write: always one shop's rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.commerce.money import Money
from actions.db import tables as t
from actions.db.cache import ReadCache

PAGE_SIZE = 25
ORDER_STATUSES = ("pending_payment", "paid", "packed", "out_for_delivery", "delivered", "cancelled", "expired")
PAID_STATUSES = ("paid", "packed", "out_for_delivery", "delivered")  # the money arrived: revenue
PAYMENT_STATUSES = ("pending", "paid", "failed", "cancelled", "expired")
# Ledger events that flag a payment for a person, whatever else they say (see actions.payments.paystack).
REVIEW_KINDS = ("refund.", "charge.dispute.")


def local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    number: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


@dataclass
class Timeline:
    entries: list[tuple[datetime, str, str]] = field(default_factory=list)  # when, what, detail

    def add(self, when: datetime | None, what: str, detail: str = "") -> None:
        if when is not None:
            self.entries.append((when, what, detail))

    def sorted(self, zone: ZoneInfo) -> list[tuple[str, str, str]]:
        return [(local(when, zone), what, detail) for when, what, detail in sorted(self.entries, key=lambda e: e[0])]


async def active_password_hash(session: AsyncSession, user_id: int) -> str | None:
    """The staff member's password hash, while they are active."""
    return await session.scalar(select(t.StaffUser.password_hash).where(t.StaffUser.id == user_id, t.StaffUser.active))


async def sales_summary(
    session: AsyncSession, cache: ReadCache | None, tenant_id: int, zone: ZoneInfo
) -> dict[str, Any]:
    """Orders, revenue (paid orders) and paid against pending, today and over the last 7 days (in the shop's zone)."""
    today = datetime.now(zone).date()

    async def load() -> dict[str, Any]:
        return {"today": await _summary_since(session, tenant_id, today, zone), "week": await _summary_since(
            session, tenant_id, today - timedelta(days=6), zone)}  # fmt: skip

    if cache is None:
        return await load()
    return await cache.fetch(session, tenant_id, f"summary:{today.isoformat()}", load, lambda v: v, lambda v: v)


async def _summary_since(session: AsyncSession, tenant_id: int, first_day: date, zone: ZoneInfo) -> dict[str, Any]:
    since = datetime.combine(first_day, time.min, tzinfo=zone)
    paid = t.Order.status.in_(PAID_STATUSES)
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(t.Order.total_minor).filter(paid), 0),
                func.count().filter(paid),
                func.count().filter(t.Order.status == "pending_payment"),
                func.min(t.Order.currency),
            ).where(t.Order.tenant_id == tenant_id, t.Order.created_at >= since)
        )
    ).one()
    currency = row[4] or await session.scalar(select(t.Tenant.currency).where(t.Tenant.id == tenant_id))
    return {"orders": row[0], "revenue": str(Money(int(row[1]), currency)), "paid": row[2], "pending": row[3]}


async def orders(
    session: AsyncSession,
    tenant_id: int,
    status: str | None,
    day_from: date | None,
    day_to: date | None,
    page: int,
    zone: ZoneInfo,
) -> Page:
    where = [t.Order.tenant_id == tenant_id]
    if status in ORDER_STATUSES:
        where.append(t.Order.status == status)
    if day_from:
        where.append(t.Order.created_at >= datetime.combine(day_from, time.min, tzinfo=zone))
    if day_to:
        where.append(t.Order.created_at < datetime.combine(day_to + timedelta(days=1), time.min, tzinfo=zone))
    total = await session.scalar(select(func.count()).select_from(t.Order).where(*where))
    rows = await session.execute(
        select(t.Order, t.Customer.external_id)
        .join(t.Customer, t.Customer.id == t.Order.customer_id)
        .where(*where)
        .order_by(t.Order.created_at.desc(), t.Order.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Page([(order, customer) for order, customer in rows], page, total or 0)


async def order(session: AsyncSession, tenant_id: int, number: str, zone: ZoneInfo) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(t.Order, t.Customer)
            .join(t.Customer, t.Customer.id == t.Order.customer_id)
            .where(t.Order.tenant_id == tenant_id, t.Order.number == number.upper())
        )
    ).first()
    if row is None:
        return None
    found, customer = row
    items = (await session.scalars(select(t.OrderItem).where(t.OrderItem.order_id == found.id))).all()
    payments = (
        await session.scalars(select(t.Payment).where(t.Payment.order_id == found.id).order_by(t.Payment.id))
    ).all()
    timeline = Timeline()
    timeline.add(found.created_at, "Order placed", f"{len(items)} item(s), {Money(found.total_minor, found.currency)}")
    for payment in payments:
        timeline.add(
            payment.created_at, f"Payment {payment.id} started", f"{payment.provider}, {payment.provider_reference}"
        )
        for event in await _payment_events(session, payment.id):
            timeline.add(event.received_at, f"Payment {payment.id}: {_what(event)}", event.event_key)
    subjects = [f"order:{found.number}", *(f"payment:{p.id}" for p in payments)]
    for entry, who in await _audit(session, tenant_id, subjects):
        timeline.add(entry.created_at, f"Staff: {entry.action} ({who})", entry.reason)
    if found.status != "pending_payment":
        timeline.add(found.updated_at, f"Order {found.status}")
    return {
        "order": found,
        "customer": customer,
        "items": items,
        "payments": payments,
        "needing_review": [p for p in payments if p.needs_review],
        "timeline": timeline.sorted(zone),
    }


def _what(event: t.PaymentEvent) -> str:
    """A ledger event's line in a timeline; the ones that flag the payment stand out."""
    flags = event.kind.startswith(REVIEW_KINDS) or event.event_key.endswith(":verify:reversed")
    return f"⚠ {event.kind}" if flags else event.kind


async def needing_review(session: AsyncSession, tenant_id: int) -> int:
    """How many of the shop's payments are flagged for a person (refunds, disputes, money after the end…)."""
    query = select(func.count()).select_from(t.Payment).where(t.Payment.tenant_id == tenant_id, t.Payment.needs_review)
    return await session.scalar(query) or 0


async def payments(session: AsyncSession, tenant_id: int, status: str | None, page: int, review: bool = False) -> Page:
    where = [t.Payment.tenant_id == tenant_id]
    if status in PAYMENT_STATUSES:
        where.append(t.Payment.status == status)
    if review:
        where.append(t.Payment.needs_review)
    total = await session.scalar(select(func.count()).select_from(t.Payment).where(*where))
    rows = await session.execute(
        select(t.Payment, t.Order.number)
        .join(t.Order, t.Order.id == t.Payment.order_id)
        .where(*where)
        .order_by(t.Payment.created_at.desc(), t.Payment.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Page([(payment, number) for payment, number in rows], page, total or 0)


async def payment(session: AsyncSession, tenant_id: int, payment_id: int, zone: ZoneInfo) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(t.Payment, t.Order.number)
            .join(t.Order, t.Order.id == t.Payment.order_id)
            .where(t.Payment.tenant_id == tenant_id, t.Payment.id == payment_id)
        )
    ).first()
    if row is None:
        return None
    found, number = row
    timeline = Timeline()
    timeline.add(found.created_at, "Payment started", f"{found.provider}, {found.provider_reference}")
    for event in await _payment_events(session, found.id):
        timeline.add(event.received_at, _what(event), event.event_key)
    for entry, who in await _audit(session, tenant_id, [f"payment:{found.id}"]):
        timeline.add(entry.created_at, f"Staff: {entry.action} ({who})", entry.reason)
    return {"payment": found, "order_number": number, "timeline": timeline.sorted(zone)}


async def waiting_for_a_person(session: AsyncSession, tenant_id: int) -> list[t.Handoff]:
    query = select(t.Handoff).where(t.Handoff.tenant_id == tenant_id, t.Handoff.resolved_at.is_(None))
    return list((await session.scalars(query.order_by(t.Handoff.requested_at))).all())


async def _payment_events(session: AsyncSession, payment_id: int) -> list[t.PaymentEvent]:
    query = select(t.PaymentEvent).where(t.PaymentEvent.payment_id == payment_id).order_by(t.PaymentEvent.id)
    return list((await session.scalars(query)).all())


async def _audit(session: AsyncSession, tenant_id: int, subjects: list[str]) -> list[tuple[t.AuditEntry, str]]:
    """The entries about these subjects, each with who wrote it (their e-mail)."""
    query = (
        select(t.AuditEntry, func.coalesce(t.StaffUser.email, "?"))
        .join(t.StaffUser, t.StaffUser.id == t.AuditEntry.staff_user_id, isouter=True)
        .where(t.AuditEntry.tenant_id == tenant_id, t.AuditEntry.subject.in_(subjects))
    )
    return [(entry, who) for entry, who in await session.execute(query.order_by(t.AuditEntry.id))]


async def tenant_by_api_token_hash(session: AsyncSession, token_hash: str) -> t.Tenant | None:
    return await session.scalar(select(t.Tenant).where(t.Tenant.api_token_hash == token_hash))


async def shop_slug(session: AsyncSession, tenant_id: int) -> str:
    """The shop's short name, as conversations carry it (their `tenant` slot)."""
    return await session.scalar(select(t.Tenant.slug).where(t.Tenant.id == tenant_id)) or ""
