"""The shop pages over HTTP on a real sidecar: an operator creates a shop and invites its owner, the owner
sets a password through the one-time link, manages only their own shop's staff and payment accounts;
shop staff get 404 for the platform's pages; secrets are never shown back; bad input is a 4xx that
changes nothing; every form is CSRF-checked."""

from __future__ import annotations

import re
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from actions.commerce import staff as accounts
from actions.db import tables as t
from devstack.processes import start_sidecar
from devstack.services import Services
from tests.sidecar.test_admin import Staff

PASSWORD = "kahawa-chungu-42"
SECRET_KEY = Fernet.generate_key().decode()
LINK = re.compile(r'value="(https?://[^"]+/admin/invite/([A-Za-z0-9_\-]+))"')
MPESA = {"shortcode": "600222", "kind": "paybill", "consumer_key": "consumer-key-abcd1234",
         "consumer_secret": "consumer-secret-wxyz9876", "passkey": "passkey-0123456789abcdef"}  # fmt: skip


@pytest.fixture(scope="module")
def sidecar(services, database_url, tmp_path_factory):
    env = {"ADMIN_REDIS_PREFIX": f"admin{uuid.uuid4().hex[:8]}", "SHOP_SECRETS_KEY": SECRET_KEY}
    process = start_sidecar(Services(database_url, services.redis_url), tmp_path_factory.mktemp("logs"), env=env)
    yield process
    process.stop()


async def signed_in(sidecar, rt, email: str, role: str) -> Staff:
    await accounts.set_staff(rt.uow(), "demo-shop", email, email.split("@")[0], PASSWORD, role)
    browser = Staff(sidecar.url)
    assert (await browser.sign_in(email)).status_code == 303
    await browser.get("/admin/")
    return browser


@pytest.fixture
async def operator(sidecar, shop):
    browser = await signed_in(sidecar, shop, "ops@platform.example", "operator")
    yield browser
    await browser.http.aclose()


@pytest.fixture
async def clerk(sidecar, shop):
    browser = await signed_in(sidecar, shop, "clerk@demo-shop.example", "staff")
    yield browser
    await browser.http.aclose()


async def counts(rt) -> tuple[int, int, int, int]:
    async with rt.sessions() as session:
        return tuple([
            await session.scalar(select(func.count()).select_from(table))
            for table in (t.Tenant, t.StaffUser, t.StaffInvite, t.PaymentAccount)
        ])  # fmt: skip


async def create_shop(operator: Staff, **changes: str):
    await operator.get("/admin/shops")
    form = {"name": "Duka Mbili", "slug": "duka-mbili", "currency": "KES", "whatsapp": "1065403522",
            "owner_email": "wanjiru@mbili.example", "owner_name": "Wanjiru"} | changes  # fmt: skip
    return await operator.post("/admin/shops", **form)


async def accept(sidecar, link_token: str, password: str = PASSWORD) -> Staff:
    owner = Staff(sidecar.url)
    page = await owner.get(f"/admin/invite/{link_token}")
    assert page.status_code == 200 and "Welcome to Duka Mbili" in page.text
    done = await owner.post(f"/admin/invite/{link_token}", name="Wanjiru", password=password, again=password)
    assert done.status_code == 303 and done.headers["location"] == "/admin/login"
    return owner


async def test_an_operator_creates_a_shop_its_owner_signs_in_and_sees_only_it(sidecar, operator, shop):
    created = await create_shop(operator)
    assert created.status_code == 201
    link, token = LINK.search(created.text).groups()
    assert link.endswith(f"/admin/invite/{token}")
    async with shop.sessions() as session:
        tenant = await session.scalar(select(t.Tenant).where(t.Tenant.slug == "duka-mbili"))
        stored = await session.scalar(select(t.StaffInvite.token_hash))
    assert tenant.whatsapp_phone_number_id == "1065403522" and token not in stored  # only its hash is kept
    owner = await accept(sidecar, token)
    assert (await owner.get(f"/admin/invite/{token}")).status_code == 404  # used up
    assert token not in sidecar.log.read_text() and "/admin/invite/" in sidecar.log.read_text()
    assert (await owner.sign_in("wanjiru@mbili.example")).status_code == 303
    own = await owner.get(f"/admin/shops/{tenant.id}")
    assert own.status_code == 200 and "wanjiru@mbili.example" in own.text
    async with shop.uow() as uow:
        demo_id = (await uow.tenants.by_slug("demo-shop")).id
    for path in (f"/admin/shops/{demo_id}", "/admin/shops"):
        assert (await owner.get(path)).status_code == 404  # another shop, the platform's list
    before = await counts(shop)
    refused = await owner.post("/admin/shops", name="X", slug="x", currency="KES", owner_email="x@x.example")
    assert refused.status_code == 404 and await counts(shop) == before
    await owner.http.aclose()


