"""The admin pages and the order API on a real sidecar process, over HTTP, on real PostgreSQL and Redis."""

import asyncio
import hashlib
import re
import secrets
import time
import uuid
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update

from actions.commerce import cart, orders, payment_requests, review, settlement
from actions.commerce import staff as accounts
from actions.commerce.model import CustomerRef
from actions.commerce.money import Money
from actions.commerce.payments import PaymentStatus, ProviderEvent
from actions.db import tables as t
from devstack.paths import DEMO_CATALOG
from devstack.processes import start_sidecar
from devstack.services import Services
from tests.stored_conversations import save_two_sessions, training_copy
from tests.unit.test_shops_staff_and_catalog import scrypt_hash

PASSWORD = "kahawa-chungu-42"
WHO = CustomerRef("demo-shop", "254711000111")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def admin_prefix() -> str:
    return f"admin{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The training files the sidecar's conversation review adds examples to: a copy."""
    return training_copy(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def sidecar(services, database_url, admin_prefix, redis_key_prefix, project, tmp_path_factory):
    process = start_sidecar(
        Services(database_url, services.redis_url),
        tmp_path_factory.mktemp("sidecar-logs"),
        env={
            "ADMIN_REDIS_PREFIX": admin_prefix,
            "ADMIN_LOGIN_ATTEMPTS": "3",
            "REDIS_KEY_PREFIX": redis_key_prefix,
            "REVIEW_PROJECT_DIR": str(project),
        },
    )
    yield process
    process.stop()


class Staff:
    """A browser without JavaScript: cookies, forms and their CSRF tokens."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=20, follow_redirects=False)
        self.csrf = ""

    async def get(self, path: str) -> httpx.Response:
        response = await self.http.get(path)
        if found := CSRF.search(response.text):
            self.csrf = found.group(1)
        return response

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/admin/login")
        return await self.http.post("/admin/login", data={"email": email, "password": password, "csrf": self.csrf})

    async def post(self, path: str, **form: str) -> httpx.Response:
        return await self.http.post(path, data={"csrf": self.csrf, **form})


@pytest.fixture
async def staff_email(shop) -> str:
    email = f"amina-{secrets.token_hex(3)}@demo-shop.example"
    await accounts.set_staff(shop.uow(), "demo-shop", email, "Amina", PASSWORD)
    return email


@pytest.fixture
async def staff(sidecar, staff_email):
    signed_in = Staff(sidecar.url)
    response = await signed_in.sign_in(staff_email)
    assert response.status_code == 303 and response.headers["location"] == "/admin/"
    await signed_in.get("/admin/")
    yield signed_in
    await signed_in.http.aclose()


async def pending_payment(rt, reference: str, who: CustomerRef = WHO):
    await cart.add(rt.uow(), who, "SUGAR-1KG", 2)  # KES 360
    order = await orders.place(rt.uow(), who, "Kilimani")
    payment = await payment_requests.start(rt.uow(), order.id, "mpesa", reference, order.total, who.external_id)
    return order, payment


async def test_pages_need_a_signed_in_staff_member(sidecar, shop):
    async with httpx.AsyncClient(base_url=sidecar.url) as anonymous:
        for path in ("/admin/", "/admin/orders", "/admin/payments/1", "/admin/handoffs", "/admin/review"):
            response = await anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")


async def test_a_wrong_password_is_refused_and_sign_in_waits_after_repeated_failures(sidecar, staff_email):
    guesser = Staff(sidecar.url)
    statuses = [(await guesser.sign_in(staff_email, "not-the-password")).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    blocked = await guesser.sign_in(staff_email)  # the right password, too late
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert "duka_admin" not in blocked.cookies


async def test_the_session_cookie_is_http_only_and_sessions_expire(sidecar, staff_email, admin_prefix, services):
    member = Staff(sidecar.url)
    response = await member.sign_in(staff_email)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("duka_admin="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    token = member.http.cookies["duka_admin"]
    key = f"{admin_prefix}:session:{hashlib.sha256(token.encode()).hexdigest()}"
    redis = Redis.from_url(services.redis_url)
    try:
        assert 0 < await redis.ttl(key) <= 480 * 60  # forgotten after 8 idle hours
        assert (await member.get("/admin/")).status_code == 200
        await redis.delete(key)  # the session expired
        assert (await member.get("/admin/")).headers["location"].startswith("/admin/login")
    finally:
        await redis.aclose()


async def test_attempts_are_counted_before_the_password_is_checked_so_parallel_guesses_are_capped(sidecar, staff_email):
    guessers = [Staff(sidecar.url) for _ in range(8)]
    for guesser in guessers:
        await guesser.get("/admin/login")
    answers = await asyncio.gather(*(
        g.http.post("/admin/login", data={"email": staff_email, "password": "not-the-password", "csrf": g.csrf})
        for g in guessers
    ))  # fmt: skip
    assert sorted(a.status_code for a in answers) == [401] * 3 + [429] * 5  # ADMIN_LOGIN_ATTEMPTS=3


async def test_every_attempt_counter_expires_even_one_a_crash_left_without_expiry(
    sidecar, staff_email, admin_prefix, services
):
    key = f"{admin_prefix}:attempts:email:{staff_email}"
    redis = Redis.from_url(services.redis_url)
    try:
        await redis.set(key, 1)  # as a crash between INCR and EXPIRE left it before
        assert (await Staff(sidecar.url).sign_in(staff_email, "not-the-password")).status_code == 401
        assert 0 < await redis.ttl(key) <= 15 * 60 and int(await redis.get(key)) == 2
        assert 0 < await redis.ttl(f"{admin_prefix}:attempts:ip:127.0.0.1") <= 15 * 60
        assert (await Staff(sidecar.url).sign_in(staff_email)).status_code == 303
        assert await redis.exists(key) == 0  # a successful sign-in starts the e-mail afresh
    finally:
        await redis.aclose()


async def test_an_scrypt_hash_signs_in_and_is_replaced_by_argon2(shop, sidecar, staff_email):
    async with shop.sessions() as session:
        await session.execute(
            update(t.StaffUser).where(t.StaffUser.email == staff_email).values(password_hash=scrypt_hash(PASSWORD))
        )
        await session.commit()
    member = Staff(sidecar.url)
    assert (await member.sign_in(staff_email)).status_code == 303
    async with shop.sessions() as session:
        stored = await session.scalar(select(t.StaffUser.password_hash).where(t.StaffUser.email == staff_email))
    assert stored.startswith("$argon2id$")
    assert (await member.get("/admin/")).status_code == 200  # the session holds with the new hash


async def test_a_session_ends_when_its_staff_member_is_deactivated(shop, staff, staff_email):
    async with shop.sessions() as session:
        await session.execute(update(t.StaffUser).where(t.StaffUser.email == staff_email).values(active=False))
        await session.commit()
    assert (await staff.get("/admin/")).headers["location"].startswith("/admin/login")
    async with shop.sessions() as session:
        await session.execute(update(t.StaffUser).where(t.StaffUser.email == staff_email).values(active=True))
        await session.commit()
    assert (await staff.get("/admin/")).status_code == 303  # the session is gone, not just suspended


async def test_a_session_ends_when_the_password_changes(shop, staff, staff_email):
    assert (await staff.get("/admin/orders")).status_code == 200
    await accounts.set_staff(shop.uow(), "demo-shop", staff_email, "Amina", "a brand new password")
    assert (await staff.get("/admin/orders")).headers["location"].startswith("/admin/login")
    assert (await Staff(staff.http.base_url).sign_in(staff_email, "a brand new password")).status_code == 303


@pytest.fixture(scope="module")
def proxied_sidecar(services, database_url, tmp_path_factory):
    """A sidecar behind a proxy that appends the client's address to X-Forwarded-For."""
    process = start_sidecar(
        Services(database_url, services.redis_url),
        tmp_path_factory.mktemp("proxied-sidecar-logs"),
        env={
            "ADMIN_REDIS_PREFIX": f"admin{uuid.uuid4().hex[:8]}",
            "ADMIN_LOGIN_ATTEMPTS": "1",  # 10 per address
            "TRUSTED_PROXY_HEADER": "X-Forwarded-For",
        },
    )
    yield process
    process.stop()


async def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_appended(proxied_sidecar, shop):
    async def attempt(forwarded_for: str) -> int:
        guesser = Staff(proxied_sidecar.url)
        await guesser.get("/admin/login")
        email = f"nobody-{secrets.token_hex(4)}@example.com"
        data = {"email": email, "password": "not-the-password", "csrf": guesser.csrf}
        response = await guesser.http.post("/admin/login", data=data, headers={"X-Forwarded-For": forwarded_for})
        return response.status_code

    assert [await attempt(f"10.9.8.{n}, 203.0.113.7") for n in range(10)] == [401] * 10
    assert await attempt("203.0.113.7") == 429  # the client's own entries on the left change nothing
    assert await attempt("203.0.113.7, 198.51.100.20") == 401  # another client of the proxy


async def test_a_form_without_its_csrf_token_changes_nothing(shop, staff):
    _, payment = await pending_payment(shop, "ws_CO_CSRF_1")
    forged = await staff.http.post(f"/admin/payments/{payment.id}/verify", data={"reason": "SMS QK71XYZ seen"})
    assert forged.status_code == 403
    async with shop.sessions() as session:
        assert (await session.get(t.Payment, payment.id)).status == "pending"


async def test_mark_verified_needs_a_reason_and_is_audit_logged(shop, staff, staff_email):
    order, payment = await pending_payment(shop, "ws_CO_VERIFY_1")
    page = await staff.get(f"/admin/payments/{payment.id}")
    assert "Refresh status" in page.text and "Mark verified" in page.text

    no_reason = await staff.post(f"/admin/payments/{payment.id}/verify", reason="  ")
    assert no_reason.status_code == 303
    assert "Say why" in (await staff.get(f"/admin/payments/{payment.id}")).text
    async with shop.sessions() as session:
        assert (await session.get(t.Payment, payment.id)).status == "pending"

    done = await staff.post(f"/admin/payments/{payment.id}/verify", reason="M-Pesa SMS QK71XYZ seen by Amina")
    assert done.status_code == 303
    page = await staff.get(f"/admin/payments/{payment.id}")
    assert "Marked as paid" in page.text and 'id="payment-status">paid<' in page.text
    async with shop.sessions() as session:
        audit = (await session.execute(select(t.AuditEntry.action, t.AuditEntry.reason, t.StaffUser.email)
                 .join(t.StaffUser, t.StaffUser.id == t.AuditEntry.staff_user_id))).all()  # fmt: skip
        assert (await session.get(t.Order, order.id)).status == "paid"
    assert ("mark_verified", "M-Pesa SMS QK71XYZ seen by Amina", staff_email) in audit
    assert "Staff: mark_verified" in (await staff.get(f"/admin/orders/{order.number}")).text


@pytest.mark.parametrize("row_id", ["-9223372036854775809", "99999999999999999999", "0", "-1", "1e3"])
async def test_an_id_no_row_can_have_is_not_found(sidecar, staff, row_id):
    """Found by the fuzz suite: an id beyond PostgreSQL's bigint made the query fail with a 500."""
    assert (await staff.get(f"/admin/payments/{row_id}")).status_code == 404
    assert (await staff.post(f"/admin/payments/{row_id}/verify", reason="x")).status_code == 404
    assert (await staff.post(f"/admin/handoffs/{row_id}/handback")).status_code == 404


async def test_staff_see_only_their_own_shop(shop, sidecar, staff):
    from actions.commerce.catalog_csv import parse_catalog
    from actions.commerce.catalog_import import import_catalog

    rows = parse_catalog(DEMO_CATALOG.read_text(), "KES")
    await import_catalog(shop.uow(), "other-shop", "Other Shop", "KES", rows)
    theirs, their_payment = await pending_payment(shop, "ws_CO_OTHER_1", CustomerRef("other-shop", "254722000222"))
    mine, _ = await pending_payment(shop, "ws_CO_MINE_1")
    listing = (await staff.get("/admin/orders")).text
    assert mine.number in listing and theirs.number not in listing
    assert (await staff.get(f"/admin/orders/{theirs.number}")).status_code == 404
    assert (await staff.get(f"/admin/payments/{their_payment.id}")).status_code == 404
    refused = await staff.post(f"/admin/payments/{their_payment.id}/verify", reason="trying another shop")
    assert refused.status_code == 404
    async with shop.sessions() as session:
        assert (await session.get(t.Payment, their_payment.id)).status == "pending"


async def test_orders_filter_by_status_and_page(shop, staff):
    async with shop.sessions() as session, session.begin():
        await session.execute(update(t.Product).where(t.Product.sku == "SUGAR-1KG").values(stock=1000))
    placed = [(await pending_payment(shop, f"ws_CO_PAGE_{n}"))[0] for n in range(27)]
    first = (await staff.get("/admin/orders?status=pending_payment")).text
    second = (await staff.get("/admin/orders?status=pending_payment&page=2")).text
    assert "Page 1 of 2 (27 in all)" in first
    assert placed[-1].number in first and placed[0].number in second
    assert "No orders." in (await staff.get("/admin/orders?status=paid")).text


@pytest.mark.parametrize("page", ["368934881474191034", str(2**63), "-" + "9" * 30, "9" * 5000])
async def test_a_page_number_past_every_page_is_an_empty_page_not_an_error(shop, staff, page):
    for path in ("/admin/orders", "/admin/payments"):
        response = await staff.get(f"{path}?page={page}")
        assert response.status_code == 200, (path, response.status_code)


async def test_the_sales_summary_shows_a_write_on_the_next_read(shop, staff):
    before = (await staff.get("/admin/")).text
    assert "Orders: <strong>0</strong>" in before
    _, payment = await pending_payment(shop, "ws_CO_SUMMARY_1")
    after = (await staff.get("/admin/")).text
    assert "Orders: <strong>1</strong>" in after and "Waiting for payment: 1" in after
    event = ProviderEvent("mpesa", "cb:summary", payment.reference, PaymentStatus.PAID, "callback", Money(36000, "KES"))
    await settlement.record(shop.uow(), event)
    paid = (await staff.get("/admin/")).text
    assert "Revenue (paid): <strong>KES 360</strong>" in paid and "Paid: 1" in paid


async def test_payments_needing_review_are_counted_on_the_home_page_listed_and_flagged_on_their_pages(shop, staff):
    assert "Payments needing review: 0" in (await staff.get("/admin/")).text
    order, payment = await pending_payment(shop, "ws_CO_REVIEW_1")
    _, calm = await pending_payment(shop, "ws_CO_REVIEW_2")
    await settlement.record(
        shop.uow(), ProviderEvent("mpesa", "query:0", payment.reference, PaymentStatus.PAID, "reconciliation")
    )
    refund = ProviderEvent(
        "mpesa", "refund.processed:RF-1", payment.reference, PaymentStatus.PENDING, "refund.processed", flags=True
    )
    await settlement.record(shop.uow(), refund)

    home = (await staff.get("/admin/")).text
    assert 'href="/admin/payments?review=1" id="needing-review">Payments needing review: 1<' in home
    listed = (await staff.get("/admin/payments?review=1")).text
    assert f"/admin/payments/{payment.id}" in listed and f"/admin/payments/{calm.id}" not in listed
    page = (await staff.get(f"/admin/payments/{payment.id}")).text
    assert 'id="needs-review"' in page and "⚠ refund.processed" in page
    assert 'id="needs-review"' not in (await staff.get(f"/admin/payments/{calm.id}")).text
    order_page = (await staff.get(f"/admin/orders/{order.number}")).text
    assert (
        'id="needs-review"' in order_page and f'href="/admin/payments/{payment.id}">payment #{payment.id}' in order_page
    )


async def test_the_order_api_answers_304_until_the_order_changes(shop, sidecar):
    token = await accounts.new_api_token(shop.uow(), "demo-shop")
    order, payment = await pending_payment(shop, "ws_CO_API_1")
    async with httpx.AsyncClient(base_url=sidecar.url, headers={"Authorization": f"Bearer {token}"}) as api:
        first = await api.get(f"/orders/{order.number}")
        assert first.status_code == 200
        assert first.json()["status"] == "pending_payment" and first.json()["total"]["minor"] == 36000
        etag = first.headers["ETag"]
        same = await api.get(f"/orders/{order.number}", headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b""
        await settlement.record(
            shop.uow(), ProviderEvent("mpesa", "cb:api", payment.reference, PaymentStatus.PAID, "callback")
        )
        changed = await api.get(f"/orders/{order.number}", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["ETag"] != etag
        assert changed.json()["status"] == "paid" and changed.json()["payments"][0]["status"] == "paid"
    async with httpx.AsyncClient(base_url=sidecar.url) as anonymous:
        assert (await anonymous.get(f"/orders/{order.number}")).status_code == 401
        wrong = await anonymous.get(f"/orders/{order.number}", headers={"Authorization": "Bearer duka_guess"})
        assert wrong.status_code == 401


@pytest.fixture
def conversation_of(services, database_url, redis_key_prefix):
    """Saves a customer's two sessions, two hours and ten minutes ago, each with one (text, intent, confidence)."""

    def save(conversation: str, tenant: str, first: tuple, second: tuple) -> None:
        now = time.time()
        sessions = [now - 7200, tenant, *first, "inform"], [now - 600, tenant, *second, "inform"]
        save_two_sessions(services.redis_url, redis_key_prefix, database_url, conversation, *sessions)

    return save


async def test_the_review_page_lists_the_shops_unsure_messages_and_adds_one_as_an_example_in_one_step(
    shop, staff, conversation_of, project
):
    conversation_of(
        "106540352242922:254733000111",
        "demo-shop",
        ("mko na kasuku ya nusu leo", "search_product", 0.31),
        ("hiyo ya pili niongezee tafadhali", "add_to_cart", 0.44),
    )
    conversation_of(
        "106540352242999:254733000222",
        "other-shop",
        ("mna maziwa ya mala jamani", "search_product", 0.2),
        ("other shop words", "inform", 0.99),
    )
    assert 'href="/admin/review"' in (await staff.get("/admin/")).text
    page = (await staff.get("/admin/review")).text
    assert "mko na kasuku ya nusu leo" in page and "hiyo ya pili niongezee tafadhali" in page
    assert "mna maziwa ya mala" not in page  # another shop's customer
    assert "254***111" in page and "254733000111" not in page
    kasuku = review.item_id("mko na kasuku ya nusu leo")
    assert f'action="/admin/review/{kasuku}/add"' in page and '<option value="search_product" selected>' in page

    added = await staff.post(f"/admin/review/{kasuku}/add", intent="search_product", language="sw", since="7d")
    assert added.status_code == 303 and added.headers["location"] == "/admin/review?since=7d"
    after = (await staff.get("/admin/review?since=7d")).text
    assert "✓ Added" in after and "data/nlu/sw.yml" in after and f"message-{kasuku}" not in after
    assert "      - mko na kasuku ya nusu leo\n" in (project / "data/nlu/sw.yml").read_text()


async def test_adding_from_the_review_page_answers_a_bad_id_or_intent_with_a_4xx_saying_why(
    shop, staff, conversation_of, project
):
    conversation_of(
        "106540352242922:254733000333",
        "demo-shop",
        ("ile ya buluu ndio nataka", "add_to_cart", 0.3),
        ("nimechoka kusubiri sasa", "payment_status", 0.4),
    )
    before = (project / "data/nlu/sw.yml").read_text()
    await staff.get("/admin/review")
    message = review.item_id("ile ya buluu ndio nataka")
    unknown = await staff.post("/admin/review/0badc0de/add", intent="add_to_cart", language="sw")
    assert unknown.status_code == 404 and "no message &#39;0badc0de&#39; is waiting in the review" in unknown.text
    wrong_intent = await staff.post(f"/admin/review/{message}/add", intent="buy_blue", language="sw")
    assert wrong_intent.status_code == 400 and "&#39;buy_blue&#39; is not an intent of domain.yml" in wrong_intent.text
    wrong_file = await staff.post(f"/admin/review/{message}/add", intent="add_to_cart", language="fr")
    assert wrong_file.status_code == 400 and "is not en or sw" in wrong_file.text
    forged = await staff.http.post(f"/admin/review/{message}/add", data={"intent": "add_to_cart", "language": "sw"})
    assert forged.status_code == 403
    assert (project / "data/nlu/sw.yml").read_text() == before
