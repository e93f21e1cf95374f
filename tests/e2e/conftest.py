"""The whole product on free ports: Rasa 3.6, the action server, the sidecar, the worker and the
payment simulator, started once per test run."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from actions.rasa_api import conversation_path
from devstack.model import ensure_model
from devstack.paths import DATA_DIR
from devstack.processes import Process, start_rasa_server
from devstack.services import Services
from devstack.stack import Stack, start_stack
from tests.e2e.layout import DESKTOP, PHONE, Viewport


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
            response = await client.get(conversation_path(sender) + "/tracker")
        response.raise_for_status()
        return response.json()

    async def slot(self, sender: str, name: str):
        return (await self.tracker(sender))["slots"].get(name)

    async def wait_for_reply(self, sender: str, text: str, seconds: float = 40) -> str:
        """A message the bot sent on its own (a payment update), as it appears in the conversation."""
        said: list[str] = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    events = (await self.tracker(sender))["events"]
                    said = [e.get("text") or "" for e in events if e["event"] == "bot"]
                    if found := [t for t in said if text in t]:
                        return found[-1]
                    await asyncio.sleep(0.5)
        except TimeoutError:
            raise AssertionError(f"the bot never said {text!r} to {sender}; its last words: {said[-3:]}") from None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def stack(services: Services, database_url: str, redis_key_prefix: str, tmp_path_factory) -> Iterator[Stack]:
    """Reconciliation asks about a silent payment after 6 s, then 2, 4, 8 s later. The sidecar reads the
    conversations (the inbox, the review) where this run's Rasa keeps them."""
    started = start_stack(
        Services(database_url, services.redis_url),
        tmp_path_factory.mktemp("logs"),
        REDIS_KEY_PREFIX=redis_key_prefix,
        RECONCILE_FIRST_CHECK_SECONDS="6",
        RECONCILE_BACKOFF_SECONDS="2",
        RECONCILE_INTERVAL_SECONDS="1",
        SIMULATOR_CALLBACK_DELAY="0.5",
        SIMULATOR_LATE_DELAY="30",
        SIMULATOR_PAYSTACK_AUTOPAY="1",
        WHATSAPP_DEBOUNCE_SECONDS="0.5",
        WHATSAPP_LEASE_SECONDS="3",  # renewed every second while a turn runs; a killed server's burst waits 3 s
        WHATSAPP_RETRY_BASE_SECONDS="0.2",
    )
    yield started
    started.stop()


@pytest.fixture(scope="session")
def bot(stack: Stack, redis_key_prefix: str, tmp_path_factory) -> Iterator[Bot]:
    rasa = start_rasa_server(
        ensure_model(quiet=True),
        stack.rasa_env(redis_key_prefix),
        tmp_path_factory.mktemp("rasa-logs"),
        stack.rasa_port,
    )
    yield Bot(rasa, stack.process("actions"))
    rasa.stop()


@pytest.fixture
def sender() -> str:
    return f"2547{uuid.uuid4().int % 10**8:08d}"


# --- pages in a real browser (Debian's chromium, driven by Playwright) ------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = DATA_DIR / "screenshots"


@pytest.fixture(params=[DESKTOP, PHONE], ids=lambda v: v.name)
def viewport(request) -> Viewport:
    """Every test that uses it (or `browser_page`) runs twice: on a desktop and on a phone."""
    return request.param


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[object]:
    """One headless Chromium for the whole run; each test gets its own context (cookies, viewport)."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def browser_page(request, chromium, viewport: Viewport) -> AsyncIterator[object]:
    """A fresh page in `viewport`. When the test fails, a screenshot of the whole page as it was is kept
    in .data/screenshots/<test>.png and its path printed."""
    context = await chromium.new_context(
        viewport={"width": viewport.width, "height": viewport.height},
        is_mobile=viewport.is_mobile,
        has_touch=viewport.has_touch,
        device_scale_factor=2 if viewport.is_mobile else 1,
    )
    page = await context.new_page()
    yield page
    outcome = getattr(request.node, "rep_call", None)  # set by pytest_runtest_makereport above
    if outcome is not None and outcome.failed:
        print(f"screenshot: {await screenshot(page, request.node.name)}")
    await context.close()


async def screenshot(page, name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')}.png"
    await page.screenshot(path=str(shot), full_page=True)
    return str(shot)
