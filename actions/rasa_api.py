"""The Rasa server's HTTP API as the commerce core's `Conversations` port (the worker, the admin pages
and the command line use it)."""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx

from actions.commerce.errors import ConversationsUnreachable
from actions.commerce.model import OrderNotice
from actions.commerce.payments import Notice
from actions.commerce.ports import OrderRecipient, PaymentRecipient

log = logging.getLogger("payments.notify")
PAYMENT_UPDATE = "EXTERNAL_payment_update"
ORDER_UPDATE = "EXTERNAL_order_update"
CART_REMINDER = "EXTERNAL_cart_reminder"


def conversation_path(conversation_id: str) -> str:
    """Where Rasa's API keeps a conversation: the id quoted whole, so that a "/", "?" or "#" in it stays
    part of it (the WhatsApp channel decodes it again on the Rasa server)."""
    return f"/conversations/{quote(conversation_id, safe='')}"


class RasaConversations:
    def __init__(self, http: httpx.AsyncClient, rasa_url: str, token: str | None) -> None:
        self._http = http
        self._url = rasa_url.rstrip("/")
        self._params = {"token": token} if token else {}

    def _conversation(self, conversation_id: str) -> str:
        return self._url + conversation_path(conversation_id)

    async def _post(self, url: str, body: object, **params: str) -> None:
        """ConversationsUnreachable unless Rasa took it: a job that gets it is tried again (actions/jobs.py)."""
        try:
            response = await self._http.post(url, params={**params, **self._params}, json=body)
        except httpx.HTTPError as e:
            raise ConversationsUnreachable(f"cannot reach Rasa at {self._url}: {e}") from e
        if response.status_code != 200:
            raise ConversationsUnreachable(f"Rasa answered {response.status_code}: {response.text[:300]}")

    async def resume(self, conversation_id: str) -> None:
        """Hand a paused conversation back to the bot."""
        # "action_listen" after "resume": the next message is read as a fresh turn, not a reply to the hand-off.
        events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        await self._post(self._conversation(conversation_id) + "/tracker/events", events)

    async def payment_update(self, recipient: PaymentRecipient, notice: Notice) -> None:
        """Trigger the payment-update intent in the customer's conversation, on the channel they last used."""
        entities = {"order_number": recipient.order_number, "payment_status": recipient.status.value, "reason": notice}
        url = self._conversation(recipient.conversation_id) + "/trigger_intent"
        await self._post(url, {"name": PAYMENT_UPDATE, "entities": entities}, output_channel="latest")

    async def order_update(self, recipient: OrderRecipient, notice: OrderNotice, reason: str) -> None:
        """Trigger the order-update intent (packed, out for delivery, delivered, cancelled and why)."""
        entities = {"order_number": recipient.order_number, "order_status": notice.value, "reason": reason}
        url = self._conversation(recipient.conversation_id) + "/trigger_intent"
        await self._post(url, {"name": ORDER_UPDATE, "entities": entities}, output_channel="latest")

    async def cart_reminder(self, conversation_id: str, language: str | None) -> None:
        """Trigger the cart-reminder intent; the reply's language is the conversation's `language` slot,
        and `language` (the one stored with the customer) only when the conversation has none."""
        entities = {"language": language} if language else {}
        url = self._conversation(conversation_id) + "/trigger_intent"
        await self._post(url, {"name": CART_REMINDER, "entities": entities}, output_channel="latest")

    async def say(self, conversation_id: str, text: str, metadata: dict) -> None:
        """The bot's message appended to the conversation and sent on the channel the customer last used
        (Rasa's `execute_side_effects`): it goes out while the bot is paused there too, and stays in the
        conversation's events, where the inbox and `make chat`'s shell read it."""
        url = self._conversation(conversation_id) + "/tracker/events"
        event = {"event": "bot", "text": text, "metadata": metadata}
        await self._post(url, [event], execute_side_effects="true", output_channel="latest")
