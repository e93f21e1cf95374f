"""Moving orders along from the admin pages, over HTTP on a real sidecar, PostgreSQL and Redis: the order
page's buttons, the orders list's bulk step, CSRF, another shop's staff, bad input."""

import secrets
import uuid

import pytest
from sqlalchemy import select, text

from actions.commerce import settlement
from actions.commerce import staff as accounts
from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.commerce.model import CustomerRef
from actions.commerce.payments import PaymentStatus, ProviderEvent
from actions.db import tables as t
from devstack.paths import DEMO_CATALOG
from devstack.processes import start_sidecar
from devstack.services import Services
from tests.sidecar.test_admin import PASSWORD, Staff, pending_payment


@pytest.fixture(scope="module")
def sidecar(services, database_url, redis_key_prefix, tmp_path_factory):
    process = start_sidecar(
        Services(database_url, services.redis_url),
        tmp_path_factory.mktemp("fulfilment-sidecar-logs"),
        env={"ADMIN_REDIS_PREFIX": f"admin{uuid.uuid4().hex[:8]}", "REDIS_KEY_PREFIX": redis_key_prefix},
    )
    yield process
    process.stop()


async def signed_in(sidecar, rt, shop_slug: str = "demo-shop") -> Staff:
    email = f"amina-{secrets.token_hex(3)}@{shop_slug}.example"
    await accounts.set_staff(rt.uow(), shop_slug, email, "Amina", PASSWORD)
    member = Staff(sidecar.url)
    assert (await member.sign_in(email)).status_code == 303
    await member.get("/admin/")
    member.email = email
    return member


@pytest.fixture
async def staff(sidecar, shop):
    member = await signed_in(sidecar, shop)
    yield member
    await member.http.aclose()


async def paid_order(rt, reference: str, who: CustomerRef | None = None) -> str:
    order, payment = await pending_payment(rt, reference, *([who] if who else []))
    event = ProviderEvent("mpesa", "query:0", payment.reference, PaymentStatus.PAID, "reconciliation", order.total)
    await settlement.record(rt.uow(), event)
    return order.number


async def status_of(rt, number: str) -> str:
    async with rt.sessions() as session:
        return await session.scalar(select(t.Order.status).where(t.Order.number == number))


async def order_jobs(rt) -> list[str]:
    query = text("SELECT args->>'notice' FROM procrastinate_jobs WHERE task_name = 'notify_order' ORDER BY id")
    async with rt.engine.connect() as conn:
        return list((await conn.execute(query)).scalars())


async def test_the_order_page_offers_the_next_steps_and_each_button_moves_the_order(shop, staff):
    number = await paid_order(shop, "ws_CO_STEP_1")
    page = (await staff.get(f"/admin/orders/{number}")).text
    assert all(f'id="step-{s}"' in page for s in ("packed", "out_for_delivery", "delivered", "cancelled"))
    moved = await staff.post(f"/admin/orders/{number}/status", to="packed")
    assert moved.status_code == 303 and moved.headers["location"] == f"/admin/orders/{number}"
    page = (await staff.get(f"/admin/orders/{number}")).text
    assert f"Order {number} marked packed" in page and 'id="order-status">— packed<' in page
    assert 'id="step-packed"' not in page and 'id="step-out_for_delivery"' in page
    assert f"Staff: order_packed ({staff.email})" in page
    await staff.post(f"/admin/orders/{number}/status", to="delivered")
    page = (await staff.get(f"/admin/orders/{number}")).text
    assert 'id="order-status">— delivered<' in page and 'class="steps"' not in page
    assert await order_jobs(shop) == ["packed", "delivered"]


async def test_a_step_the_order_cannot_take_is_refused_on_the_page_and_changes_nothing(shop, staff):
    order, _ = await pending_payment(shop, "ws_CO_STEP_2")
    page = (await staff.get(f"/admin/orders/{order.number}")).text
    assert 'id="step-packed"' not in page and 'id="step-cancelled"' in page  # unpaid: only cancelling
    refused = await staff.post(f"/admin/orders/{order.number}/status", to="delivered")
    assert refused.status_code == 303
    assert "only a paid order moves on" in (await staff.get(f"/admin/orders/{order.number}")).text
    assert await status_of(shop, order.number) == "pending_payment" and await order_jobs(shop) == []


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"to": "shipped"}, "Choose packed"),
        ({"to": ""}, "Choose packed"),
        ({"to": "expired"}, "Choose packed"),
        ({"to": "cancelled", "reason": " no "}, "Say why"),
        ({"to": "cancelled", "reason": "x" * 301}, "under 300"),
    ],
)
async def test_bad_input_is_a_400_that_says_why_and_changes_nothing(shop, staff, form, says):
    number = await paid_order(shop, "ws_CO_BAD_1")
    answer = await staff.post(f"/admin/orders/{number}/status", **form)
    assert answer.status_code == 400 and says in answer.text
    bulk = await staff.post("/admin/orders/bulk", order=number, **form)
    assert bulk.status_code == 400 and says in bulk.text
    assert await status_of(shop, number) == "paid" and await order_jobs(shop) == []


