"""Abandoned-cart reminders: who is due, the sweep and the job over the in-memory fakes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from actions.commerce import cart, reminders
from actions.commerce.errors import Refused
from actions.commerce.reminders import IdleCart, ReminderSettings, due
from tests.fakes import FakeConversations
from tests.unit.shop_world import World

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TWO_HOURS = timedelta(hours=2)


def idle(quiet: timedelta, *, changed: timedelta | None = None, **changes) -> IdleCart:
    """A cart whose customer last wrote `quiet` ago and whose lines changed `changed` ago (the same by default)."""
    heard = NOW - quiet
    cart_changed = NOW - (changed if changed is not None else quiet)
    return replace(IdleCart(1, 3, "254700000001", "sw", TWO_HOURS, cart_changed, heard), **changes)


@pytest.mark.parametrize(
    ("cart", "is_due"),
    [
        (idle(timedelta(hours=2)), True),
        (idle(timedelta(hours=2, minutes=-1)), False),  # the delay is not over
        (idle(timedelta(hours=5), changed=timedelta(minutes=20)), False),  # the cart changed 20 minutes ago
        (idle(timedelta(minutes=20), changed=timedelta(hours=5)), False),  # the customer wrote 20 minutes ago
        (idle(timedelta(hours=23, minutes=29)), True),  # the window is still open for 31 minutes
        (idle(timedelta(hours=23, minutes=30)), False),  # too close to the end of the 24-hour window
        (idle(timedelta(hours=30)), False),  # the window closed
        (idle(timedelta(hours=3), reminded_version=3), False),  # this version was reminded of
        (idle(timedelta(hours=3), reminded_version=2), True),  # an earlier version was; the customer came back
        (idle(timedelta(hours=3), opted_out=True), False),
        (idle(timedelta(hours=3), last_message_at=None), False),  # never heard from: no window known
    ],
)
def test_who_is_due_for_a_reminder(cart, is_due):
    assert due(cart, NOW) is is_due


@pytest.mark.parametrize("delay", [timedelta(minutes=9), timedelta(hours=23, minutes=1), timedelta(0)])
def test_a_delay_that_cannot_fit_in_the_window_is_refused(delay):
    with pytest.raises(Refused):
        ReminderSettings(True, delay)


async def reminded_world(language: str = "en") -> World:
    w = World()
    w.uow.now = NOW - timedelta(hours=3)
    await cart.add(w.uow, w.who, "SUGAR-1KG", 2)
    await reminders.heard_from(w.uow, w.who, NOW - timedelta(hours=3), language)
    await reminders.change_settings(w.uow, w.staff, ReminderSettings(True, TWO_HOURS))
    return w


async def test_the_sweep_queues_one_reminder_per_cart_version_and_the_job_sends_it_once_in_their_language():
    w = await reminded_world("sw")
    assert await reminders.sweep(w.uow, NOW) == 1
    assert await reminders.sweep(w.uow, NOW + timedelta(minutes=1)) == 0
    [(cart_id, version)] = w.uow.committed.reminders_queued

    conversations = FakeConversations()
    assert await reminders.remind(w.uow, conversations, cart_id, version, NOW) is True
    assert await reminders.remind(w.uow, conversations, cart_id, version, NOW) is False  # the job ran again
    assert conversations.reminders == [(w.who.external_id, "sw")]
    assert w.uow.committed.audit[-1].action == "cart_reminders"


async def test_a_cart_changed_after_the_sweep_is_not_reminded_of_by_the_old_job():
    w = await reminded_world()
    await reminders.sweep(w.uow, NOW)
    [(cart_id, version)] = w.uow.committed.reminders_queued
    await cart.add(w.uow, w.who, "SUGAR-1KG", 1)
    conversations = FakeConversations()
    assert await reminders.remind(w.uow, conversations, cart_id, version, NOW) is False
    assert conversations.reminders == []


async def test_nobody_is_reminded_while_the_shop_has_reminders_off_or_after_they_said_stop():
    w = await reminded_world()
    await reminders.change_settings(w.uow, w.staff, ReminderSettings(False, TWO_HOURS))
    assert await reminders.sweep(w.uow, NOW) == 0
    await reminders.change_settings(w.uow, w.staff, ReminderSettings(True, TWO_HOURS))
    await reminders.stop(w.uow, w.who, NOW - timedelta(hours=1))
    assert await reminders.sweep(w.uow, NOW) == 0


async def test_a_reminder_that_waited_past_the_window_is_not_sent():
    w = await reminded_world()
    await reminders.sweep(w.uow, NOW)
    [(cart_id, version)] = w.uow.committed.reminders_queued
    conversations = FakeConversations()
    assert await reminders.remind(w.uow, conversations, cart_id, version, NOW + timedelta(hours=21)) is False
    assert conversations.reminders == []
