"""The providers the shop can take money with, behind the commerce core's `PaymentProviders` port.

Adding a provider is one module (its client, its webhook parser, its `…Provider` class with `name`,
`request` and `check`) and one line in `PROVIDERS`; `METHODS` says which payment method a customer
chooses in the chat reaches it.
"""

from __future__ import annotations

import httpx

from actions.commerce.errors import PaymentUnavailable
from actions.commerce.payments import Notice
from actions.commerce.ports import PaymentProvider
from actions.commerce.shop_accounts import Account
from actions.payments.accounts import AccountSource
from actions.payments.mpesa import MpesaProvider, TokenCache
from actions.payments.paystack import PaystackProvider
from actions.settings import Settings

PROVIDERS = {provider.name: provider for provider in (MpesaProvider, PaystackProvider)}
METHODS = {"mpesa": MpesaProvider.name, "card": PaystackProvider.name}


class Providers:
    """Each provider, with the platform's accounts from the settings and shops' own from `accounts`: whether
    one is configured is known only once the shop is (its request, or its check, says PaymentUnavailable)."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        mpesa_tokens: TokenCache,
        accounts: AccountSource | None = None,
    ) -> None:
        self._providers = {name: kind(settings, http, mpesa_tokens, accounts) for name, kind in PROVIDERS.items()}

    def get(self, name: str) -> PaymentProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise PaymentUnavailable(f"no payment provider called {name!r}")
        return provider

    @property
    def paystack(self) -> PaystackProvider:
        return self._providers[PaystackProvider.name]

    async def test_connection(self, account: Account) -> str:
        """Whether the provider takes a shop's account: what it said (never a secret), or PaymentUnavailable."""
        try:
            return await self._providers[account.provider].test_connection(account)
        except Exception as e:
            raise PaymentUnavailable(_without(str(e), account)) from None

    def paid_notice(self, name: str) -> Notice:
        return PROVIDERS[name].paid_notice

    def for_method(self, method: str) -> PaymentProvider:
        return self.get(METHODS.get(method, method))


def _without(message: str, account: Account) -> str:
    """A provider's error message with any of the account's secrets cut out (a URL or a header echoed back)."""
    for secret in account.secrets.values():
        if secret:
            message = message.replace(secret, "••••")
    return message[:300]
