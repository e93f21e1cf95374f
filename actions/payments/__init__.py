"""The payment providers' edge: HTTP clients, payload parsers, signatures and result codes, and each
provider behind the commerce core's `PaymentProvider` port (`providers.py` lists them).

Plain functions and clients over an `httpx.AsyncClient` the caller owns; nothing here touches
the database or does work at import time. Recording what a provider said is the use cases' job
(`actions.commerce.settlement`).
"""
