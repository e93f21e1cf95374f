"""A shop's own payment accounts: an M-Pesa till or paybill, a Paystack key.

The secrets are sealed (`Sealer`, SHOP_SECRETS_KEY) before they reach the database and shown back only
as their last four characters. A change is a new account and the previous one inactive, not an
overwrite: a payment keeps the account it was asked with, so its checks and webhooks use the same
credentials whatever the shop changes meanwhile. A shop without an account of its own is paid
through the platform's (the environment's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from actions.commerce.errors import Refused
from actions.commerce.ports import Sealer, StaffMember, UnitOfWork
from actions.commerce.roles import require_manager

MPESA, PAYSTACK = "mpesa", "paystack"
PROVIDERS = (MPESA, PAYSTACK)
SECRET_FIELDS = {
    MPESA: ("consumer_key", "consumer_secret", "passkey"),
    PAYSTACK: ("secret_key",),
}
LABELS = {
    "consumer_key": "Consumer key",
    "consumer_secret": "Consumer secret",
    "passkey": "Passkey",
    "secret_key": "Secret key",
    "shortcode": "Shortcode",
    "kind": "Till or paybill",
}
KINDS = {"paybill": "CustomerPayBillOnline", "till": "CustomerBuyGoodsOnline"}
SHORTCODE = re.compile(r"[0-9]{5,7}")
SECRET = re.compile(r"[A-Za-z0-9_\-+/=.]{8,200}")  # what Daraja's keys and passkeys are made of
PAYSTACK_KEY = re.compile(r"sk_(live|test)_[A-Za-z0-9]{8,120}")
MASK = "••••"


def mask(secret: str) -> str:
    """What the pages show of a secret: its last four characters, and those only when it is long enough
    for them to give nothing away."""
    return MASK + secret[-4:] if len(secret) >= 12 else MASK


@dataclass(frozen=True)
class Account:
    """A shop's own account, opened: what the provider clients need."""

    id: int
    tenant_id: int
    provider: str
    settings: dict[str, str]
    secrets: dict[str, str] = field(repr=False)

    @property
    def transaction_type(self) -> str:
        return KINDS.get(self.settings.get("kind", ""), KINDS["paybill"])


@dataclass(frozen=True)
class Shown:
    """An account as the pages show it: settings and masked secrets."""

    provider: str
    settings: dict[str, str]
    masked: dict[str, str]


def _provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise Refused(f"{provider!r} is not a payment provider (mpesa or paystack)")
    return provider


def checked(provider: str, form: dict[str, str], kept: dict[str, str] | None = None) -> tuple[dict, dict]:
    """(settings, secrets) from a form, or Refused naming each wrong field. A secret left empty keeps
    the stored one (`kept`): secrets are never shown back, so a form cannot be filled with them."""
    provider, kept = _provider(provider), kept or {}
    problems, secrets = [], {}
    for name in SECRET_FIELDS[provider]:
        value = (form.get(name) or "").strip() or kept.get(name, "")
        if not value:
            problems.append(f"{LABELS[name]} is required")
        elif not SECRET.fullmatch(value) or (provider == PAYSTACK and not PAYSTACK_KEY.fullmatch(value)):
            problems.append(
                f"{LABELS[name]} does not look like one" + (" (sk_live_… or sk_test_…)" if provider == PAYSTACK else "")
            )
        secrets[name] = value
    settings: dict[str, str] = {}
    if provider == MPESA:
        shortcode, kind = (form.get("shortcode") or "").strip(), (form.get("kind") or "").strip()
        if not SHORTCODE.fullmatch(shortcode):
            problems.append("Shortcode must be 5 to 7 digits")
        if kind not in KINDS:
            problems.append("Choose till (buy goods) or paybill")
        settings = {"shortcode": shortcode, "kind": kind}
    if problems:
        raise Refused("; ".join(problems) + ".")
    return settings, secrets


