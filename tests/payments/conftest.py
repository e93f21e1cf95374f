from collections.abc import AsyncIterator

import httpx
import pytest

from actions.commerce.money import Money
from actions.payments.mpesa import DarajaClient, TokenCache
from actions.payments.paystack import PaystackClient
from tests.payments.providers import PAYSTACK_SECRET, FakeDaraja, FakePaystack, daraja_config


@pytest.fixture
def daraja() -> FakeDaraja:
    return FakeDaraja()


@pytest.fixture
async def daraja_http(daraja: FakeDaraja) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(daraja.handle)) as http:
        yield http


@pytest.fixture
def mpesa_client(daraja_http: httpx.AsyncClient) -> DarajaClient:
    return DarajaClient(daraja_config(), daraja_http, TokenCache())


@pytest.fixture
def paystack_fake() -> FakePaystack:
    return FakePaystack()


@pytest.fixture
async def paystack_client(paystack_fake: FakePaystack) -> AsyncIterator[PaystackClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(paystack_fake.handle)) as http:
        yield PaystackClient(PAYSTACK_SECRET, http, base_url="https://paystack.test")


@pytest.fixture
def money() -> Money:
    return Money(18000, "KES")  # KES 180
