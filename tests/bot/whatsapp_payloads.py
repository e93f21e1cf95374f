"""Meta's documented webhook payloads (tests/providers/whatsapp/) and variations built from them."""

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from bot.whatsapp.reply_ids import ReplyIds

PROVIDERS = Path(__file__).resolve().parents[1] / "providers" / "whatsapp"
PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "254712345678"
REPLY_KEY = "reply-key-for-tests"
REPLIES = ReplyIds(REPLY_KEY)


def documented(name: str) -> dict[str, Any]:
    return json.loads((PROVIDERS / f"{name}.json").read_text())


def signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def offered(reply_id: str, sender: str = CUSTOMER, phone_number_id: str = PHONE_NUMBER_ID) -> str:
    """A choice's id as the bot signs it for one conversation (bot/whatsapp/reply_ids.py)."""
    return REPLIES.sign(f"{phone_number_id}:{sender}", reply_id)


def tapped(payload: dict[str, Any], reply_id: str) -> dict[str, Any]:
    """A documented tap (inbound_button_reply, inbound_list_reply) with another id."""
    tap = copy.deepcopy(payload)
    interactive = tap["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]
    interactive[interactive["type"]]["id"] = reply_id
    return tap


def message(
    message_id: str,
    timestamp: int,
    text: str | None = None,
    sender: str = CUSTOMER,
    **content: Any,
) -> dict[str, Any]:
    """One inbound message in the documented shape: text, or any other type given as type=..., <type>={...}."""
    base = {"from": sender, "id": message_id, "timestamp": str(timestamp)}
    if text is not None:
        return {**base, "type": "text", "text": {"body": text}}
    return {**base, **content}


def webhook(
    messages: list[dict[str, Any]],
    phone_number_id: str = PHONE_NUMBER_ID,
    statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    payload = copy.deepcopy(documented("inbound_text"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = phone_number_id
    senders = {m["from"] for m in messages}
    value["contacts"] = [{"profile": {"name": "Wanjiru"}, "wa_id": s} for s in senders]
    value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    if not messages:
        del value["messages"], value["contacts"]
    return payload


def raw(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


__all__ = ["REPLIES", "REPLY_KEY", "Path", "documented", "message", "offered", "raw", "signed", "tapped", "webhook"]