async def test_shop_staff_cannot_reach_the_platform_or_manage_staff(clerk, shop):
    async with shop.uow() as uow:
        demo_id = (await uow.tenants.by_slug("demo-shop")).id
    for path in ("/admin/shops", f"/admin/shops/{demo_id}", "/admin/shop"):
        assert (await clerk.get(path)).status_code == 404
    before = await counts(shop)
    for path, form in ((f"/admin/shops/{demo_id}/invites", {"email": "x@y.example", "role": "owner"}),
                       (f"/admin/shops/{demo_id}/accounts/mpesa", {"action": "save", **MPESA})):  # fmt: skip
        assert (await clerk.post(path, **form)).status_code == 404
    assert await counts(shop) == before


async def test_bad_input_is_refused_with_a_4xx_and_changes_nothing(operator, shop):
    before = await counts(shop)
    for bad in ({"slug": "Not A Slug!"}, {"currency": "XXX"}, {"owner_email": "nobody"}, {"whatsapp": "+254 7"},
                {"slug": "demo-shop"}):  # fmt: skip
        answer = await create_shop(operator, **bad)
        assert answer.status_code == 400 and "Not created" in answer.text, bad
    assert await counts(shop) == before
    async with shop.uow() as uow:
        demo_id = (await uow.tenants.by_slug("demo-shop")).id
    for form in ({**MPESA, "shortcode": "12"}, {**MPESA, "kind": "wallet"}, {**MPESA, "passkey": ""}):
        answer = await operator.post(f"/admin/shops/{demo_id}/accounts/mpesa", action="save", **form)
        assert answer.status_code == 400 and "Not saved" in answer.text
    answer = await operator.post(f"/admin/shops/{demo_id}/accounts/paystack", action="save", secret_key="pk_live_x")
    assert answer.status_code == 400
    assert (await operator.post(f"/admin/shops/{demo_id}/accounts/venmo", action="save")).status_code == 404
    assert await counts(shop) == before


async def test_forms_without_the_csrf_token_are_refused(operator, shop):
    before = await counts(shop)
    form = {"name": "Duka Mbili", "slug": "duka-mbili", "currency": "KES", "owner_email": "w@mbili.example"}
    for csrf in ("forged", ""):
        answer = await operator.http.post("/admin/shops", data={**form, "csrf": csrf})
        assert answer.status_code == 403
    async with shop.uow() as uow:
        demo_id = (await uow.tenants.by_slug("demo-shop")).id
    answer = await operator.http.post(f"/admin/shops/{demo_id}/accounts/mpesa", data={"action": "save", **MPESA})
    assert answer.status_code == 403
    assert await counts(shop) == before


async def test_secrets_are_stored_encrypted_shown_only_masked_and_never_logged(sidecar, operator, shop):
    async with shop.uow() as uow:
        demo_id = (await uow.tenants.by_slug("demo-shop")).id
    saved = await operator.post(f"/admin/shops/{demo_id}/accounts/mpesa", action="save", **MPESA)
    assert saved.status_code == 303
    page = (await operator.get(f"/admin/shops/{demo_id}")).text
    assert "••••1234" in page and "••••9876" in page and "••••cdef" in page
    for secret in ("consumer-key-abcd1234", "consumer-secret-wxyz9876", "passkey-0123456789abcdef"):
        assert secret not in page
    async with shop.sessions() as session:
        row = await session.scalar(select(t.PaymentAccount))
    assert all(secret not in row.secrets + str(row.settings) for secret in MPESA.values() if len(secret) > 8)
    # A save with the secrets left empty keeps them (they are never in the form to send back).
    kept = await operator.post(f"/admin/shops/{demo_id}/accounts/mpesa", action="save", shortcode="600333", kind="till")
    assert kept.status_code == 303
    async with shop.sessions() as session:
        active = (await session.scalars(select(t.PaymentAccount).where(t.PaymentAccount.active))).all()
        everything = await session.scalar(select(func.count()).select_from(t.PaymentAccount))
    assert [a.settings["shortcode"] for a in active] == ["600333"] and everything == 2  # the old one kept, inactive
    assert "••••1234" in (await operator.get(f"/admin/shops/{demo_id}")).text
    log = sidecar.log.read_text()
    assert all(secret not in log for secret in MPESA.values() if len(secret) > 8)


