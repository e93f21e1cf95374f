"""Meta's documented webhook payloads (tests/providers/whatsapp/) and variations built from them."""

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

PROVIDERS = Path(__file__).resolve().parents[1] / "providers" / "whatsapp"
PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "254712345678"


def documented(name: str) -> dict[str, Any]:
    return json.loads((PROVIDERS / f"{name}.json").read_text())


def signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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


__all__ = ["Path", "documented", "message", "raw", "signed", "webhook"]
