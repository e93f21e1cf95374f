"""What customers send: webhook payloads become messages, and a burst of messages becomes Rasa turns.

Meta's documented payloads are in ../shared/providers/whatsapp/. One POST can hold several entries,
changes and messages; status updates (sent, delivered, read, failed) ride in the same envelope and
are not messages.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from bot.whatsapp.reply_ids import ReplyIds

log = logging.getLogger(__name__)

# What the channel hands Rasa for messages that are not text (intents in domain.yml).
LATE_MESSAGE = "/late_message"
UNSUPPORTED_MESSAGE = "/unsupported_message"
SHARE_LOCATION = "share_location"
IGNORED_TYPES = {"reaction", "system", "ephemeral"}  # nothing to answer
CATEGORIES = {"text": "text", "interactive": "reply", "button": "reply", "location": "location"}
SIMPLE_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
EXTERNAL_PREFIX = "EXTERNAL_"  # intents the worker triggers through Rasa's API, never a customer
MAX_DEPTH = 32  # Meta's webhook is 8 levels deep
MAX_DIGITS = 20  # timestamps, ids and coordinates; a number of thousands of digits is no webhook's
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and unpaired surrogates: Redis, Rasa and PostgreSQL take neither
TIMESTAMP = re.compile(r"[0-9]{1,12}")


class MalformedWebhook(ValueError):
    """The only exception parse_webhook raises: the channel answers it 400."""


def read_webhook(body: bytes) -> Any:
    """The webhook's JSON, refusing what Meta never sends: not UTF-8, nesting deeper than MAX_DEPTH,
    numbers longer than MAX_DIGITS, NaN or Infinity, text with a NUL or a lone surrogate."""
    try:
        value = json.loads(bytes(body).decode("utf-8"), parse_int=_integer, parse_constant=_constant)
    except RecursionError:
        raise MalformedWebhook(f"nested more than {MAX_DEPTH} deep") from None
    except MalformedWebhook:
        raise
    except ValueError as e:  # not UTF-8, not JSON
        raise MalformedWebhook(f"not JSON: {e}") from None
    _check(value)
    return value


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise MalformedWebhook(f"a number of {len(digits)} digits")
    return int(digits)


def _constant(name: str) -> float:
    raise MalformedWebhook(f"{name} is not a JSON number")


def _check(value: Any) -> None:
    """Depth, numbers and text of a decoded webhook, without recursion."""
    waiting = [(value, 1)]
    while waiting:
        item, depth = waiting.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise MalformedWebhook(f"nested more than {MAX_DEPTH} deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            waiting.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and UNSTORABLE.search(item):
            raise MalformedWebhook("text with a NUL character or a lone surrogate")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 10**MAX_DIGITS:
            raise MalformedWebhook(f"a number of more than {MAX_DIGITS} digits")


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    """What Meta sends as text; numbers as their digits, and any other type as nothing."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value)


