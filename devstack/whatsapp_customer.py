"""A customer writing to a shop's WhatsApp number, as Meta would deliver it: signed webhook POSTs to a
Rasa server's WhatsApp channel, and the replies read back from the fake Graph API that recorded them
(devstack/fake_graph.py). Used by the end-to-end tests and the fault suite."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from typing import Any

import httpx

PHONE_NUMBER_ID = "109999000000001"


def text_of(body: dict[str, Any]) -> str:
    if body.get("type") == "text":
        return body["text"]["body"]
    if body.get("type") == "interactive":
        return body["interactive"]["body"]["text"]
    return json.dumps(body)


def choices(body: dict[str, Any]) -> list[dict[str, str]]:
    """The buttons or list rows of an interactive message, as {"id", "title", "kind"}."""
    interactive = body["interactive"]
    if interactive["type"] == "button":
        return [{**b["reply"], "kind": "button_reply"} for b in interactive["action"]["buttons"]]
    rows = [row for section in interactive["action"]["sections"] for row in section["rows"]]
    return [{"id": r["id"], "title": r["title"], "kind": "list_reply"} for r in rows]


class WhatsAppCustomer:
    """One customer writing to the shop's WhatsApp number, as Meta would deliver it."""

    def __init__(self, rasa_url: str, graph_url: str, app_secret: str, wa_id: str) -> None:
        self.rasa_url, self.graph_url, self.app_secret, self.wa_id = rasa_url, graph_url, app_secret, wa_id
        self.seen = 0  # replies already looked at
        self.counter = 0

    @property
    def conversation(self) -> str:
        return f"{PHONE_NUMBER_ID}:{self.wa_id}"

    def webhook(self, content: dict[str, Any]) -> bytes:
        self.counter += 1
        message = {"from": self.wa_id, "id": f"wamid.{self.wa_id}.{self.counter}.{random.random()}",
                   "timestamp": str(int(time.time())), **content}  # fmt: skip
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "254700000001", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Wanjiru"}, "wa_id": self.wa_id}],
            "messages": [message],
        }
        entry = {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
        payload = {"object": "whatsapp_business_account", "entry": [entry]}
        return json.dumps(payload).encode()

    def signature(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    async def post(
        self, body: bytes, signature: str | None = None, correlation_id: str | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature or self.signature(body)}
        headers |= {"X-Correlation-ID": correlation_id} if correlation_id else {}
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(f"{self.rasa_url}/webhooks/whatsapp/webhook", content=body, headers=headers)

    async def send(self, content: dict[str, Any], correlation_id: str | None = None) -> bytes:
        body = self.webhook(content)
        response = await self.post(body, correlation_id=correlation_id)
        assert response.status_code == 200, response.text
        return body

    async def says(self, text: str) -> bytes:
        return await self.send({"type": "text", "text": {"body": text}})

    async def taps(self, choice: dict[str, str], correlation_id: str | None = None) -> bytes:
        kind = choice["kind"]
        reply = {"id": choice["id"], "title": choice["title"]}
        return await self.send({"type": "interactive", "interactive": {"type": kind, kind: reply}}, correlation_id)

    async def sent(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.graph_url}/graph/sent", params={"to": self.wa_id})
        return [entry["body"] for entry in response.json() if "refused" not in entry]

    async def expect(self, fragment: str, seconds: float = 60) -> dict[str, Any]:
        """The next reply that contains `fragment`; the replies before it are passed over."""
        replies: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            replies = await self.sent()
            for n, body in enumerate(replies[self.seen :], start=self.seen):
                if fragment in text_of(body):
                    self.seen = n + 1
                    return body
            await asyncio.sleep(0.3)
        raise AssertionError(f"no reply with {fragment!r}; the last ones: {[text_of(b) for b in replies[-4:]]}")
