"""Fulfilment, for staff: a paid order is packed, goes out for delivery and is delivered, or is cancelled
with a reason. Each step is checked against the staff member's shop and, in one transaction, changes the
order, writes the audit log (who, what, why) and queues the customer's message; cancelling puts the
stock back and flags the order's received money for a refund (the payments needing review)."""

from __future__ import annotations

from dataclasses import dataclass, field

from actions.commerce import orders
from actions.commerce.errors import NotFound, Refused
from actions.commerce.model import Order, OrderNotice, OrderStatus, is_order_number
from actions.commerce.payments import PROMPT_PROVIDERS, PaymentStatus
from actions.commerce.ports import StaffMember, UnitOfWork

# The way forward; a step may be skipped (an order collected at the shop is delivered once paid).
FORWARD = (OrderStatus.PAID, OrderStatus.PACKED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED)
CANCELLABLE = frozenset({OrderStatus.PENDING_PAYMENT, *FORWARD[:-1]})  # not once delivered
STEPS = (*FORWARD[1:], OrderStatus.CANCELLED)  # what staff can move an order to
MIN_REASON = 5
MAX_REASON = 300  # the customer reads it in the chat
MAX_BULK = 100


def refusal(current: OrderStatus, to: OrderStatus) -> str | None:
    """Why an order in `current` cannot move to `to`; None when it can."""
    if to not in STEPS:
        return f"{_words(to)} is not a step staff can set"
    if to is OrderStatus.CANCELLED:
        return None if current in CANCELLABLE else f"it is {_words(current)} and can no longer be cancelled"
    if current not in FORWARD:
        return f"it is {_words(current)}: only a paid order moves on"
    if FORWARD.index(to) <= FORWARD.index(current):
        return f"it is {_words(current)} already"
    return None


def _words(status: OrderStatus) -> str:
    return status.value.replace("_", " ")


@dataclass
class Moved:
    """What a bulk change did: the orders moved, and the ones left as they were with why."""

    moved: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def summary(self, to: OrderStatus) -> str:
        done = f"{len(self.moved)} order(s) marked {_words(to)}" + (f": {', '.join(self.moved)}" if self.moved else "")
        if not self.refused:
            return f"{done}. Each customer is told in the chat."
        left = "; ".join(f"{number}: {why}" for number, why in self.refused)
        return f"{done}. Not changed: {left}."


def checked_reason(to: OrderStatus, reason: str) -> str:
    """The reason, tidied; Refused when a cancellation has none or it is too long for the chat."""
    reason = " ".join(reason.split())
    if to is OrderStatus.CANCELLED and len(reason) < MIN_REASON:
        raise Refused("Say why the order is cancelled (the customer is told).")
    if len(reason) > MAX_REASON:
        raise Refused(f"Keep the reason under {MAX_REASON} characters: the customer reads it in the chat.")
    return reason


async def move(uow: UnitOfWork, staff: StaffMember, number: str, to: OrderStatus, reason: str = "") -> Order:
    """Move one of the shop's orders to the next step (or cancel it); Refused, and nothing changed, when it
    cannot; NotFound for an order of another shop or none."""
    reason = checked_reason(to, reason)
    number = number.strip().upper()
    if not is_order_number(number):  # not asked of the database: a NUL or a lone surrogate would fail there
        raise NotFound(f"order {number.encode('ascii', 'backslashreplace').decode()[:20]}")
    async with uow:
        found = await uow.orders.of_shop(staff.tenant_id, number)
        if found is None:
            raise NotFound(f"order {number}")
        if (why := refusal(found.status, to)) is not None:
            raise Refused(f"Order {found.number} was not changed: {why}.")
        notice = OrderNotice(to.value)
        if to is OrderStatus.CANCELLED:
            notice = await _cancel(uow, staff, found, reason)
        elif not await uow.orders.move(found.id, found.status, to):
            raise Refused(f"Order {found.number} was not changed: it changed meanwhile; reload the page.")
        await uow.audit.write(staff, f"order_{to.value}", f"order:{found.number}", reason, was=found.status.value)
        await uow.outbox.tell_order(found, notice, reason)
        await uow.commit()
        return Order(found.id, found.number, to, found.total, found.lines, found.delivery_location, found.created_at)


async def _cancel(uow: UnitOfWork, staff: StaffMember, found: Order, reason: str) -> OrderNotice:
    """The order's payments are locked before the order, as settlement locks them (no deadlock); its
    status is read again once locked. Money already received is flagged for a refund."""
    payments = await uow.payments.lock_of_order(found.id)
    order = await uow.orders.get(found.id, for_update=True)
    if order is None or order.status is not found.status:
        raise Refused(f"Order {found.number} was not changed: it changed meanwhile; reload the page.")
    if order.status is OrderStatus.PENDING_PAYMENT and any(
        p.provider in PROMPT_PROVIDERS and p.status is PaymentStatus.PENDING for p in payments
    ):
        raise Refused(
            f"Order {found.number} was not changed: an M-Pesa prompt for it is still open on the customer's "
            "phone. Try again in a few minutes."
        )
    await orders.give_back(uow, order, OrderStatus.CANCELLED)
    received = [p for p in payments if p.status is PaymentStatus.PAID]
    for payment in received:
        await uow.payments.update(payment.id, flag=True)
        await uow.audit.write(staff, "refund_needed", f"payment:{payment.id}", reason, order=found.number)
    return OrderNotice.CANCELLED_REFUND if received else OrderNotice.CANCELLED


async def move_many(
    uow: UnitOfWork, staff: StaffMember, numbers: list[str], to: OrderStatus, reason: str = ""
) -> Moved:
    """The same step for several orders, each in its own transaction: the ones that cannot move are
    listed with why, and do not hold back the others."""
    wanted = list(dict.fromkeys(n.strip().upper() for n in numbers if n.strip()))
    if not wanted:
        raise Refused("Tick at least one order.")
    if len(wanted) > MAX_BULK:
        raise Refused(f"At most {MAX_BULK} orders at once.")
    checked_reason(to, reason)  # a missing reason refuses them all, before any changes
    result = Moved()
    for number in wanted:
        try:
            await move(uow, staff, number, to, reason)
        except NotFound:
            shown = number.encode("ascii", "backslashreplace").decode()  # whatever was sent, printable
            result.refused.append((shown[:20], "no such order"))
        except Refused as e:
            result.refused.append((number, str(e).split(": ", 1)[-1].rstrip(".")))
        else:
            result.moved.append(number)
    return result
