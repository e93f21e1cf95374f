"""A real Rasa 3.6 server and a real action server, started once per test run on free ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from devstack.model import ensure_model
from devstack.processes import Process, rasa_environment, start_action_server, start_rasa_server
from devstack.services import Services


@dataclass
class Bot:
    rasa: Process
    actions: Process

    async def say(self, sender: str, text: str, metadata: dict | None = None) -> str:
        """Send one message through the REST channel; return the replies joined by newlines."""
        body = {"sender": sender, "message": text, **({"metadata": metadata} if metadata else {})}
        async with httpx.AsyncClient(base_url=self.rasa.url, timeout=60) as client:
            response = await client.post("/webhooks/rest/webhook", json=body)
        response.raise_for_status()
        return "\n".join(message.get("text", "") for message in response.json())

    async def tracker(self, sender: str) -> dict:
        async with httpx.AsyncClient(base_url=self.rasa.url, timeout=30) as client:
            response = await client.get(f"/conversations/{sender}/tracker")
        response.raise_for_status()
        return response.json()

    async def slot(self, sender: str, name: str):
        return (await self.tracker(sender))["slots"].get(name)


@pytest.fixture(scope="session")
def bot(services: Services, database_url: str, redis_key_prefix: str, tmp_path_factory) -> Iterator[Bot]:
    logs = tmp_path_factory.mktemp("logs")
    model = ensure_model(quiet=True)
    test_services = Services(database_url, services.redis_url)
    actions = start_action_server(test_services, logs)
    try:
        rasa = start_rasa_server(
            model, rasa_environment(test_services, f"{actions.url}/webhook", redis_key_prefix), logs
        )
    except Exception:
        actions.stop()
        raise
    yield Bot(rasa, actions)
    rasa.stop()
    actions.stop()


@pytest.fixture
def sender() -> str:
    return f"2547{uuid.uuid4().int % 10**8:08d}"
