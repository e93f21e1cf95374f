"""The `Reminders` port over an AsyncSession: shops' reminder settings, customers' last messages and
opt-outs, and which version of a cart was reminded of."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from actions.commerce.reminders import IdleCart, ReminderSettings, minutes
from actions.db import tables as t


def _carts() -> Select:
    has_items = exists().where(t.CartItem.cart_id == t.Cart.id)
    return (
        select(
            t.Cart.id,
            t.Cart.version,
            t.Customer.external_id,
            t.Customer.language,
            t.Tenant.cart_reminder_minutes,
            t.Cart.updated_at,
            t.Customer.last_message_at,
            t.Cart.reminded_version,
            t.Cart.reminder_sent_at.is_not(None),
            t.Customer.reminders_off_at.is_not(None),
        )
        .join(t.Customer, t.Customer.id == t.Cart.customer_id)
        .join(t.Tenant, t.Tenant.id == t.Cart.tenant_id)
        .where(t.Tenant.cart_reminders, has_items)
    )


def _idle(row) -> IdleCart:
    cart_id, version, conversation, language, delay, changed, heard, reminded, sent, opted_out = row
    return IdleCart(
        cart_id, version, conversation, language, timedelta(minutes=delay), changed, heard, reminded, sent, opted_out
    )


class Reminders:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def settings(self, tenant_id: int) -> ReminderSettings:
        on, delay = (
            await self.session.execute(
                select(t.Tenant.cart_reminders, t.Tenant.cart_reminder_minutes).where(t.Tenant.id == tenant_id)
            )
        ).one()
        return ReminderSettings(on, timedelta(minutes=delay))

    async def save_settings(self, tenant_id: int, wanted: ReminderSettings) -> None:
        await self.session.execute(
            update(t.Tenant)
            .where(t.Tenant.id == tenant_id)
            .values(cart_reminders=wanted.on, cart_reminder_minutes=minutes(wanted.delay))
        )

    async def idle_carts(self, heard_since: datetime, limit: int) -> list[IdleCart]:
        rows = await self.session.execute(
            _carts()
            .where(
                t.Customer.reminders_off_at.is_(None),
                t.Customer.last_message_at >= heard_since,
                t.Cart.updated_at >= heard_since,  # the cart changed in a turn: never after the last message
                t.Cart.reminded_version.is_distinct_from(t.Cart.version),
            )
            .order_by(t.Cart.updated_at)
            .limit(limit)
        )
        return [_idle(row) for row in rows]

    async def cart(self, cart_id: int) -> IdleCart | None:
        row = (await self.session.execute(_carts().where(t.Cart.id == cart_id))).one_or_none()
        return _idle(row) if row else None

    async def claim(self, cart_id: int, version: int) -> bool:
        claimed = await self.session.execute(
            update(t.Cart)
            .where(t.Cart.id == cart_id, t.Cart.version == version, t.Cart.reminded_version.is_distinct_from(version))
            .values(reminded_version=version, reminder_sent_at=None)
        )
        return claimed.rowcount == 1

    async def mark_sent(self, cart_id: int, version: int) -> None:
        await self.session.execute(
            update(t.Cart)
            .where(t.Cart.id == cart_id, t.Cart.reminded_version == version)
            .values(reminder_sent_at=func.now())
        )

    async def heard_from(self, customer_id: int, at: datetime, language: str | None) -> None:
        values = {"last_message_at": func.greatest(func.coalesce(t.Customer.last_message_at, at), at)}
        if language:
            values["language"] = language
        await self.session.execute(update(t.Customer).where(t.Customer.id == customer_id).values(**values))

    async def opt_out(self, customer_id: int, at: datetime) -> None:
        await self.session.execute(
            update(t.Customer)
            .where(t.Customer.id == customer_id, t.Customer.reminders_off_at.is_(None))
            .values(reminders_off_at=at)
        )
