"""The WhatsApp Cloud API channel: Meta's webhook in, Graph API messages out.

Configure it in credentials.yml as `bot.channels.whatsapp.WhatsAppInput:`; its settings come from
the environment (bot/whatsapp/settings.py, .env.example). The webhook is
`/webhooks/whatsapp/webhook`. A POST is checked (signature), its messages to numbers a shop owns
queued in Redis once each (bot/whatsapp/inbox.py), and answered 200 before any of them is handled;
each conversation's burst is then handled in timestamp order, one Rasa turn after another.

No message is lost or answered twice when a Rasa server dies mid-turn: a burst taken for its turns
stays in flight in Redis under this server's lease, renewed while the turns run, and is acknowledged
only after them (Rasa saves a turn's tracker before `on_new_message` returns). A lease that expires
lets another server's sweep take the burst again; a turn whose message is already in the tracker is
not run again, and replies the dead server sent for a turn are not sent twice (SentReplies). Each turn
takes its lock-store ticket before anything else, so turns keep the order their messages arrived in.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
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
from bot.stores.lock import TicketLockStore
from bot.stores.tracker import ContextUnavailable, answered_message_ids
from bot.whatsapp import correlation
from bot.whatsapp.graph import GraphClient, SendFailed
from bot.whatsapp.inbound import Inbound, MalformedWebhook, Turn, parse_webhook, plan_turns, split_conversation_id
from bot.whatsapp.inbox import Burst, Inbox, SentReplies
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
SWEEP_GRACE_SECONDS = 1.0  # the sweep leaves a burst this long past its debounce to the server that received it
MAX_TAKES = 3  # a burst whose servers all died this often is given up (recorded), not taken again


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

    def __init__(self, graph: GraphClient, replies: ReplyIds, sent: Optional[SentReplies] = None) -> None:
        self.graph = graph
        self.replies = replies
        self.sent = sent  # a customer's turn: what an earlier run of it sent is not sent again

    async def _deliver(self, recipient_id: Text, build: Callable[[str], List[Dict[str, Any]]], text: str) -> None:
        phone_number_id, wa_id = split_conversation_id(recipient_id)
        bodies = build(wa_id)
        if self.sent is not None:
            bodies = [body for body in bodies if self.sent.unsent(body)]
        if bodies:
            await self.graph.deliver(
                recipient_id, phone_number_id, bodies, text, self.sent.record if self.sent else None
            )

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
        self.tickets: Optional[TicketLockStore] = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # this server, in leases
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
            self.inbox = Inbox(self.redis, r.key_prefix, self.settings.debounce_seconds, self.settings.lease_seconds)
            self.graph = GraphClient(self.settings, self.inbox)
            # Rasa's own lock store (endpoints.yml) on the same Redis and prefix: the same tickets.
            self.tickets = TicketLockStore(
                url=r.host, port=r.port, db=r.db, password=r.password, key_prefix=r.key_prefix
            )
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
            if self.tickets:
                await self.tickets.redis.close()

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
        """Handles bursts nobody took (queued by a server that stopped before handling them) and bursts
        whose lease expired (taken by a server that died mid-turn)."""
        while True:
            await asyncio.sleep(max(self.settings.debounce_seconds, 1.0))
            try:
                for conversation in await self.inbox.due(SWEEP_GRACE_SECONDS):
                    if conversation not in self._locks:
                        self._spawn(self.handle(conversation))
            except RedisError as e:
                log.warning("whatsapp: sweep failed: %s", e)

    async def handle(self, conversation: str) -> None:
        """Take the conversation's finished bursts and run their turns, one after another: after each
        burst, whatever arrived while it was in flight."""
        lock = self._locks.setdefault(conversation, asyncio.Lock())
        try:
            async with lock:
                while (burst := await self.inbox.take(conversation, self.owner)) is not None:
                    await self._run_burst(burst)
        except Exception:  # Redis, say: what was taken stays in flight, and is taken again when its lease ends
            log.exception("whatsapp: handling conversation %s failed", mask_phones(conversation))
        finally:
            if not lock.locked():
                self._locks.pop(conversation, None)

    async def _run_burst(self, burst: Burst) -> None:
        """The burst's turns under its lease, then the acknowledgement. A turn that fails is logged and the
        others still run; a server that dies (or stops) before the acknowledgement leaves it to another."""
        conversation = mask_phones(burst.conversation)
        if burst.takes > MAX_TAKES:
            log.error(
                "whatsapp: burst of %s given up: taken %d times, by servers that stopped", conversation, burst.takes - 1
            )
            ids = [m.message_id for m in burst.messages]
            await self.inbox.record_undelivered(burst.conversation, "given_up", {"message_ids": ids})
            await self.inbox.ack(burst)
            return
        if burst.taken_again:
            what = "whatsapp: burst of %d message(s) for %s taken again (take %d): its server stopped mid-turn"
            log.warning(what, len(burst.messages), conversation, burst.takes)
        keeper = asyncio.ensure_future(self._keep_leased(burst))
        try:
            for turn in plan_turns(burst.messages, time.time(), self.settings.max_message_age_seconds):
                try:
                    await self._run_turn(burst, turn)
                except Exception:
                    log.exception("whatsapp: a turn for %s failed; the burst's other turns go on", conversation)
        finally:
            keeper.cancel()
        if not await self.inbox.ack(burst):
            log.warning("whatsapp: burst of %s was taken over by another server before it was finished", conversation)

    async def _keep_leased(self, burst: Burst) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            try:
                if not await self.inbox.renew(burst):
                    log.warning("whatsapp: lease on %s lost to another server", mask_phones(burst.conversation))
                    return
            except RedisError as e:  # the lease may end; whoever takes the burst over skips the saved turns
                log.warning("whatsapp: could not renew the lease on %s: %s", mask_phones(burst.conversation), e)

    async def _run_turn(self, burst: Burst, turn: Turn) -> None:
        conversation = burst.conversation
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
            # The ticket first, before any Graph API call: turns keep the order their messages arrived in.
            async with self.tickets.lock(conversation):  # Rasa's lock inside finds it held
                if burst.taken_again and await self._saved_before(burst, turn):
                    what = (
                        "whatsapp: turn for %s was saved before its server stopped: not run again [correlation_id=%s]"
                    )
                    log.info(what, mask_phones(conversation), cid)
                    return
                try:
                    await self.graph.post(phone_number_id, mark_read(turn.last.message_id))
                except SendFailed as e:
                    log.info("whatsapp: could not mark %s read: %s", turn.last.message_id, e)
                output = WhatsAppOutput(
                    self.graph, self.replies, await SentReplies.of(self.inbox, burst, turn.last.message_id)
                )
                message = UserMessage(
                    turn.text,
                    output,
                    conversation,
                    input_channel=CHANNEL,
                    message_id=turn.last.message_id,
                    metadata={**turn.metadata(), correlation.FIELD: cid},
                )
                await self._on_new_message(message)
        except (LockError, ContextUnavailable) as e:
            # The conversation's state is out of reach (Redis): no answer is guessed without it.
            log.error("whatsapp: %s not answered, conversation state unavailable: %s", mask_phones(conversation), e)
            _, wa_id = split_conversation_id(conversation)
            for body in text_messages(wa_id, BRIEFLY_UNAVAILABLE):
                await self.graph.post(phone_number_id, body)

    async def _saved_before(self, burst: Burst, turn: Turn) -> bool:
        """Whether a server that took this burst before saved this turn's tracker (under the ticket, so a
        turn still running elsewhere has finished)."""
        saved = await answered_message_ids(self.redis, self.settings.redis.key_prefix, burst.conversation)
        return any(m.message_id in saved for m in turn.messages)
