"""A local stand-in for WhatsApp's Graph API, mounted in the provider simulator (devstack/simulator.py).

It answers POST /{version}/{phone_number_id}/messages as the Cloud API documents
(../shared/providers/whatsapp/ and providers/README.md): a Bearer token is required, bodies outside
the documented limits are refused with error code 100, and a message gets a `wamid`. Everything it
accepted is kept for tests, with the X-Correlation-ID it came with:

    GET  /graph/sent[?to=<wa_id>]   what was sent, oldest first (mark-as-read only without ?to)
    POST /graph/fail {"times": 2, "status": 429, "code": 130429}   refuse the next sends like that
    POST /graph/hold {"to": "<wa_id>"}   keep the next message to that customer waiting, unanswered
    GET  /graph/held                   {"held": messages waiting, "dropped": held ones whose sender went away}
    POST /graph/release                let the held messages through (a sender that went away never sent them)
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

LIMITS = {"text": 4096, "body": 1024, "buttons": 3, "button_title": 20, "reply_id": 256}
LIST_LIMITS = {"rows": 10, "row_title": 24, "row_description": 72, "row_id": 200, "button": 20}


@dataclass
class GraphState:
    access_token: str | None
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)  # injected refusals, used in order
    holds: dict[str, int] = field(default_factory=dict)  # wa_id -> messages to hold
    held: int = 0
    dropped: int = 0
    released: asyncio.Event | None = None


def graph_error(status: int, code: int, message: str) -> HTTPResponse:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": secrets.token_hex(8)}
    return json_response({"error": error}, status=status)


def problems(body: dict[str, Any]) -> list[str]:
    """What the Cloud API would refuse in a message body."""
    if body.get("messaging_product") != "whatsapp":
        return ["messaging_product must be whatsapp"]
    if body.get("status") == "read":
        return [] if body.get("message_id") else ["message_id is required"]
    if not re.fullmatch(r"\d{6,15}", str(body.get("to") or "")):
        return ["to must be a phone number"]
    kind = body.get("type")
    content = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(content, dict):
        return [f"unknown or missing message type {kind!r}"]
    if kind == "text":
        text = str(content.get("body") or "")
        return [] if 0 < len(text) <= LIMITS["text"] else [f"text.body must be 1 to {LIMITS['text']} characters"]
    if kind == "image":
        return [] if str(content.get("link", "")).startswith(("http://", "https://")) else ["image.link is required"]
    if kind == "template":
        return [] if content.get("name") and (content.get("language") or {}).get("code") else ["template name"]
    if kind == "interactive":
        return _interactive_problems(content)
    return [f"unsupported type {kind}"]


def _interactive_problems(content: dict[str, Any]) -> list[str]:
    found = []
    body = str((content.get("body") or {}).get("text") or "")
    if not 0 < len(body) <= LIMITS["body"]:
        found.append(f"interactive body must be 1 to {LIMITS['body']} characters")
    action = content.get("action") or {}
    if content.get("type") == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= LIMITS["buttons"]:
            found.append("1 to 3 buttons")
        for button in buttons:
            reply = button.get("reply") or {}
            if not 0 < len(reply.get("title", "")) <= LIMITS["button_title"]:
                found.append(f"button title {reply.get('title')!r} longer than 20")
            if not 0 < len(reply.get("id", "")) <= LIMITS["reply_id"]:
                found.append("button id must be 1 to 256 characters")
    elif content.get("type") == "list":
        rows = [row for section in action.get("sections") or [] for row in section.get("rows") or []]
        if not 1 <= len(rows) <= LIST_LIMITS["rows"]:
            found.append("1 to 10 rows")
        if not 0 < len(action.get("button", "")) <= LIST_LIMITS["button"]:
            found.append("list button label must be 1 to 20 characters")
        ids = [row.get("id", "") for row in rows]
        if len(set(ids)) != len(ids):
            found.append("row ids must be unique")
        for row in rows:
            if not 0 < len(row.get("title", "")) <= LIST_LIMITS["row_title"]:
                found.append(f"row title {row.get('title')!r} longer than 24")
            if len(row.get("description", "")) > LIST_LIMITS["row_description"]:
                found.append("row description longer than 72")
            if not 0 < len(row.get("id", "")) <= LIST_LIMITS["row_id"]:
                found.append("row id must be 1 to 200 characters")
    else:
        found.append(f"unsupported interactive type {content.get('type')!r}")
    return found


def blueprint(access_token: str | None) -> Blueprint:
    graph = Blueprint("fake_graph")
    state = GraphState(access_token)
    graph.ctx.state = state

    @graph.post("/<version:str>/<phone_number_id:str>/messages")
    async def messages(request: Request, version: str, phone_number_id: str) -> HTTPResponse:
        if not re.fullmatch(r"v\d+\.\d+", version):
            return graph_error(400, 2500, f"Unknown path components: /{version}")
        if state.access_token and request.headers.get("Authorization") != f"Bearer {state.access_token}":
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        body = request.json if isinstance(request.json, dict) else {}
        if state.holds.get(str(body.get("to"))) and not await _held_until_released(state, request, body):
            return graph_error(503, 2, "the sender went away while its message was held")
        sent = {"phone_number_id": phone_number_id, "body": body, "at": time.time(),
                "correlation_id": request.headers.get("X-Correlation-ID")}  # fmt: skip
        if state.failures:
            failure = state.failures.pop(0)
            state.sent.append({**sent, "refused": failure})
            return graph_error(failure["status"], failure["code"], failure.get("message", "injected failure"))
        found = problems(body)
        if found:
            return graph_error(400, 100, "(#100) Invalid parameter: " + "; ".join(found))
        state.sent.append(sent)
        if body.get("status") == "read":
            return json_response({"success": True})
        to = body["to"]
        return json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": "wamid." + secrets.token_urlsafe(24)}],
            }
        )

    @graph.get("/graph/sent")
    async def sent(request: Request) -> HTTPResponse:
        to = request.args.get("to")  # mark-as-read bodies name a message, not a customer: only unfiltered
        return json_response([e for e in state.sent if to is None or e["body"].get("to") == to])

    @graph.post("/graph/fail")
    async def fail(request: Request) -> HTTPResponse:
        spec = request.json or {}
        failure = {"status": int(spec.get("status", 429)), "code": int(spec.get("code", 130429))}
        state.failures.extend([failure] * int(spec.get("times", 1)))
        return json_response({"queued": len(state.failures)})

    @graph.post("/graph/hold")
    async def hold(request: Request) -> HTTPResponse:
        to = str((request.json or {}).get("to") or "")
        state.holds[to] = state.holds.get(to, 0) + 1
        state.released = state.released or asyncio.Event()
        return json_response({"holding": state.holds})

    @graph.get("/graph/held")
    async def held(request: Request) -> HTTPResponse:
        return json_response({"held": state.held, "dropped": state.dropped})

    @graph.post("/graph/release")
    async def release(request: Request) -> HTTPResponse:
        state.holds.clear()
        if state.released is not None:
            state.released.set()
            state.released = None
        return json_response({"released": True})

    return graph


async def _held_until_released(state: GraphState, request: Request, body: dict[str, Any]) -> bool:
    """Hold one message until /graph/release; False when its sender went away meanwhile (killed, say):
    then, as with Meta, the message was never sent."""
    state.holds[str(body.get("to"))] -= 1
    released = state.released or asyncio.Event()
    state.held += 1
    try:
        await released.wait()
    except asyncio.CancelledError:  # the connection closed under the handler
        state.dropped += 1
        raise
    finally:
        state.held -= 1
    if request.transport is None or request.transport.is_closing():
        state.dropped += 1
        return False
    return True
