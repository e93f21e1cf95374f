"""Abandoned-cart reminders: a shop may switch on one reminder of a cart left with items, sent a chosen
delay after the customer went quiet and only inside WhatsApp's 24-hour window (a message outside it
would need a paid template, and a reminder is marketing). One per cart version, even with several
workers: the sweep claims the version on the cart row in the transaction that queues the job. A
customer who says they want no more is never reminded again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from actions.commerce.errors import Refused
from actions.commerce.model import CustomerRef
from actions.commerce.ports import Conversations, StaffMember, UnitOfWork
from actions.commerce.shops import identify

WINDOW = timedelta(hours=24)  # WhatsApp: free-form messages only this long after the customer's last one
MARGIN = timedelta(minutes=30)  # room for the worker's poll and Rasa's retries before the window closes
SHORTEST = timedelta(minutes=10)
LONGEST = WINDOW - MARGIN - timedelta(minutes=30)  # 23 hours: a longer delay would never fit in the window
SWEEP_LIMIT = 500


@dataclass(frozen=True)
class ReminderSettings:
    on: bool = False
    delay: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        if not SHORTEST <= self.delay <= LONGEST:
            raise Refused(f"the delay must be between {minutes(SHORTEST)} and {minutes(LONGEST)} minutes")


def minutes(delay: timedelta) -> int:
    return int(delay.total_seconds() // 60)


@dataclass(frozen=True)
class IdleCart:
    """A cart with items of a shop that has reminders on, as the sweep (and the job, again) sees it."""

    cart_id: int
    version: int
    conversation_id: str
    language: str | None
    delay: timedelta
    changed_at: datetime
    last_message_at: datetime | None
    reminded_version: int | None = None
    sent: bool = False  # Rasa took the reminder of `reminded_version`
    opted_out: bool = False


def may_remind(cart: IdleCart, now: datetime) -> bool:
    """The customer is quiet for the shop's delay, neither the cart nor the customer has changed since,
    the 24-hour window is open long enough, and they did not ask for no reminders."""
    if cart.opted_out or cart.last_message_at is None:
        return False
    quiet_since = max(cart.changed_at, cart.last_message_at)
    return now - quiet_since >= cart.delay and now - cart.last_message_at < WINDOW - MARGIN


def due(cart: IdleCart, now: datetime) -> bool:
    """Who the sweep queues a reminder for: this version was never reminded of."""
    return cart.reminded_version != cart.version and may_remind(cart, now)


async def sweep(uow: UnitOfWork, now: datetime) -> int:
    """Queue one reminder for each cart that is due; the reminders queued."""
    queued = 0
    async with uow:
        for cart in await uow.reminders.idle_carts(now - WINDOW + MARGIN, SWEEP_LIMIT):
            if due(cart, now) and await uow.reminders.claim(cart.cart_id, cart.version):
                await uow.outbox.remind_cart(cart.cart_id, cart.version)
                queued += 1
        await uow.commit()
    return queued


async def remind(uow: UnitOfWork, conversations: Conversations, cart_id: int, version: int, now: datetime) -> bool:
    """The job: remind the customer if it is still right to (same cart version, still quiet, window open,
    not opted out, not told yet). Noted as sent after Rasa took it, so a job run twice reminds once."""
    async with uow:
        cart = await uow.reminders.cart(cart_id)
    if cart is None or cart.version != version or cart.reminded_version != version or cart.sent:
        return False
    if not may_remind(cart, now):
        return False
    await conversations.cart_reminder(cart.conversation_id, cart.language)  # ConversationsUnreachable: retried
    async with uow:
        await uow.reminders.mark_sent(cart_id, version)
        await uow.commit()
    return True


async def heard_from(uow: UnitOfWork, who: CustomerRef, at: datetime, language: str | None) -> None:
    """The customer wrote (the action server notes every message): their window opens again."""
    async with uow:
        _, customer_id = await identify(uow, who)
        await uow.reminders.heard_from(customer_id, at, language)
        await uow.commit()


async def stop(uow: UnitOfWork, who: CustomerRef, at: datetime) -> None:
    """No more reminders for this customer of this shop."""
    async with uow:
        _, customer_id = await identify(uow, who)
        await uow.reminders.opt_out(customer_id, at)
        await uow.commit()


async def settings_of(uow: UnitOfWork, tenant_id: int) -> ReminderSettings:
    async with uow:
        return await uow.reminders.settings(tenant_id)


async def change_settings(uow: UnitOfWork, staff: StaffMember, wanted: ReminderSettings) -> None:
    async with uow:
        await uow.reminders.save_settings(staff.tenant_id, wanted)
        await uow.audit.write(
            staff, "cart_reminders", f"shop:{staff.tenant_id}", on=wanted.on, delay_minutes=minutes(wanted.delay)
        )
        await uow.commit()
