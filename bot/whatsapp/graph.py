"""Sending to customers through the Graph API, with retries, inside WhatsApp's 24-hour window."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional

import httpx

from bot.logs import mask_phones
from bot.whatsapp import correlation
from bot.whatsapp.inbox import Inbox
from bot.whatsapp.outbound import template_message
from bot.whatsapp.settings import WhatsAppSettings

log = logging.getLogger(__name__)

# Meta's codes for "too fast" (per number, per customer) and a temporary fault: wait and retry.
RETRY_CODES = {130429, 131056, 131000, 1, 2}
OUTSIDE_WINDOW = 131047  # "re-engagement message": more than 24 hours since the customer wrote
MAX_RETRY_AFTER = 30.0


@dataclass
class SendFailed(Exception):
    status: int
    code: Optional[int]
    message: str

    def __str__(self) -> str:
        return f"Graph API refused the message: HTTP {self.status}, code {self.code}: {self.message}"


class GraphClient:
    def __init__(self, settings: WhatsAppSettings, inbox: Inbox, http: Optional[httpx.AsyncClient] = None) -> None:
        self.settings = settings
        self.inbox = inbox
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0))

    async def close(self) -> None:
        await self.http.aclose()

    async def post(self, phone_number_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
        """POST one body to /{phone_number_id}/messages, retrying with backoff on 429, 5xx and throttling codes."""
        token = self.settings.access_token(phone_number_id)
        if not token:
            raise SendFailed(0, None, f"no access token for phone_number_id {phone_number_id}")
        url = f"{self.settings.graph_url}/{self.settings.api_version}/{phone_number_id}/messages"
        headers = {"Authorization": f"Bearer {token}"}
        if correlation.current.get():
            headers[correlation.HEADER] = correlation.current.get()
        attempt = 0
        while True:
            try:
                response = await self.http.post(url, json=body, headers=headers)
            except httpx.TransportError as e:
                failure, wait = SendFailed(0, None, type(e).__name__), None
            else:
                if response.is_success:
                    return response.json()
                failure, wait = _failure(response), _retry_after(response)
            retryable = failure.status in (0, 429) or failure.status >= 500 or failure.code in RETRY_CODES
            if not retryable or attempt >= self.settings.send_retries:
                raise failure
            delay = wait if wait is not None else self.settings.retry_base_seconds * 2**attempt
            log.info("whatsapp: %s; retry %d in %.1f s", failure, attempt + 1, delay)
            await asyncio.sleep(delay)
            attempt += 1

    async def deliver(
        self,
        conversation: str,
        phone_number_id: str,
        bodies: List[Dict[str, Any]],
        text: str,
        sent: Optional[Callable[[Dict[str, Any]], Awaitable[None]]] = None,
    ) -> bool:
        """Send one reply (maybe several messages); outside the 24-hour window, the configured template
        or a recorded failure. `text` is the reply's words, for the template; `sent` is told of each
        body the Graph API took."""
        if not await self.inbox.within_window(conversation):
            return await self._outside_window(conversation, phone_number_id, bodies, text)
        for body in bodies:
            try:
                await self.post(phone_number_id, body)
                if sent is not None:
                    await sent(body)
            except SendFailed as e:
                if e.code == OUTSIDE_WINDOW:
                    return await self._outside_window(conversation, phone_number_id, bodies, text)
                log.error("whatsapp: reply to %s not delivered: %s", mask_phones(body.get("to", "")), e)
                detail = {"error": str(e), "type": body.get("type")}
                await self.inbox.record_undelivered(conversation, "refused", detail)
                return False
        return True

    async def _outside_window(
        self, conversation: str, phone_number_id: str, bodies: List[Dict[str, Any]], text: str
    ) -> bool:
        to = bodies[0]["to"] if bodies else ""
        name = self.settings.template_name
        if name:
            try:
                await self.post(phone_number_id, template_message(to, name, self.settings.template_language, text))
                return True
            except SendFailed as e:
                reason = f"template {name} refused: {e}"
        else:
            reason = "outside the 24-hour window and no WHATSAPP_TEMPLATE_NAME is set"
        log.warning("whatsapp: reply to %s not delivered: %s", mask_phones(to), reason)
        await self.inbox.record_undelivered(conversation, "outside_window", {"reason": reason, "text": text[:500]})
        return False


def _failure(response: httpx.Response) -> SendFailed:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    code = error.get("code")
    return SendFailed(response.status_code, code if isinstance(code, int) else None, str(error.get("message", "")))


def _retry_after(response: httpx.Response) -> Optional[float]:
    try:
        return min(float(response.headers["Retry-After"]), MAX_RETRY_AFTER)
    except (KeyError, ValueError):
        return None
