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
from actions.payments.mpesa import MpesaProvider, TokenCache
from actions.payments.paystack import PaystackProvider
from actions.settings import Settings

PROVIDERS = {provider.name: provider for provider in (MpesaProvider, PaystackProvider)}
METHODS = {"mpesa": MpesaProvider.name, "card": PaystackProvider.name}


class Providers:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, mpesa_tokens: TokenCache) -> None:
        self._providers = {name: kind(settings, http, mpesa_tokens) for name, kind in PROVIDERS.items()}

    def get(self, name: str) -> PaymentProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise PaymentUnavailable(f"no payment provider called {name!r}")
        if not provider.configured:
            raise PaymentUnavailable(provider.unconfigured)
        return provider

    def paid_notice(self, name: str) -> Notice:
        return PROVIDERS[name].paid_notice

    def for_method(self, method: str) -> PaymentProvider:
        return self.get(METHODS.get(method, method))