def _shown(provider: str, settings: dict[str, str]) -> Shown:
    masked = {name: settings.get(f"{name}_hint", MASK) for name in SECRET_FIELDS[provider]}
    return Shown(provider, {k: v for k, v in settings.items() if not k.endswith("_hint")}, masked)


async def shown(uow: UnitOfWork, member: StaffMember, tenant_id: int) -> dict[str, Shown]:
    """The shop's own accounts, masked, by provider (a provider missing: the platform's is used)."""
    require_manager(member, tenant_id)
    async with uow:
        stored = {p: await uow.payment_accounts.current(tenant_id, p) for p in PROVIDERS}
    return {p: _shown(p, account.settings) for p, account in stored.items() if account is not None}


async def draft(
    uow: UnitOfWork, sealer: Sealer, member: StaffMember, tenant_id: int, provider: str, form: dict
) -> Account:
    """The account a form describes, for a connection test, with the stored secrets where it leaves them empty."""
    require_manager(member, tenant_id)
    stored = await current(uow, sealer, tenant_id, provider)
    settings, secrets = checked(provider, form, stored.secrets if stored else None)
    return Account(0, tenant_id, provider, settings, secrets)


async def save(uow: UnitOfWork, sealer: Sealer, member: StaffMember, tenant_id: int, provider: str, form: dict) -> str:
    require_manager(member, tenant_id)
    stored = await current(uow, sealer, tenant_id, provider)
    settings, secrets = checked(provider, form, stored.secrets if stored else None)
    hints = {f"{name}_hint": mask(value) for name, value in secrets.items()}
    async with uow:
        await uow.payment_accounts.replace(tenant_id, provider, settings | hints, sealer.seal(secrets), member.user_id)
        await uow.audit.write(
            _in_shop(member, tenant_id), "payment_account_saved", f"shop:{tenant_id}", provider=provider
        )
        await uow.commit()
    return f"Saved: new {provider} payments of this shop use its own account."


async def remove(uow: UnitOfWork, member: StaffMember, tenant_id: int, provider: str) -> str:
    require_manager(member, tenant_id)
    async with uow:
        if not await uow.payment_accounts.deactivate(tenant_id, _provider(provider)):
            raise Refused(f"this shop has no {provider} account of its own")
        await uow.audit.write(
            _in_shop(member, tenant_id), "payment_account_removed", f"shop:{tenant_id}", provider=provider
        )
        await uow.commit()
    return f"Removed: new {provider} payments use the platform's account; payments in flight keep theirs."


async def current(uow: UnitOfWork, sealer: Sealer, tenant_id: int, provider: str) -> Account | None:
    """The shop's own account for new payments, opened; None: the platform's is used."""
    async with uow:
        stored = await uow.payment_accounts.current(tenant_id, provider)
    return _open(sealer, stored)


async def by_id(uow: UnitOfWork, sealer: Sealer, account_id: int) -> Account | None:
    """The account a payment was asked with (active or not), opened."""
    async with uow:
        stored = await uow.payment_accounts.by_id(account_id)
    return _open(sealer, stored)


async def reseal_all(uow: UnitOfWork, sealer: Sealer) -> int:
    """Encrypt every account again with the first key of SHOP_SECRETS_KEY; how many were changed."""
    changed = 0
    async with uow:
        for account_id, sealed in await uow.payment_accounts.every_sealed():
            changed += await uow.payment_accounts.reseal(account_id, sealed, sealer.reseal(sealed))
        await uow.commit()
    return changed


def _open(sealer: Sealer, stored) -> Account | None:
    if stored is None:
        return None
    settings = {k: v for k, v in stored.settings.items() if not k.endswith("_hint")}
    return Account(stored.id, stored.tenant_id, stored.provider, settings, sealer.open(stored.sealed))


def _in_shop(member: StaffMember, tenant_id: int) -> StaffMember:
    """The audit log is per shop: an operator's action on a shop is written to that shop's log."""
    return StaffMember(member.user_id, tenant_id, member.email, member.role)