async def test_a_form_without_its_csrf_token_changes_nothing(shop, staff):
    number = await paid_order(shop, "ws_CO_CSRF_STEP")
    for path, form in ((f"/admin/orders/{number}/status", {}), ("/admin/orders/bulk", {"order": number})):
        forged = await staff.http.post(path, data={"to": "delivered", **form})
        assert forged.status_code == 403
        forged = await staff.http.post(path, data={"to": "delivered", "csrf": "forged", **form})
        assert forged.status_code == 403
    assert await status_of(shop, number) == "paid"


async def test_staff_of_another_shop_cannot_move_this_shops_orders(shop, sidecar):
    await import_catalog(shop.uow(), "other-shop", "Other Shop", "KES", parse_catalog(DEMO_CATALOG.read_text(), "KES"))
    number = await paid_order(shop, "ws_CO_MINE_STEP")
    theirs = await paid_order(shop, "ws_CO_THEIRS_STEP", CustomerRef("other-shop", "254722000222"))
    other = await signed_in(sidecar, shop, "other-shop")
    try:
        assert (await other.post(f"/admin/orders/{number}/status", to="delivered")).status_code == 404
        bulk = await other.post("/admin/orders/bulk", order=[number, theirs], to="packed")
        assert bulk.status_code == 303
        listing = (await other.get(bulk.headers["location"])).text
        assert f"1 order(s) marked packed: {theirs}" in listing and f"{number}: no such order" in listing
    finally:
        await other.http.aclose()
    assert await status_of(shop, number) == "paid" and await status_of(shop, theirs) == "packed"


async def test_the_orders_list_moves_the_ticked_orders_and_names_the_ones_left(shop, staff):
    first, second = await paid_order(shop, "ws_CO_BULK_1"), await paid_order(shop, "ws_CO_BULK_2")
    unpaid, _ = await pending_payment(shop, "ws_CO_BULK_3")
    listing = (await staff.get("/admin/orders?status=&from=&to=")).text
    assert 'id="bulk"' in listing and f'name="order" value="{first}"' in listing
    done = await staff.post(
        "/admin/orders/bulk", order=[first, second, unpaid.number], to="out_for_delivery", back="status=paid"
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/orders?status=paid"
    page = (await staff.get(done.headers["location"])).text
    assert "2 order(s) marked out for delivery" in page
    assert f"{unpaid.number}: it is pending payment: only a paid order moves on" in page
    assert [await status_of(shop, n) for n in (first, second, unpaid.number)] == [
        "out_for_delivery",
        "out_for_delivery",
        "pending_payment",
    ]
    cancelled = await staff.post("/admin/orders/bulk", order=[first], to="cancelled", reason="Rider's bike broke down")
    assert cancelled.status_code == 303 and await status_of(shop, first) == "cancelled"
    home = (await staff.get("/admin/")).text
    assert "Payments needing review: 1" in home  # the money for the cancelled order, to refund
    assert await order_jobs(shop) == ["out_for_delivery", "out_for_delivery", "cancelled_refund"]


async def test_a_list_query_that_is_not_one_goes_back_to_the_plain_list(shop, staff):
    number = await paid_order(shop, "ws_CO_BACK_1")
    done = await staff.post("/admin/orders/bulk", order=number, to="packed", back="x\r\nSet-Cookie: a=b")
    assert done.status_code == 303 and done.headers["location"] == "/admin/orders"


@pytest.mark.parametrize("number", ["AB%00CD", "%F0%9F%9A%9A", "x" * 300, "%ED%A0%80", "A%0D%0ASet-Cookie:%20a=b"])
async def test_an_order_number_no_order_can_have_is_not_found(sidecar, staff, number):
    assert (await staff.post(f"/admin/orders/{number}/status", to="packed")).status_code == 404
    bulk = await staff.post("/admin/orders/bulk", order=[number.replace("%00", "\x00")], to="packed")
    assert bulk.status_code == 303
    assert "no such order" in (await staff.get(bulk.headers["location"])).text
