"""The WhatsApp Cloud API channel: Meta's webhook in, Graph API messages out.

Configure it in credentials.yml as `bot.channels.whatsapp.WhatsAppInput:`; its settings come from
the environment (bot/whatsapp/settings.py, .env.example). The webhook is
`/webhooks/whatsapp/webhook`. A POST is checked (signature), its messages to numbers a shop owns
queued in Redis once each (bot/whatsapp/inbox.py), and answered 200 before any of them is handled;
each conversation's burst is then handled in timestamp order, one Rasa turn after another.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import replace
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text
from urllib.parse import unquote

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.lock_store import LockError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import logs
from bot.logs import mask_phones
from bot.stores.connection import Postgres
from bot.stores.tracker import ContextUnavailable
from bot.whatsapp import correlation
from bot.whatsapp.graph import GraphClient, SendFailed
from bot.whatsapp.inbound import Inbound, MalformedWebhook, Turn, parse_webhook, plan_turns, split_conversation_id
from bot.whatsapp.inbox import Inbox
from bot.whatsapp.outbound import choice_messages, image_message, mark_read, text_messages
from bot.whatsapp.reply_ids import ReplyIds
from bot.whatsapp.settings import WhatsAppSettings
from bot.whatsapp.shops import ShopNumbers, ShopsUnavailable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
# Sent without the conversation's state, so without its language: both, Swahili first.
BRIEFLY_UNAVAILABLE = (
    "Samahani, duka halipatikani kwa muda mfupi. Tafadhali tuma ujumbe wako tena baada ya dakika chache. 🙏\n"
    "Sorry, the shop is briefly unavailable. Please send your message again in a few minutes."
)
CHANNEL = "whatsapp"


def signature_matches(app_secret: str, body: bytes, header: Optional[str]) -> bool:
    """X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the raw body, keyed with the app secret."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def decode_conversation_ids(request: Request) -> None:
    """Rasa's API routes (`/conversations/<conversation_id:path>/...`) get the id as the URL has it: the
    Sanic of Rasa 3.6 does not decode route parameters. Decoded here, so that a quoted id, as every
    client of ours sends it ("106540352242922%3A254712345678"), is the conversation's own."""
    if "conversation_id" in request.match_info:
        request.match_info["conversation_id"] = unquote(request.match_info["conversation_id"])


class WhatsAppOutput(OutputChannel):
    """Rasa's replies to one conversation ("<phone_number_id>:<wa_id>") as WhatsApp messages."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, graph: GraphClient, replies: ReplyIds) -> None:
        self.graph = graph
        self.replies = replies

    async def _deliver(self, recipient_id: Text, build: Callable[[str], List[Dict[str, Any]]], text: str) -> None:
        phone_number_id, wa_id = split_conversation_id(recipient_id)
        bodies = build(wa_id)
        if bodies:
            await self.graph.deliver(recipient_id, phone_number_id, bodies, text)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._deliver(recipient_id, lambda to: text_messages(to, text), text)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        def sign(payload: str) -> str:
            return self.replies.sign(recipient_id, payload)

        await self._deliver(recipient_id, lambda to: choice_messages(to, text or "", buttons, sign), text)

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._deliver(recipient_id, lambda to: [image_message(to, image)], image)

    async def send_attachment(self, recipient_id: Text, attachment: Text, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """A response's `custom:` part is a WhatsApp message body of its own (a template, say)."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **json_message}
        await self._deliver(recipient_id, lambda to: [{**body, "to": to}], json.dumps(json_message)[:500])


class WhatsAppInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(WhatsAppSettings.from_env())

    def __init__(self, settings: WhatsAppSettings) -> None:
        logs.install()  # conversation ids are phone numbers: masked in every log line
        self.settings = settings
        self.replies = ReplyIds(settings.reply_key)
        self.shops = ShopNumbers(Postgres(settings.database_url))
        self.redis: Optional[Redis] = None
        self.inbox: Optional[Inbox] = None
        self.graph: Optional[GraphClient] = None
        self._tasks: Set[asyncio.Task] = set()
        self._locks: Dict[str, asyncio.Lock] = {}
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None

    def get_output_channel(self) -> Optional[OutputChannel]:
        """For messages the bot sends on its own (payment updates through Rasa's API)."""
        return WhatsAppOutput(self._started().graph, self.replies) if self._on_new_message else None

    def _started(self) -> "WhatsAppInput":
        if self.inbox is None:
            r = self.settings.redis
            self.redis = Redis(host=r.host, port=r.port, db=r.db, password=r.password)
            self.inbox = Inbox(self.redis, r.key_prefix, self.settings.debounce_seconds)
            self.graph = GraphClient(self.settings, self.inbox)
        return self

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self._on_new_message = on_new_message
        webhook = Blueprint("whatsapp_webhook", __name__)

        @webhook.listener("before_server_start")
        async def read_quoted_ids(app: Any, loop: Any) -> None:
            app.register_middleware(decode_conversation_ids, "request")

        @webhook.listener("after_server_start")
        async def start(app: Any, loop: Any) -> None:
            self._started()
            self._spawn(self._sweep())

        @webhook.listener("before_server_stop")
        async def stop(app: Any, loop: Any) -> None:
            for task in list(self._tasks):
                task.cancel()
            if self.graph:
                await self.graph.close()
            if self.redis:
                await self.redis.close()

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token.encode(), self.settings.verify_token.encode()
            ):
                return response.text(request.args.get("hub.challenge") or "")
            return response.text("verification failed", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            signature, correlation_id = (
                request.headers.get("X-Hub-Signature-256"),
                request.headers.get(correlation.HEADER),
            )
            return await self.receive(request.body or b"", signature, correlation_id)

        return webhook

    async def receive(
        self, body: bytes, signature: Optional[str], correlation_id: Optional[str] = None
    ) -> HTTPResponse:
        """Check, queue, answer; the messages are handled after the answer, under this POST's correlation id."""
        cid = correlation.take(correlation_id)

        def answer(content: Dict[str, Any], status: int = 200) -> HTTPResponse:
            return response.json(content, status=status, headers={correlation.HEADER: cid})

        if len(body) > MAX_BODY_BYTES:
            return answer({"error": "body too large"}, 413)
        if not signature_matches(self.settings.app_secret, body, signature):
            log.warning("whatsapp: webhook refused: missing or wrong X-Hub-Signature-256 [correlation_id=%s]", cid)
            return answer({"error": "invalid signature"}, 401)
        try:
            messages, statuses = parse_webhook(body, self.replies)
        except MalformedWebhook as e:
            log.warning("whatsapp: malformed webhook: %s [correlation_id=%s]", e, cid)
            return answer({"error": f"malformed webhook: {e}"}, 400)
        messages = [replace(m, correlation_id=cid) for m in messages]
        inbox = self._started().inbox
        try:
            messages = [m for m in messages if await self._for_a_shop(m)]
            for status in statuses:
                await self._record_status(status)
            accepted = [m for m in messages if await inbox.accept(m)]
        except ShopsUnavailable as e:
            log.error("whatsapp: cannot tell which shop messages are for: %s [correlation_id=%s]", e, cid)
            return answer({"error": "temporarily unavailable"}, 503)
        except RedisError as e:  # Meta retries: better a redelivery than a lost message
            log.error("whatsapp: cannot queue messages, Redis unavailable: %s [correlation_id=%s]", e, cid)
            return answer({"error": "temporarily unavailable"}, 503)
        for conversation in dict.fromkeys(m.conversation_id for m in accepted):
            self._spawn(self._after_debounce(conversation))
        if messages:
            ignored = len(messages) - len(accepted)
            log.info(
                "whatsapp: %d message(s) queued, %d redelivered ignored [correlation_id=%s]",
                len(accepted),
                ignored,
                cid,
            )
        return answer({"status": "accepted", "messages": len(accepted)})

    async def _for_a_shop(self, message: Inbound) -> bool:
        """A message to a number no shop owns is refused: never answered as some other shop, and
        acknowledged all the same, so that Meta does not deliver it again."""
        if await self.shops.owned(message.phone_number_id):
            return True
        log.warning(
            "whatsapp: message %s refused: no shop owns phone_number_id %s [correlation_id=%s]",
            message.message_id,
            message.phone_number_id,
            message.correlation_id,
        )
        return False

    async def _record_status(self, status: Any) -> None:
        if status.status == "failed":
            to = mask_phones(status.recipient_id)
            log.warning("whatsapp: message %s to %s failed: %s", status.message_id, to, status.errors)
            detail = {"message_id": status.message_id, "errors": status.errors}
            await self.inbox.record_undelivered(f"{status.phone_number_id}:{status.recipient_id}", "failed", detail)
        else:
            log.debug("whatsapp: message %s %s", status.message_id, status.status)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after_debounce(self, conversation: str) -> None:
        await asyncio.sleep(self.settings.debounce_seconds + 0.05)
        await self.handle(conversation)

    async def _sweep(self) -> None:
        """Handles bursts nobody took: messages queued by a server that stopped before handling them."""
        while True:
            await asyncio.sleep(max(self.settings.debounce_seconds, 1.0))
            try:
                for conversation in await self.inbox.due():
                    if conversation not in self._locks:
                        self._spawn(self.handle(conversation))
            except RedisError as e:
                log.warning("whatsapp: sweep failed: %s", e)

    async def handle(self, conversation: str) -> None:
        """Take the conversation's finished burst and run its turns, one after another."""
        lock = self._locks.setdefault(conversation, asyncio.Lock())
        try:
            async with lock:
                messages = await self.inbox.take(conversation)
                for turn in plan_turns(messages or [], time.time(), self.settings.max_message_age_seconds):
                    await self._run_turn(conversation, turn)
        except Exception:
            log.exception("whatsapp: handling conversation %s failed", mask_phones(conversation))
        finally:
            if not lock.locked():
                self._locks.pop(conversation, None)

    async def _run_turn(self, conversation: str, turn: Turn) -> None:
        cid = correlation.take(turn.last.correlation_id or None)  # a burst over several POSTs goes on under the last
        correlation.current.set(cid)  # for the Graph API calls of this turn (this task only)
        merged = sorted({m.correlation_id for m in turn.messages} - {cid, ""})
        also = f" (also {', '.join(merged)})" if merged else ""
        log.info(
            "whatsapp: turn of %d message(s) for %s [correlation_id=%s]%s",
            len(turn.messages),
            mask_phones(conversation),
            cid,
            also,
        )
        phone_number_id = turn.last.phone_number_id
        try:
            await self.graph.post(phone_number_id, mark_read(turn.last.message_id))
        except SendFailed as e:
            log.info("whatsapp: could not mark %s read: %s", turn.last.message_id, e)
        message = UserMessage(
            turn.text,
            WhatsAppOutput(self.graph, self.replies),
            conversation,
            input_channel=CHANNEL,
            message_id=turn.last.message_id,
            metadata={**turn.metadata(), correlation.FIELD: cid},
        )
        try:
            await self._on_new_message(message)
        except (LockError, ContextUnavailable) as e:
            # The conversation's state is out of reach (Redis): no answer is guessed without it.
            log.error("whatsapp: %s not answered, conversation state unavailable: %s", mask_phones(conversation), e)
            _, wa_id = split_conversation_id(conversation)
            for body in text_messages(wa_id, BRIEFLY_UNAVAILABLE):
                await self.graph.post(phone_number_id, body)
