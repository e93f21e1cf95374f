"""Where the providers find a shop's own payment account (the runtime gives them one over the database
and SHOP_SECRETS_KEY): the current one for a new payment, the one a payment was asked with for its checks."""

from __future__ import annotations

from typing import Protocol

from actions.commerce.shop_accounts import Account


class AccountSource(Protocol):
    async def current(self, tenant_id: int, provider: str) -> Account | None: ...

    async def by_id(self, account_id: int) -> Account | None: ...


class _NoAccounts:
    """Every shop paid through the platform's accounts (tests of the clients alone)."""

    async def current(self, tenant_id: int, provider: str) -> Account | None:
        return None

    async def by_id(self, account_id: int) -> Account | None:
        return None


NO_ACCOUNTS: AccountSource = _NoAccounts()
