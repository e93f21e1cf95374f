"""Rasa's replies as Graph API message bodies, within WhatsApp's documented limits.

Buttons are never numbered text: up to 3 short choices become reply buttons, more (or longer)
become a list message, 10 rows per message.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Sequence

TEXT_LIMIT = 4096
BODY_LIMIT = 1024  # interactive message body
MAX_BUTTONS, BUTTON_TITLE, BUTTON_ID = 3, 20, 256
MAX_ROWS, ROW_TITLE, ROW_DESCRIPTION, ROW_ID = 10, 24, 72, 200
LIST_BUTTON = "Chagua / Choose"  # the list's opening button, in both of the shop's languages
NO_BODY = "👇"


def split_text(text: str, limit: int = TEXT_LIMIT) -> List[str]:
    """Pieces of at most `limit` characters, cut between paragraphs, else lines, else words."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    for separator in ("\n\n", "\n", " "):
        parts = text.split(separator)
        if len(parts) > 1:
            return _pack(parts, separator, limit)
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _pack(parts: List[str], separator: str, limit: int) -> List[str]:
    pieces: List[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{separator}{part}" if current else part
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current.strip())
        if len(part) > limit:
            *whole, current = split_text(part, limit)
            pieces.extend(whole)
        else:
            current = part
    if current.strip():
        pieces.append(current.strip())
    return [p for p in pieces if p]


def _envelope(to: str, kind: str, content: Dict[str, Any]) -> Dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: content}


def text_messages(to: str, text: str) -> List[Dict[str, Any]]:
    return [_envelope(to, "text", {"preview_url": False, "body": piece}) for piece in split_text(text)]


def image_message(to: str, link: str, caption: Optional[str] = None) -> Dict[str, Any]:
    image: Dict[str, Any] = {"link": link}
    if caption:
        image["caption"] = caption[:BODY_LIMIT]
    return _envelope(to, "image", image)


def clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def reply_id(payload: str) -> str:
    """What a tapped choice comes back with, before it is signed: "/pay_mpesa" travels as "pay_mpesa"
    (bot/whatsapp/inbound.py reads both); a payload with entities travels whole."""
    return payload[1:] if re.fullmatch(r"/[a-z][a-z0-9_]*", payload) else payload


def choice_messages(
    to: str, text: str, buttons: Sequence[Dict[str, Any]], sign: Callable[[str], str]
) -> List[Dict[str, Any]]:
    """A question with choices: any text too long for an interactive body goes first, as text.
    `sign` makes each choice's id one that only this conversation can tap (bot/whatsapp/reply_ids.py)."""
    choices = [(str(b.get("payload") or b.get("title") or ""), str(b.get("title") or "")) for b in buttons]
    choices = [(sign(reply_id(payload)), title or payload) for payload, title in choices if payload]
    pieces = split_text(text, BODY_LIMIT) or [NO_BODY]
    before = text_messages(to, "\n\n".join(pieces[:-1])) if len(pieces) > 1 else []
    body = pieces[-1]
    if not choices:
        return before + text_messages(to, body)
    if len(choices) <= MAX_BUTTONS and all(len(t) <= BUTTON_TITLE and len(p) <= BUTTON_ID for p, t in choices):
        return [*before, _reply_buttons(to, body, choices)]
    lists = [choices[i : i + MAX_ROWS] for i in range(0, len(choices), MAX_ROWS)]
    return before + [_list(to, body if n == 0 else NO_BODY, rows) for n, rows in enumerate(lists)]


def _reply_buttons(to: str, body: str, choices: List[tuple]) -> Dict[str, Any]:
    buttons = [{"type": "reply", "reply": {"id": payload, "title": title}} for payload, title in choices]
    return _envelope(to, "interactive", {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}})


def _list(to: str, body: str, choices: List[tuple]) -> Dict[str, Any]:
    rows = []
    for payload, title in choices:
        # An id too long for a row is the title: a tap on it is read as those words (unsigned).
        row = {"id": payload if len(payload) <= ROW_ID else title[:ROW_ID], "title": clip(title, ROW_TITLE)}
        if len(" ".join(title.split())) > ROW_TITLE:
            row["description"] = clip(title, ROW_DESCRIPTION)  # the whole name, where the title was cut
        rows.append(row)
    action = {"button": LIST_BUTTON, "sections": [{"title": clip(body.split("\n")[0], ROW_TITLE), "rows": rows}]}
    return _envelope(to, "interactive", {"type": "list", "body": {"text": body}, "action": action})


def mark_read(message_id: str) -> Dict[str, Any]:
    """Blue ticks and "typing…" while the bot works on the answer."""
    return {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
        "typing_indicator": {"type": "text"},
    }


def template_message(to: str, name: str, language: str, text: str) -> Dict[str, Any]:
    """Outside the 24-hour window only an approved template may be sent; ours has one body parameter."""
    parameters = [{"type": "text", "text": clip(text, BODY_LIMIT)}]
    return _envelope(
        to,
        "template",
        {"name": name, "language": {"code": language}, "components": [{"type": "body", "parameters": parameters}]},
    )
