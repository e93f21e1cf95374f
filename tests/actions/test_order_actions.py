"""'Where is my order?' and the shop's news of an order, from tracker fixtures on the real database."""

import pytest
from rasa_sdk.events import SlotSet

from actions.chat.orders import ActionOrderStatus, ActionOrderUpdate
from actions.commerce import cart, fulfilment, orders, payment_requests, settlement
from actions.commerce.model import CustomerRef, OrderStatus
from actions.commerce.payments import PaymentStatus, ProviderEvent
from actions.commerce.ports import StaffMember
from actions.db import tables as t

WHO = CustomerRef("demo-shop", "254711000111")  # the fixtures' sender


async def paid_order(rt):
    await cart.add(rt.uow(), WHO, "SUGAR-1KG", 1)
    order = await orders.place(rt.uow(), WHO, "Kilimani")
    payment = await payment_requests.start(rt.uow(), order.id, "mpesa", f"ws_CO_{order.number}", order.total, None)
    event = ProviderEvent("mpesa", "query:0", payment.reference, PaymentStatus.PAID, "reconciliation", order.total)
    await settlement.record(rt.uow(), event)
    return order


async def staff_of(rt) -> StaffMember:
    async with rt.sessions() as session, session.begin():
        tenant_id = await session.scalar(t.Tenant.__table__.select().with_only_columns(t.Tenant.id))
        user = t.StaffUser(tenant_id=tenant_id, email="amina@demo.example", name="Amina", password_hash="x")
        session.add(user)
        await session.flush()
        return StaffMember(user.id, tenant_id, user.email)


@pytest.mark.parametrize(
    ("language", "step", "words"),
    [
        ("en", OrderStatus.PACKED, "packed, ready to go"),
        ("en", OrderStatus.OUT_FOR_DELIVERY, "on its way to you"),
        ("en", OrderStatus.DELIVERED, "delivered"),
        ("sw", OrderStatus.OUT_FOR_DELIVERY, "iko njiani kukufikia"),
        ("sw", OrderStatus.DELIVERED, "imefikishwa"),
    ],
)
async def test_where_is_my_order_says_the_step_in_the_customers_language(
    shop, tracker, dispatcher, language, step, words
):
    order = await paid_order(shop)
    await fulfilment.move(shop.uow(), await staff_of(shop), order.number, step)
    asking = tracker("show_products", slots={"language": language}, text="where is my order?")
    assert await ActionOrderStatus().run(dispatcher, asking, {}) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_orders"
    assert f"{order.number} — KES 180 — {words}" in message["orders"]


async def test_the_shops_news_of_an_order_is_its_steps_reply(shop, tracker, dispatcher):
    entities = [
        {"entity": "order_number", "value": "K7QX2M"},
        {"entity": "order_status", "value": "delivered"},
        {"entity": "reason", "value": ""},
    ]
    told = tracker("show_products", entities=entities)
    assert await ActionOrderUpdate().run(dispatcher, told, {}) == [SlotSet("order_number", "K7QX2M")]
    assert [(m["response"], m["number"]) for m in dispatcher.messages] == [("utter_order_delivered", "K7QX2M")]


async def test_a_cancellation_by_the_shop_carries_its_reason(shop, tracker, dispatcher):
    entities = [
        {"entity": "order_number", "value": "K7QX2M"},
        {"entity": "order_status", "value": "cancelled_refund"},
        {"entity": "reason", "value": "out of delivery range."},
    ]
    await ActionOrderUpdate().run(dispatcher, tracker("show_products", entities=entities), {})
    [message] = dispatcher.messages
    assert (message["response"], message["reason"]) == ("utter_order_cancelled_refund", "out of delivery range")


async def test_news_of_a_kind_this_version_does_not_know_says_where_the_order_is(shop, tracker, dispatcher):
    order = await paid_order(shop)
    entities = [{"entity": "order_number", "value": order.number}, {"entity": "order_status", "value": "lost"}]
    await ActionOrderUpdate().run(dispatcher, tracker("show_products", entities=entities), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_orders" and f"{order.number} — KES 180 — paid" in message["orders"]
