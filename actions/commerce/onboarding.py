"""Shops and their people: a platform operator creates a shop, connects its WhatsApp number and invites
its owner; the owner invites and manages the shop's staff.

An invite is a one-time link: its token (32 random bytes) is shown once, only its SHA-256 is stored,
it expires (INVITE_LIFETIME) and is used up by the password it sets.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from actions.commerce import roles
from actions.commerce.errors import NotFound, Refused
from actions.commerce.model import Tenant
from actions.commerce.money import MoneyError, exponent
from actions.commerce.passwords import hash_password, token_hash
from actions.commerce.ports import NewInvite, StaffAccount, StaffListing, StaffMember, UnitOfWork

INVITE_LIFETIME = timedelta(days=3)
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
PHONE_NUMBER_ID = re.compile(r"[0-9]{5,30}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
INVITE_TOKEN = re.compile(r"[A-Za-z0-9_\-]{32,64}")


@dataclass(frozen=True)
class NewShop:
    slug: str
    name: str
    currency: str
    whatsapp_phone_number_id: str | None
    owner_email: str
    owner_name: str


@dataclass(frozen=True)
class Invited:
    token: str  # shown once, in the link; never stored
    email: str


def _email(text: str) -> str:
    email = text.strip().lower()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise Refused(f"{text.strip()[:60]!r} is not an e-mail address")
    return email


def checked_shop(shop: NewShop) -> NewShop:
    problems = []
    if not SLUG.fullmatch(shop.slug):
        problems.append("Short name: lower-case letters, digits and '-', at most 64")
    if not shop.name.strip() or len(shop.name) > 200:
        problems.append("Name: 1 to 200 characters")
    try:
        exponent(shop.currency)
    except MoneyError:
        problems.append(f"Currency: {shop.currency[:8]!r} is not one we take (KES, NGN, GHS, …)")
    if shop.whatsapp_phone_number_id and not PHONE_NUMBER_ID.fullmatch(shop.whatsapp_phone_number_id):
        problems.append("WhatsApp phone number ID: digits only (Meta's 'Phone number ID', not the phone number)")
    try:
        _email(shop.owner_email)
    except Refused as e:
        problems.append(f"Owner's e-mail: {e}")
    if problems:
        raise Refused("; ".join(problems) + ".")
    return shop


async def create_shop(uow: UnitOfWork, operator: StaffMember, shop: NewShop) -> tuple[Tenant, Invited]:
    """A new shop, its WhatsApp number and an invite for its owner; Refused when the short name or the
    number is taken (nothing created)."""
    roles.require_operator(operator)
    shop = checked_shop(shop)
    async with uow:
        if await uow.tenants.by_slug(shop.slug) is not None:
            raise Refused(f"a shop called {shop.slug} exists already")
        number = shop.whatsapp_phone_number_id
        if number and await uow.tenants.by_whatsapp_number(number) is not None:
            raise Refused(f"WhatsApp phone number ID {number} belongs to another shop")
        tenant = await uow.tenants.ensure(shop.slug, shop.name.strip(), shop.currency)
        if number:
            await uow.tenants.set_whatsapp_number(tenant.id, number)
        invited = await _invite(
            uow, NewInvite(tenant.id, _email(shop.owner_email), shop.owner_name.strip(), roles.OWNER, operator.user_id)
        )
        await uow.audit.write(
            StaffMember(operator.user_id, tenant.id, operator.email, operator.role), "shop_created", f"shop:{tenant.id}"
        )
        await uow.commit()
    return tenant, invited


async def connect_whatsapp(uow: UnitOfWork, operator: StaffMember, tenant_id: int, number: str) -> str:
    roles.require_operator(operator)
    number = number.strip()
    if number and not PHONE_NUMBER_ID.fullmatch(number):
        raise Refused("WhatsApp phone number ID: digits only (Meta's 'Phone number ID', not the phone number)")
    async with uow:
        owner = await uow.tenants.by_whatsapp_number(number) if number else None
        if owner is not None and owner.id != tenant_id:
            raise Refused(f"WhatsApp phone number ID {number} belongs to {owner.slug}")
        if not await uow.tenants.set_whatsapp_number(tenant_id, number or None):
            raise NotFound(f"shop {tenant_id}")
        await uow.commit()
    return (
        f"WhatsApp number {number} connected; messages to it reach this shop within a minute."
        if number
        else "WhatsApp number disconnected."
    )


async def invite(uow: UnitOfWork, member: StaffMember, tenant_id: int, email: str, name: str, role: str) -> Invited:
    """An invite for a new member of the shop; an owner gives owner or staff, an operator any role."""
    roles.require_manager(member, tenant_id)
    if role not in (roles.ROLES if roles.is_operator(member) else roles.SHOP_ROLES):
        raise Refused(f"{role[:20]!r} is not a role you can give (owner or staff)")
    async with uow:
        invited = await _invite(uow, NewInvite(tenant_id, _email(email), name.strip()[:200], role, member.user_id))
        await uow.commit()
    return invited


async def _invite(uow: UnitOfWork, new: NewInvite) -> Invited:
    token = secrets.token_urlsafe(32)
    await uow.invites.add(new, token_hash(token), INVITE_LIFETIME)
    return Invited(token, new.email)


async def invite_for(uow: UnitOfWork, token: str):
    """The invite behind a link while it can be used; NotFound otherwise (used, expired, never made)."""
    if not INVITE_TOKEN.fullmatch(token):
        raise NotFound("invite")
    async with uow:
        found = await uow.invites.find(token_hash(token))
    if found is None:
        raise NotFound("invite")
    return found


async def accept_invite(uow: UnitOfWork, token: str, name: str, password: str) -> StaffAccount:
    """The invited member's account, with this password (WeakPassword if too short); the link is used up."""
    if not INVITE_TOKEN.fullmatch(token):
        raise NotFound("invite")
    password_hash = await hash_password(password)
    async with uow:
        found = await uow.invites.take(token_hash(token))
        if found is None:
            raise NotFound("invite")
        name = name.strip()[:200] or found.name or found.email
        await uow.staff.save(found.tenant_id, found.email, name, password_hash, found.role)
        account = await uow.staff.active(found.email)
        if account is None or account.tenant_id != found.tenant_id:  # the e-mail is another shop's member's
            raise Refused(f"{found.email} already belongs to another shop; ask the platform for another e-mail")
        await uow.commit()
    return account


