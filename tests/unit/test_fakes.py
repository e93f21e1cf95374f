"""The fakes keep up with the ports, and the fake unit of work is a transaction."""

import inspect

import pytest

from actions.commerce import ports
from actions.commerce.payments import PaymentStatus, ProviderEvent
from tests.fakes import (
    FakeConversations,
    FakeConversationSource,
    FakeProvider,
    FakeProviders,
    FakeUnitOfWork,
)
from tests.unit.shop_world import World

REPOSITORIES = {
    "tenants": ports.Tenants,
    "customers": ports.Customers,
    "catalog": ports.Catalog,
    "carts": ports.Carts,
    "orders": ports.Orders,
    "payments": ports.Payments,
    "rejected": ports.RejectedMessages,
    "handoffs": ports.Handoffs,
    "canned_replies": ports.CannedReplies,
    "staff": ports.Staff,
    "shop_staff": ports.ShopStaff,
    "invites": ports.StaffInvites,
    "payment_accounts": ports.PaymentAccounts,
    "audit": ports.Audit,
    "reminders": ports.Reminders,
    "outbox": ports.Outbox,
}


def methods(protocol: type) -> dict[str, list[tuple[str, object, object]]]:
    """Each method of a protocol with its parameters (name, kind, default)."""
    found = {}
    for name, member in inspect.getmembers(protocol, inspect.isfunction):
        if not name.startswith("_"):
            found[name] = [(p.name, p.kind, p.default) for p in inspect.signature(member).parameters.values()]
    return found


def test_every_port_of_the_unit_of_work_is_faked():
    assert set(REPOSITORIES) == set(ports.UnitOfWork.__annotations__)


@pytest.mark.parametrize("attribute", sorted(REPOSITORIES))
def test_each_fake_repository_has_every_method_of_its_port_with_the_same_parameters(attribute):
    fake = type(getattr(FakeUnitOfWork(), attribute))
    wanted = methods(REPOSITORIES[attribute])
    assert {name: params for name, params in methods(fake).items() if name in wanted} == wanted


@pytest.mark.parametrize(
    ("fake", "port"),
    [
        (FakeProvider, ports.PaymentProvider),
        (FakeProviders, ports.PaymentProviders),
        (FakeConversations, ports.Conversations),
        (FakeConversationSource, ports.ConversationSource),
    ],
)
def test_the_fakes_beyond_storage_have_every_method_of_their_port(fake, port):
    wanted = methods(port)
    assert {name: params for name, params in methods(fake).items() if name in wanted} == wanted


async def test_changes_are_seen_by_later_transactions_only_once_committed():
    uow = FakeUnitOfWork()
    async with uow:
        await uow.tenants.ensure("kiosk", "Kiosk", "KES")
    async with uow:
        assert await uow.tenants.by_slug("kiosk") is None
        await uow.tenants.ensure("kiosk", "Kiosk", "KES")
        await uow.commit()
    async with uow:
        assert (await uow.tenants.by_slug("kiosk")).name == "Kiosk"


async def test_leaving_the_block_on_an_error_rolls_back_what_followed_the_last_commit():
    uow = FakeUnitOfWork()
    shop = uow.add_shop()
    uow.add_product(shop, "EGGS", "Eggs", 100, stock=5)
    eggs = uow.committed.product("EGGS").id
    with pytest.raises(RuntimeError):
        async with uow:
            assert await uow.catalog.reserve(eggs, 1)
            await uow.commit()
            assert await uow.catalog.reserve(eggs, 2)
            raise RuntimeError("boom")
    assert uow.stock("EGGS") == 4


async def test_the_repositories_refuse_to_work_outside_a_transaction():
    uow = FakeUnitOfWork()
    with pytest.raises(RuntimeError, match="async with"):
        await uow.tenants.by_slug("demo-shop")


async def test_a_repeated_event_key_is_refused_by_the_fake_ledger_as_by_the_real_one():
    w = World()
    _, payment = await w.pending_payment()
    _, other = await w.pending_payment()
    event = ProviderEvent("mpesa", "callback:0", payment.reference, PaymentStatus.PAID, "stk_callback")
    async with w.uow as uow:
        assert await uow.payments.record_event(payment.id, event) == payment
        assert await uow.payments.record_event(payment.id, event) is None
        assert await uow.payments.record_event(other.id, event) == other  # the key names its payment
        assert await uow.payments.record_event(
            payment.id, ProviderEvent("paystack", event.key, "r", event.outcome, "w")
        )
        await uow.commit()
    assert [e.key for e in w.uow.committed.events] == [
        f"mpesa:callback:{payment.id}:0",
        f"mpesa:callback:{other.id}:0",
        f"paystack:callback:{payment.id}:0",
    ]
