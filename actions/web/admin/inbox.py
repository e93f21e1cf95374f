"""The staff inbox in the admin pages: the conversations waiting for a person, each one whole with a reply
box (canned replies to pick from), kept up to date by short polling of a small JSON route; the shop's
canned replies. What staff do goes through the use cases of actions/commerce/inbox.py."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from actions import runtime
from actions.commerce import inbox
from actions.commerce.errors import NotFound, Refused
from actions.commerce.inbox import Line, Thread
from actions.db import admin_queries as store
from actions.db import inbox as inbox_store
from actions.web.admin.sessions import StaffSession
from actions.web.admin.views import _act, back_to, member, page, staff_only, templates

bp = Blueprint("admin_inbox", url_prefix="/admin")
POLL_SECONDS = 3  # how often an open conversation asks for what is new


def _when(line: Line) -> str:
    if line.at is None:
        return ""
    return store.local(datetime.fromtimestamp(float(line.at), UTC), runtime.current().settings.timezone)


def _messages(thread: Thread) -> str:
    return templates().get_template("_thread.html").render(lines=[(line, _when(line)) for line in thread.lines])


def _version(thread: Thread, messages: str) -> str:
    state = f"{thread.handoff.waiting}|{thread.handoff.assignee}|{messages}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


async def _thread(staff: StaffSession, handoff_id: int) -> Thread:
    rt = runtime.current()
    return await inbox.thread(rt.uow(), rt.stored_conversations, member(staff), handoff_id)


@bp.get("/handoffs")
@staff_only
async def handoff_list(request: Request, staff: StaffSession) -> HTTPResponse:
    async with runtime.current().sessions() as session:
        waiting = await inbox_store.waiting(session, staff.tenant_id)
    return page(request, "handoffs.html", waiting=waiting)


async def _conversation(
    request: Request, staff: StaffSession, handoff_id: int, error: str = "", draft: str = "", status: int = 200
) -> HTTPResponse:
    try:
        thread = await _thread(staff, handoff_id)
    except NotFound:
        return page(request, "not_found.html", status=404, what=f"Conversation {handoff_id}")
    messages = _messages(thread)
    return page(
        request, "handoff.html", status=status, thread=thread, handoff=thread.handoff, messages=messages,
        version=_version(thread, messages), error=error, draft=draft, poll_seconds=POLL_SECONDS,
        max_reply=inbox.MAX_REPLY,
    )  # fmt: skip


@bp.get("/handoffs/<handoff_id:id>")
@staff_only
async def conversation_page(request: Request, staff: StaffSession, handoff_id: int) -> HTTPResponse:
    return await _conversation(request, staff, handoff_id)


@bp.get("/handoffs/<handoff_id:id>/messages")
@staff_only
async def messages(request: Request, staff: StaffSession, handoff_id: int) -> HTTPResponse:
    """What the open page polls: 204 while nothing changed since `version`, else the messages anew."""
    try:
        thread = await _thread(staff, handoff_id)
    except NotFound:
        return json({"error": "not found"}, status=404)
    rendered = _messages(thread)
    version = _version(thread, rendered)
    if request.args.get("version") == version:
        response = empty()
    else:
        found = thread.handoff
        response = json({"version": version, "html": rendered, "waiting": found.waiting, "assignee": found.assignee})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/handoffs/<handoff_id:id>/reply")
@staff_only
async def reply(request: Request, staff: StaffSession, handoff_id: int) -> HTTPResponse:
    rt, text = runtime.current(), request.form.get("text") or ""
    try:
        await inbox.reply(rt.uow(), member(staff), staff.name, handoff_id, text)
    except NotFound:
        return page(request, "not_found.html", status=404, what=f"Conversation {handoff_id}")
    except Refused as e:
        return await _conversation(request, staff, handoff_id, f"Not sent: {e}", text[: inbox.MAX_REPLY * 2], 400)
    return back_to(f"/admin/handoffs/{handoff_id}", "✓ Sent: the customer gets it in their chat.")


# --- canned replies ------------------------------------------------------------------------------


async def _canned_page(request: Request, staff: StaffSession, error: str = "", status: int = 200) -> HTTPResponse:
    replies = await inbox.canned_replies(runtime.current().uow(), member(staff))
    return page(request, "canned_replies.html", status=status, replies=replies, error=error, form=request.form or {})


@bp.get("/canned-replies")
@staff_only
async def canned_list(request: Request, staff: StaffSession) -> HTTPResponse:
    return await _canned_page(request, staff)


async def _save(request: Request, staff: StaffSession, reply_id: int | None) -> HTTPResponse:
    form = {name: request.form.get(name) or "" for name in ("title", "text_en", "text_sw")}
    try:
        done = await inbox.save_canned(runtime.current().uow(), member(staff), reply_id, **form)
    except NotFound:
        return page(request, "not_found.html", status=404, what=f"Canned reply {reply_id}")
    except Refused as e:
        return await _canned_page(request, staff, f"Not saved: {e}", status=400)
    return back_to("/admin/canned-replies", f"✓ {done}")


@bp.post("/canned-replies")
@staff_only
async def canned_add(request: Request, staff: StaffSession) -> HTTPResponse:
    return await _save(request, staff, None)


@bp.post("/canned-replies/<reply_id:id>")
@staff_only
async def canned_change(request: Request, staff: StaffSession, reply_id: int) -> HTTPResponse:
    return await _save(request, staff, reply_id)


@bp.post("/canned-replies/<reply_id:id>/delete")
@staff_only
async def canned_delete(request: Request, staff: StaffSession, reply_id: int) -> HTTPResponse:
    deleted = inbox.delete_canned(runtime.current().uow(), member(staff), reply_id)
    return await _act(request, "/admin/canned-replies", deleted)