async def test_an_owner_manages_their_own_staff_but_not_themselves_nor_another_shops(sidecar, operator, shop):
    token = LINK.search((await create_shop(operator)).text).group(2)
    owner = await accept(sidecar, token)
    await owner.sign_in("wanjiru@mbili.example")
    async with shop.uow() as uow:
        mbili = (await uow.tenants.by_slug("duka-mbili")).id
        me = await uow.staff.active("wanjiru@mbili.example")
        demo_clerk = await uow.staff.active("ops@platform.example")
    await owner.get(f"/admin/shops/{mbili}")
    invited = await owner.post(f"/admin/shops/{mbili}/invites", email="juma@mbili.example", name="Juma", role="staff")
    assert invited.status_code == 201
    made_operator = await owner.post(f"/admin/shops/{mbili}/invites", email="x@mbili.example", role="operator")
    assert made_operator.status_code == 400  # an owner gives owner or staff only
    clerk = await accept(sidecar, LINK.search(invited.text).group(2))
    await clerk.http.aclose()
    async with shop.uow() as uow:
        juma = await uow.staff.active("juma@mbili.example")
    assert juma.role == "staff" and juma.tenant_id == mbili
    assert (await owner.post(f"/admin/shops/{mbili}/staff/{juma.user_id}", action="deactivate")).status_code == 303
    assert (await owner.post(f"/admin/shops/{mbili}/staff/{me.user_id}", action="deactivate")).status_code == 400
    other = await owner.post(f"/admin/shops/{mbili}/staff/{demo_clerk.user_id}", action="deactivate")
    assert other.status_code == 404  # another shop's member is not found here
    async with shop.uow() as uow:
        assert await uow.staff.active("juma@mbili.example") is None
        assert await uow.staff.active("ops@platform.example") is not None
    await owner.http.aclose()


async def test_an_invite_link_that_was_never_made_or_is_malformed_is_not_found(sidecar, shop):
    visitor = Staff(sidecar.url)
    for token in ("A" * 43, "short", "../../etc"):
        assert (await visitor.get(f"/admin/invite/{token}")).status_code == 404
    await visitor.http.aclose()


HOSTILE = ["x" * 5000, "ünïcödé-дука", "' OR 1=1 --", "<script>alert(1)</script>", " "]


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_values_in_every_field_of_an_operators_forms_are_4xx_and_change_nothing(operator, shop, value):
    async with shop.uow() as uow:
        demo_id = (await uow.tenants.by_slug("demo-shop")).id
    await operator.get(f"/admin/shops/{demo_id}")
    before = await counts(shop)
    shop_form = {"name": "N", "slug": "n", "currency": "KES", "owner_email": "o@o.example"}
    for field in shop_form:
        if field == "name" and value.strip() and len(value) < 200:
            continue  # any text is a shop's name
        answer = await operator.post("/admin/shops", **{**shop_form, field: value})
        assert answer.status_code in (400, 413), (field, answer.status_code)
    for field in MPESA:
        answer = await operator.post(f"/admin/shops/{demo_id}/accounts/mpesa", action="save", **{**MPESA, field: value})
        assert answer.status_code == 400, field
    for field, form in (
        ("email", {"email": value, "role": "staff"}),
        ("role", {"email": "a@b.example", "role": value}),
    ):
        assert (await operator.post(f"/admin/shops/{demo_id}/invites", **form)).status_code == 400, field
    if value.strip():  # an empty number disconnects the shop
        assert (await operator.post(f"/admin/shops/{demo_id}/whatsapp", whatsapp=value)).status_code == 400
    assert (await operator.get("/admin/shops/999999")).status_code == 404
    assert await counts(shop) == before
