"""Creating shops and inviting their people, over the in-memory unit of work: who may do what, and a
one-time link that expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet

from actions.commerce import onboarding, shop_accounts, staff
from actions.commerce.errors import NotFound, Refused
from actions.commerce.passwords import token_hash
from actions.commerce.ports import StaffMember
from actions.payments.secret_box import SecretBox
from tests.fakes import FakeUnitOfWork

PASSWORD = "mahindi-choma-9"
NEW = onboarding.NewShop("duka-mbili", "Duka Mbili", "KES", "1065403522", "Owner@Mbili.example", "Wanjiru")


@pytest.fixture
async def uow():
    uow = FakeUnitOfWork()
    uow.add_shop("platform")
    await staff.set_staff(uow, "platform", "ops@platform.example", "Ops", PASSWORD, "operator")
    return uow


async def member(uow, email: str) -> StaffMember:
    async with uow:
        account = await uow.staff.active(email)
    return StaffMember(account.user_id, account.tenant_id, account.email, account.role)


async def test_an_operator_creates_a_shop_whose_owner_sets_a_password_once(uow):
    operator = await member(uow, "ops@platform.example")
    tenant, invited = await onboarding.create_shop(uow, operator, NEW)
    assert uow.committed.tenants[tenant.id].whatsapp_number == "1065403522"
    [row] = uow.committed.invites
    assert row.token_hash == token_hash(invited.token) and invited.token not in repr(row)
    assert (await onboarding.invite_for(uow, invited.token)).role == "owner"
    account = await onboarding.accept_invite(uow, invited.token, "Wanjiru W.", PASSWORD)
    assert (account.email, account.tenant_id, account.role) == ("owner@mbili.example", tenant.id, "owner")
    assert await staff.sign_in(uow, "owner@mbili.example", PASSWORD) is not None
    with pytest.raises(NotFound):
        await onboarding.accept_invite(uow, invited.token, "", "another-password-1")  # used up


async def test_an_invite_expires(uow):
    operator = await member(uow, "ops@platform.example")
    _, invited = await onboarding.create_shop(uow, operator, NEW)
    uow.advance(onboarding.INVITE_LIFETIME + timedelta(seconds=1))
    with pytest.raises(NotFound):
        await onboarding.invite_for(uow, invited.token)
    with pytest.raises(NotFound):
        await onboarding.accept_invite(uow, invited.token, "", PASSWORD)


async def test_only_an_operator_creates_shops_and_a_taken_name_or_number_creates_nothing(uow):
    operator = await member(uow, "ops@platform.example")
    await onboarding.create_shop(uow, operator, NEW)
    before = uow.commits
    for shop in (NEW, onboarding.NewShop("other", "Other", "KES", "1065403522", "o@o.example", "")):
        with pytest.raises(Refused):
            await onboarding.create_shop(uow, operator, shop)
    await staff.set_staff(uow, "platform", "clerk@platform.example", "Clerk", PASSWORD)
    with pytest.raises(NotFound):
        await onboarding.create_shop(uow, await member(uow, "clerk@platform.example"), NEW)
    assert uow.commits == before + 1  # only the clerk's account


async def test_an_owner_invites_staff_but_no_operator_and_cannot_change_themselves(uow):
    operator = await member(uow, "ops@platform.example")
    tenant, invited = await onboarding.create_shop(uow, operator, NEW)
    await onboarding.accept_invite(uow, invited.token, "", PASSWORD)
    owner = await member(uow, "owner@mbili.example")
    with pytest.raises(Refused):
        await onboarding.invite(uow, owner, tenant.id, "x@mbili.example", "X", "operator")
    with pytest.raises(NotFound):
        await onboarding.invite(uow, owner, 1, "x@platform.example", "X", "staff")  # another shop
    clerk_invite = await onboarding.invite(uow, owner, tenant.id, "juma@mbili.example", "Juma", "staff")
    clerk = await onboarding.accept_invite(uow, clerk_invite.token, "", PASSWORD)
    with pytest.raises(Refused):
        await onboarding.change_member(uow, owner, tenant.id, owner.user_id, active=False)
    assert "deactivated" in await onboarding.change_member(uow, owner, tenant.id, clerk.user_id, active=False)
    assert await staff.sign_in(uow, "juma@mbili.example", PASSWORD) is None


async def test_a_shops_account_is_sealed_masked_and_a_change_keeps_the_one_before(uow):
    box = SecretBox([Fernet.generate_key().decode()])
    operator = await member(uow, "ops@platform.example")
    tenant, _ = await onboarding.create_shop(uow, operator, NEW)
    form = {"shortcode": "600111", "kind": "till", "consumer_key": "ck-0123456789",
            "consumer_secret": "cs-abcdefghij", "passkey": "pk-ABCDEFGHIJ"}  # fmt: skip
    await shop_accounts.save(uow, box, operator, tenant.id, "mpesa", form)
    first = await shop_accounts.current(uow, box, tenant.id, "mpesa")
    assert first.secrets["passkey"] == "pk-ABCDEFGHIJ" and first.transaction_type == "CustomerBuyGoodsOnline"
    shown = await shop_accounts.shown(uow, operator, tenant.id)
    assert shown["mpesa"].masked == {"consumer_key": "••••6789", "consumer_secret": "••••ghij", "passkey": "••••GHIJ"}
    await shop_accounts.save(uow, box, operator, tenant.id, "mpesa", {"shortcode": "600222", "kind": "paybill"})
    second = await shop_accounts.current(uow, box, tenant.id, "mpesa")
    assert second.id != first.id and second.secrets == first.secrets  # empty fields kept the secrets
    assert (await shop_accounts.by_id(uow, box, first.id)).settings["shortcode"] == "600111"  # for its payments
    await shop_accounts.remove(uow, operator, tenant.id, "mpesa")
    assert await shop_accounts.current(uow, box, tenant.id, "mpesa") is None
