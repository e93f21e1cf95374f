"""The documented provider payloads, and in-memory fakes of the providers that answer with them.

Fakes exist only for these external providers; every answer is a documented file, or that file
with the one field a test is about changed.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from pathlib import Path
from typing import Any

import httpx

from actions.payments.mpesa import DarajaConfig

# The providers' documented payloads and facts, copied unchanged into the repo (tests/providers/).
PROVIDERS = Path(__file__).resolve().parents[1] / "providers"

SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
PAYSTACK_SECRET = "sk_test_0123456789abcdef"


def daraja_config(**overrides: str) -> DarajaConfig:
    values = {
        "base_url": "https://daraja.test",
        "consumer_key": "consumer-key-1",
        "consumer_secret": "consumer-secret-1",
        "shortcode": "174379",
        "passkey": SANDBOX_PASSKEY,
        "transaction_type": "CustomerPayBillOnline",
        "callback_url": "https://shop.test/mpesa/callback/unguessable-token",
    }
    return DarajaConfig(**(values | overrides))


def raw(provider: str, name: str) -> bytes:
    return (PROVIDERS / provider / f"{name}.json").read_bytes()


def doc(provider: str, name: str) -> dict[str, Any]:
    """A fresh copy each time, so a test can change it without touching others."""
    return copy.deepcopy(json.loads(raw(provider, name)))


def mpesa(name: str) -> dict[str, Any]:
    return doc("mpesa", f"mpesa_{name}")


def paystack(name: str) -> dict[str, Any]:
    return doc("paystack", f"paystack_{name}")


class FakeDaraja:
    """Daraja's token, push and query endpoints. Like the real one, a new token invalidates the previous one."""

    def __init__(self) -> None:
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.expires_in: int | str = mpesa("oauth_token_response")["expires_in"]
        self.token_delay = 0.0
        self.current_token: str | None = None
        self.push_answer: tuple[int, dict] = (200, mpesa("stk_push_response_accepted"))
        self.query_answer: tuple[int, dict] = (200, mpesa("stk_query_response_success"))

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v1/generate":
            return await self._issue_token(request)
        self.api_requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {self.current_token}":
            return self._error(404, "404.001.03", "Invalid Access Token")
        status, body = {
            "/mpesa/stkpush/v1/processrequest": self.push_answer,
            "/mpesa/stkpushquery/v1/query": self.query_answer,
        }[request.url.path]
        return httpx.Response(status, json=body)

    async def _issue_token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests.append(request)
        await asyncio.sleep(self.token_delay)
        self.current_token = f"token-{len(self.token_requests)}"
        answer = mpesa("oauth_token_response") | {"access_token": self.current_token, "expires_in": self.expires_in}
        return httpx.Response(200, json=answer)

    def invalidate_token(self) -> None:
        """What another process fetching its own token does to ours."""
        self.current_token = "someone-elses-token"

    @staticmethod
    def _error(status: int, code: str, message: str) -> httpx.Response:
        body = mpesa("stk_push_error_400_invalid_shortcode") | {"errorCode": code, "errorMessage": message}
        return httpx.Response(status, json=body)

    def sent(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.api_requests[index].content)


def basic_auth(request: httpx.Request) -> str:
    scheme, _, credentials = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(credentials).decode()


class FakePaystack:
    """Paystack's initialize and verify endpoints."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.initialize_answer: tuple[int, dict] = (200, paystack("transaction_initialize_response"))
        self.verify_answer: tuple[int, dict] = (200, paystack("transaction_verify_response_success"))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST" and request.url.path == "/transaction/initialize":
            status, body = self.initialize_answer
        elif request.method == "GET" and request.url.path.startswith("/transaction/verify/"):
            status, body = self.verify_answer
        else:
            status, body = 404, {"status": False, "message": "Not found"}
        return httpx.Response(status, json=body)

    def sent(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)