@dataclass(frozen=True)
class Inbound:
    """One customer message, reduced to what a Rasa turn needs."""

    message_id: str
    phone_number_id: str
    wa_id: str
    timestamp: int
    kind: str  # text | reply | location | unsupported
    text: str  # the text Rasa reads: the customer's words or an "/intent{...}" payload
    name: Optional[str] = None
    correlation_id: str = ""  # of the webhook POST that brought it (bot/whatsapp/correlation.py)

    @property
    def conversation_id(self) -> str:
        """One customer of one merchant: the same person writing to two shops has two conversations."""
        return conversation_id(self.phone_number_id, self.wa_id)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> "Inbound":
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class Status:
    message_id: str
    status: str
    recipient_id: str
    phone_number_id: str
    errors: List[Dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Turn:
    """What Rasa gets in one go: a merged burst of texts, or one reply, location or media message."""

    text: str
    messages: Tuple[Inbound, ...]

    @property
    def last(self) -> Inbound:
        return self.messages[-1]

    def metadata(self) -> Dict[str, Any]:
        last = self.last
        return {
            "channel": "whatsapp",
            "phone_number_id": last.phone_number_id,
            "wa_id": last.wa_id,
            "customer_name": last.name,
            "whatsapp_message_ids": [m.message_id for m in self.messages],
            "timestamp": last.timestamp,
        }


def conversation_id(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}:{wa_id}"


def split_conversation_id(sender_id: str) -> Tuple[str, str]:
    phone_number_id, _, wa_id = sender_id.partition(":")
    if not phone_number_id or not wa_id:
        raise ValueError(f"not a WhatsApp conversation id: {sender_id!r}")
    return phone_number_id, wa_id


def parse_webhook(payload: Any, replies: ReplyIds) -> Tuple[List[Inbound], List[Status]]:
    """Every message and status update in one webhook POST (its raw body, or its decoded JSON), in the
    order Meta sent them; `replies` tells the choices the bot offered from forged ones. Raises
    MalformedWebhook, and nothing else, for what it cannot read."""
    if isinstance(payload, (bytes, bytearray)):
        payload = read_webhook(payload)
    else:
        _check(payload)
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise MalformedWebhook("not a WhatsApp Business Account webhook")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedWebhook("entry must be a list")
    messages: List[Inbound] = []
    statuses: List[Status] = []
    for entry in entries:
        for change in _list(entry, "changes"):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                continue
            phone_number_id = _text(_dict(value.get("metadata")).get("phone_number_id"))
            if not phone_number_id:
                raise MalformedWebhook("a change has no metadata.phone_number_id")
            names = {
                _text(c.get("wa_id")): _text(_dict(c.get("profile")).get("name")) or None
                for c in _list(value, "contacts")
                if isinstance(c, dict)
            }
            for raw in _list(value, "messages"):
                message = _message(raw, phone_number_id, names, replies)
                if message is not None:
                    messages.append(message)
            for raw in _list(value, "statuses"):
                if isinstance(raw, dict) and _text(raw.get("id")) and _text(raw.get("status")):
                    errors = raw.get("errors") if isinstance(raw.get("errors"), list) else []
                    recipient = _text(raw.get("recipient_id"))
                    status = Status(_text(raw["id"]), _text(raw["status"]), recipient, phone_number_id, errors)
                    statuses.append(status)
    return messages, statuses


def _list(container: Any, key: str) -> List[Any]:
    value = container.get(key) if isinstance(container, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedWebhook(f"{key} must be a list")
    return value


def _message(raw: Any, phone_number_id: str, names: Dict[str, Optional[str]], replies: ReplyIds) -> Optional[Inbound]:
    """One message, or None for one that needs no answer. A message without id, sender or time is
    skipped (and logged) rather than failing the whole POST, which Meta would retry for days."""
    if not isinstance(raw, dict):
        log.warning("whatsapp: skipped a message that is not an object")
        return None
    message_id, sender, timestamp = _text(raw.get("id")), _text(raw.get("from")), _text(raw.get("timestamp"))
    kind = raw.get("type") if isinstance(raw.get("type"), str) else ""
    if not message_id or not sender or not TIMESTAMP.fullmatch(timestamp) or not kind:
        log.warning("whatsapp: skipped a message without id, from, timestamp or type")
        return None
    if kind in IGNORED_TYPES:
        return None
    text = text_for_rasa(kind, raw, conversation_id(phone_number_id, sender), replies)
    if text is None:
        return None
    category = "unsupported" if text == UNSUPPORTED_MESSAGE else CATEGORIES.get(kind, "unsupported")
    return Inbound(message_id, phone_number_id, sender, int(timestamp), category, text, names.get(sender))


def text_for_rasa(kind: str, raw: Dict[str, Any], conversation: str, replies: ReplyIds) -> Optional[str]:
    if kind == "text":
        return typed(_text(_dict(raw.get("text")).get("body")))
    if kind in ("interactive", "button"):
        choice = _tapped(kind, raw)
        if choice is None:
            return UNSUPPORTED_MESSAGE
        reply_id, title = choice
        text = offered(replies.verify(conversation, reply_id))
        if text is None:
            log.warning("whatsapp: message %s taps a choice the bot did not offer here; read as its title", raw["id"])
            return typed(title)
        return text
    if kind == "location":
        return location_payload(_dict(raw.get("location")))
    return UNSUPPORTED_MESSAGE


def typed(words: str) -> Optional[str]:
    """A customer's words, which Rasa must never read as an intent: "/pay_mpesa" or a forged
    "/EXTERNAL_payment_update{…}" is just text. Every leading "/" goes, and with it the white space
    Rasa strips before it looks for one (str.strip: a no-break space too)."""
    text = words.strip()
    while text.startswith("/"):
        text = text[1:].strip()
    return text or None


def _tapped(kind: str, raw: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    """The id and the words of a tapped reply button, list row or template quick reply (kind "button")."""
    if kind == "button":
        button = _dict(raw.get("button"))
        return _text(button.get("payload")), _text(button.get("text"))
    interactive = _dict(raw.get("interactive"))
    kind = interactive.get("type")
    if kind not in ("button_reply", "list_reply") or not isinstance(interactive.get(kind), dict):
        return None
    reply = interactive[kind]
    return _text(reply.get("id")), _text(reply.get("title"))


def offered(payload: Optional[str]) -> Optional[str]:
    """What Rasa reads for the payload of a choice the bot offered (its id verified: bot/whatsapp/reply_ids.py).
    Our buttons carry Rasa payloads ("/inform{...}"); short ones name an intent ("pay_mpesa") or an entity
    and its value ("product:SKU-0012", "category:Drinks"). None for anything else, and for an EXTERNAL_
    intent, which only the worker sends, through Rasa's API."""
    if payload is None:
        return None
    entity, sep, value = payload.partition(":")
    if payload.startswith("/"):
        text = payload
    elif sep and value and entity == "product":
        text = "/product_details" + json.dumps({"product": value})
    elif sep and value and entity == "category":
        text = "/browse_catalog" + json.dumps({"category": value})
    elif SIMPLE_ID.fullmatch(payload):
        text = "/" + payload
    else:
        return None
    intent = re.split("[{@]", text[1:], maxsplit=1)[0].strip()  # as Rasa's RegexMessageHandler reads it
    return None if intent.startswith(EXTERNAL_PREFIX) else text


def location_payload(location: Dict[str, Any]) -> Optional[str]:
    """A shared pin becomes the delivery location: its name and address, and the coordinates for the rider."""
    try:
        latitude, longitude = float(location["latitude"]), float(location["longitude"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return UNSUPPORTED_MESSAGE
    words = ", ".join(_text(location.get(k)).strip() for k in ("name", "address") if _text(location.get(k)).strip())
    where = f"{words} ({latitude:.5f}, {longitude:.5f})" if words else f"📍 {latitude:.5f}, {longitude:.5f}"
    return f"/{SHARE_LOCATION}" + json.dumps({"location": where}, ensure_ascii=False)


def plan_turns(messages: List[Inbound], now: float, max_age_seconds: int) -> List[Turn]:
    """Turn one conversation's waiting messages, oldest first, into Rasa turns.

    Consecutive texts are joined ("hi" "I want sugar" "2kg" -> "hi I want sugar 2kg"), so a burst
    gets one coherent answer. Messages older than max_age_seconds (Meta redelivering after an outage)
    are not answered as if new: the newer ones are, and if every one is old, the customer is told
    their message came late and asked to send it again.
    """
    fresh = [m for m in messages if now - m.timestamp <= max_age_seconds]
    if not fresh:
        return [Turn(LATE_MESSAGE, tuple(messages))] if messages else []
    turns: List[Turn] = []
    for message in fresh:
        previous = turns[-1] if turns else None
        if previous and previous.last.kind == message.kind and message.kind in ("text", "unsupported"):
            text = f"{previous.text} {message.text}" if message.kind == "text" else previous.text
            turns[-1] = Turn(text, (*previous.messages, message))
        else:
            turns.append(Turn(message.text, (message,)))
    return turns
