"""The ids of the buttons and list rows the bot sends, signed for the conversation they were sent to.

WhatsApp hands a tapped choice back with the id we gave it, but the id is only as trustworthy as
whoever wrote it: a modified client can send any id in a genuine, Meta-signed webhook. So every id
we send is `<payload>~<signature>`, the signature a truncated HMAC-SHA256 (WHATSAPP_REPLY_KEY) of the
conversation id and the payload, and only an id that verifies for its own conversation is read as
the payload the bot chose. Anything else is read as the words on the button (bot/whatsapp/inbound.py).

Signed rather than remembered in Redis with the message that offered them: nothing to write per
reply and nothing to expire, so a choice tapped hours later, after a Redis restart, or on another
Rasa server still means what it said; what a signature proves, "the bot offered this payload to
this customer", is all a tap needs, since every payload we offer is one the customer may choose.
A new key turns the old buttons into their titles, which the NLU reads as typed words.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Optional

SEPARATOR = "~"
SIGNATURE_BYTES = 16  # 128 bits, 22 characters of base64url: 23 of the 200 a list row id may have


class ReplyIds:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def _signature(self, conversation: str, payload: str) -> str:
        digest = hmac.new(self._key, f"{conversation}\n{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).decode().rstrip("=")

    def sign(self, conversation: str, payload: str) -> str:
        return f"{payload}{SEPARATOR}{self._signature(conversation, payload)}"

    def verify(self, conversation: str, reply_id: str) -> Optional[str]:
        """The payload of an id this bot gave this conversation, else None."""
        payload, separator, signature = reply_id.rpartition(SEPARATOR)
        if separator and hmac.compare_digest(signature.encode(), self._signature(conversation, payload).encode()):
            return payload
        return None
