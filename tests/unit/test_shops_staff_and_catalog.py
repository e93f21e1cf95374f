"""Setting a shop up: its catalog imported from CSV, its staff, its API token; browsing what it sells."""

import asyncio
import base64
import hashlib

import pytest

from actions.commerce import catalog, catalog_import, shops, staff
from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import CurrencyMismatch, ImportResult
from actions.commerce.errors import AmbiguousProduct, UnknownTenant
from actions.commerce.money import Money
from actions.commerce.passwords import DUMMY_HASH, WeakPassword, hash_password, token_hash, upgraded, verify_password
from tests.fakes import FakeUnitOfWork
from tests.unit.shop_world import World

CATALOG = """sku,name,category,price,stock,description
UNGA-2KG,Maize Flour 2kg,Flour & Grains,210,40,Sifted
RICE-1KG,Pishori Rice 1kg,Flour & Grains,"1,250.50",12,
SODA-500ML,Soda 500ml,Drinks,70,100,
"""

UPDATED = """sku,name,category,price,stock
UNGA-2KG,Maize Flour 2kg (new pack),Flour & Grains,230,35
JUICE-1L,Mango Juice 1l,Drinks,250,8
"""


async def import_csv(uow, text, slug="mama-mboga", currency="KES"):
    return await catalog_import.import_catalog(uow, slug, "Mama Mboga", currency, parse_catalog(text, currency))


def products_of(uow, slug="mama-mboga"):
    [shop] = [t for t in uow.committed.tenants.values() if t.slug == slug]
    return {p.sku: p for p in uow.committed.products.values() if p.tenant_id == shop.id}


# --- importing a catalog -----------------------------------------------------------------------


async def test_importing_a_catalog_creates_the_shop_its_categories_and_its_products():
    uow = FakeUnitOfWork()
    assert await catalog_import.shop_exists(uow, "mama-mboga") is False
    assert await import_csv(uow, CATALOG) == ImportResult("mama-mboga", products=3, categories=2)
    assert await catalog_import.shop_exists(uow, "mama-mboga") is True
    products = products_of(uow)
    assert {sku: (p.price, p.stock) for sku, p in products.items()} == {
        "UNGA-2KG": (Money(21000, "KES"), 40),
        "RICE-1KG": (Money(125050, "KES"), 12),
        "SODA-500ML": (Money(7000, "KES"), 100),
    }
    found = await catalog.categories(uow, "mama-mboga")
    assert [(c.slug, c.name, c.products) for c in found] == [
        ("drinks", "Drinks", 1),
        ("flour-grains", "Flour & Grains", 2),
    ]


async def test_importing_again_updates_products_by_sku_and_adds_the_new_ones():
    uow = FakeUnitOfWork()
    await import_csv(uow, CATALOG)
    first_id = products_of(uow)["UNGA-2KG"].id
    assert await import_csv(uow, UPDATED) == ImportResult("mama-mboga", products=2, categories=2)
    products = products_of(uow)
    assert sorted(products) == ["JUICE-1L", "RICE-1KG", "SODA-500ML", "UNGA-2KG"]
    unga = products["UNGA-2KG"]
    assert (unga.id, unga.name, unga.price, unga.stock) == (
        first_id,
        "Maize Flour 2kg (new pack)",
        Money(23000, "KES"),
        35,
    )
    assert len(uow.committed.tenants) == 1


async def test_a_catalog_in_another_currency_than_the_shops_is_refused_and_nothing_is_imported():
    uow = FakeUnitOfWork()
    await import_csv(uow, CATALOG)
    with pytest.raises(CurrencyMismatch):
        await import_csv(uow, UPDATED, currency="UGX")
    assert sorted(products_of(uow)) == ["RICE-1KG", "SODA-500ML", "UNGA-2KG"]
    assert products_of(uow)["UNGA-2KG"].stock == 40


async def test_two_shops_may_sell_the_same_sku_each_at_their_own_price():
    uow = FakeUnitOfWork()
    await import_csv(uow, CATALOG)
    await import_csv(uow, UPDATED, slug="duka-la-juma")
    assert products_of(uow)["UNGA-2KG"].price == Money(21000, "KES")
    assert products_of(uow, "duka-la-juma")["UNGA-2KG"].price == Money(23000, "KES")


# --- browsing --------------------------------------------------------------------------------------


async def test_a_category_is_found_by_its_first_word_and_search_needs_every_word():
    w = World()
    assert [p.sku for p in await catalog.browse(w.uow, "demo-shop", "dairy")] == ["EGGS-TRAY", "MILK-500ML"]
    assert [p.sku for p in await catalog.search(w.uow, "demo-shop", "sugar 2kg")] == ["SUGAR-2KG"]
    assert await catalog.search(w.uow, "demo-shop", "   ") == []


async def test_describing_a_vague_product_picks_the_one_the_whole_message_points_to():
    w = World()
    assert (await catalog.describe(w.uow, "demo-shop", "sugar", said="tell me about sugar 2kg")).sku == "SUGAR-2KG"
    with pytest.raises(AmbiguousProduct):
        await catalog.describe(w.uow, "demo-shop", "sugar", said="tell me about sugar")


async def test_a_new_conversation_belongs_to_the_shop_whose_whatsapp_number_it_came_to():
    w = World()
    kiosk = w.uow.add_shop("kiosk", "Kiosk", "KES", whatsapp_number="1098765")
    assert await shops.tenant_for_conversation(w.uow, "demo-shop", whatsapp_number="1098765") == kiosk
    assert await shops.tenant_for_conversation(w.uow, "demo-shop") == w.shop
    with pytest.raises(UnknownTenant):
        await shops.tenant_for_conversation(w.uow, "demo-shop", whatsapp_number="5550000")