async def staff_of(uow: UnitOfWork, member: StaffMember, tenant_id: int) -> list[StaffListing]:
    roles.require_manager(member, tenant_id)
    async with uow:
        return await uow.shop_staff.of_shop(tenant_id)


async def change_member(
    uow: UnitOfWork,
    member: StaffMember,
    tenant_id: int,
    user_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
) -> str:
    """An owner changes a member's role or deactivates them; not themselves (a shop keeps its owner)."""
    roles.require_manager(member, tenant_id)
    if user_id == member.user_id:
        raise Refused("You cannot change your own role or deactivate yourself; ask another owner or an operator.")
    if role is not None and role not in (roles.ROLES if roles.is_operator(member) else roles.SHOP_ROLES):
        raise Refused(f"{role[:20]!r} is not a role you can give (owner or staff)")
    async with uow:
        listing = {s.user_id: s for s in await uow.shop_staff.of_shop(tenant_id)}
        if user_id not in listing:
            raise NotFound(f"staff member {user_id}")
        if listing[user_id].role == roles.OPERATOR and not roles.is_operator(member):
            raise Refused("Only an operator changes an operator.")
        if role is not None:
            await uow.shop_staff.set_role(tenant_id, user_id, role)
        if active is not None:
            await uow.shop_staff.set_active(tenant_id, user_id, active)
        details = {k: v for k, v in (("role", role), ("active", active)) if v is not None}
        await uow.audit.write(
            StaffMember(member.user_id, tenant_id, member.email, member.role),
            "staff_changed",
            f"staff:{user_id}",
            **details,
        )
        await uow.commit()
    who = listing[user_id].email
    if active is False:
        return f"{who} is deactivated and signed out."
    if active is True:
        return f"{who} can sign in again."
    return f"{who} is now {role}."