# --- staff and tokens --------------------------------------------------------------------------


async def test_a_staff_member_is_saved_with_a_hashed_password_and_a_lower_case_email():
    w = World()
    await staff.set_staff(w.uow, "demo-shop", " Amina@Demo.Shop ", "Amina", "correct horse battery")
    row = w.uow.committed.staff["amina@demo.shop"]
    assert (row.tenant_id, row.name, row.active) == (w.shop.id, "Amina", True)
    assert "correct horse" not in row.password_hash
    assert await verify_password("correct horse battery", row.password_hash)


async def test_a_short_password_is_refused_and_nothing_is_saved():
    w = World()
    with pytest.raises(WeakPassword):
        await staff.set_staff(w.uow, "demo-shop", "amina@demo.shop", "Amina", "short")
    assert w.uow.committed.staff == {}


async def test_setting_an_existing_staff_members_password_again_replaces_it_and_reactivates_them():
    w = World()
    await staff.set_staff(w.uow, "demo-shop", "amina@demo.shop", "Amina", "first password!")
    w.uow.committed.staff["amina@demo.shop"].active = False
    await staff.set_staff(w.uow, "demo-shop", "amina@demo.shop", "Amina W.", "second password!")
    [row] = w.uow.committed.staff.values()
    assert (row.name, row.active) == ("Amina W.", True)
    assert await verify_password("second password!", row.password_hash)
    assert not await verify_password("first password!", row.password_hash)


async def test_staff_of_an_unknown_shop_are_refused():
    w = World()
    with pytest.raises(UnknownTenant):
        await staff.set_staff(w.uow, "no-such-shop", "amina@demo.shop", "Amina", "long enough password")


def scrypt_hash(password: str) -> str:
    """A hash as this code made them before argon2."""
    salt = b"sixteen byte sal"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


async def test_passwords_are_hashed_with_argon2id_and_the_dummy_hash_has_the_same_parameters():
    w = World()
    await staff.set_staff(w.uow, "demo-shop", "amina@demo.shop", "Amina", "correct horse battery")
    stored = w.uow.committed.staff["amina@demo.shop"].password_hash
    assert stored.startswith("$argon2id$") and stored.split("$")[3] == DUMMY_HASH.split("$")[3]
    assert await upgraded("correct horse battery", stored) is None
    assert await upgraded("whatever it was", DUMMY_HASH) is None  # as costly to check as a real hash


async def test_signing_in_gives_the_account_with_its_shop_and_refuses_a_wrong_password_or_e_mail():
    w = World()
    await staff.set_staff(w.uow, "demo-shop", "amina@demo.shop", "Amina", "correct horse battery")
    account = await staff.sign_in(w.uow, " Amina@Demo.Shop ", "correct horse battery")
    assert (account.email, account.name, account.tenant_id, account.tenant_name) == (
        "amina@demo.shop", "Amina", w.shop.id, "Demo Shop",
    )  # fmt: skip
    assert await staff.sign_in(w.uow, "amina@demo.shop", "wrong horse battery") is None
    assert await staff.sign_in(w.uow, "nobody@demo.shop", "correct horse battery") is None


async def test_an_unknown_e_mail_is_checked_against_the_dummy_hash(monkeypatch):
    w = World()
    checked = []

    async def verify(password: str, stored: str) -> bool:
        checked.append(stored)
        return False

    monkeypatch.setattr(staff, "verify_password", verify)
    assert await staff.sign_in(w.uow, "nobody@demo.shop", "correct horse battery") is None
    assert checked == [DUMMY_HASH]


async def test_a_deactivated_staff_member_cannot_sign_in():
    w = World()
    await staff.set_staff(w.uow, "demo-shop", "amina@demo.shop", "Amina", "correct horse battery")
    w.uow.committed.staff["amina@demo.shop"].active = False
    assert await staff.sign_in(w.uow, "amina@demo.shop", "correct horse battery") is None


async def test_an_scrypt_hash_still_verifies_and_is_replaced_by_argon2_at_the_next_sign_in():
    w = World()
    await staff.set_staff(w.uow, "demo-shop", "amina@demo.shop", "Amina", "correct horse battery")
    row = w.uow.committed.staff["amina@demo.shop"]
    row.password_hash = scrypt_hash("correct horse battery")
    assert await staff.sign_in(w.uow, "amina@demo.shop", "wrong horse battery") is None
    assert row.password_hash.startswith("scrypt$")  # a failed sign-in changes nothing

    account = await staff.sign_in(w.uow, "amina@demo.shop", "correct horse battery")
    stored = w.uow.committed.staff["amina@demo.shop"].password_hash
    assert stored.startswith("$argon2id$") and account.password_hash == stored
    assert await staff.sign_in(w.uow, "amina@demo.shop", "correct horse battery") == account  # no second upgrade


async def test_hashing_and_verifying_leave_the_event_loop_free():
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    stored = await hash_password("correct horse battery")
    assert await verify_password("correct horse battery", stored)
    ticker.cancel()
    assert ticks >= 10  # argon2 took 0.1 s or more each time, and the loop went on meanwhile


async def test_a_new_api_token_is_returned_once_and_only_its_hash_is_kept():
    w = World()
    first = await staff.new_api_token(w.uow, "demo-shop")
    second = await staff.new_api_token(w.uow, "demo-shop")
    assert first.startswith("duka_") and first != second
    assert w.uow.committed.tenants[w.shop.id].api_token_hash == token_hash(second)
