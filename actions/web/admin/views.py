"""The admin pages: server-rendered, one staff member's shop only, CSRF-checked forms."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, unquote

from jinja2 import Environment, PackageLoader, select_autoescape
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html, redirect

from actions import runtime
from actions.commerce import backoffice, handoffs, review
from actions.commerce import staff as accounts
from actions.commerce.errors import ConversationsUnreachable, NotFound, Refused
from actions.commerce.language import LANGUAGES
from actions.commerce.money import Money
from actions.commerce.ports import StaffMember
from actions.db import admin_queries as store
from actions.web.addresses import client_address
from actions.web.admin import sessions
from actions.web.admin.sessions import StaffSession

bp = Blueprint("admin", url_prefix="/admin")
SESSION_COOKIE = "duka_admin"
LOGIN_CSRF_COOKIE = "duka_login"
NOTICE_COOKIE = "duka_notice"


@functools.cache
def templates() -> Environment:
    env = Environment(loader=PackageLoader("actions.web.admin", "templates"), autoescape=select_autoescape())
    env.filters["local"] = lambda moment: store.local(moment, runtime.current().settings.timezone)
    env.filters["money"] = lambda minor, currency: str(Money(minor, currency))
    return env


def secure_cookies() -> bool:
    return runtime.current().settings.secure_cookies


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTTPResponse:
    notice = unquote(request.cookies.get(NOTICE_COOKIE) or "")
    body = templates().get_template(name).render(staff=getattr(request.ctx, "staff", None), notice=notice, **context)
    response = html(body, status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/admin")
    return response


def back_to(url: str, notice: str) -> HTTPResponse:
    response = redirect(url, status=303)
    response.add_cookie(NOTICE_COOKIE, quote(notice), path="/admin", httponly=True, secure=secure_cookies(), max_age=60)
    return response


def _set_cookie(response: HTTPResponse, name: str, value: str, max_age: int | None = None) -> None:
    response.add_cookie(
        name, value, path="/admin", httponly=True, secure=secure_cookies(), samesite="Lax", max_age=max_age
    )


def staff_only(handler):
    """Signed-in staff only; POSTs must carry the session's CSRF token."""

    @functools.wraps(handler)
    async def wrapped(request: Request, *args, **kwargs) -> HTTPResponse:
        staff = await signed_in(request.cookies.get(SESSION_COOKIE))
        if staff is None:
            return redirect(f"/admin/login?next={quote(request.path)}", status=303)
        if request.method == "POST" and not hmac.compare_digest(
            (request.form.get("csrf") or "").encode(), staff.csrf.encode()
        ):
            return html("Form expired or forged (CSRF check failed). Go back, reload and try again.", status=403)
        request.ctx.staff = staff
        return await handler(request, staff, *args, **kwargs)

    return wrapped


async def signed_in(token: str | None) -> StaffSession | None:
    """The session behind the cookie, while its member is active with the password they signed in with."""
    rt = runtime.current()
    staff = await sessions.current_session(rt, token)
    if staff is None:
        return None
    async with rt.sessions() as session:
        password_hash = await store.active_password_hash(session, staff.user_id)
    if not sessions.signed_in_as(staff, password_hash):
        await sessions.close_session(rt, token)
        return None
    return staff


# --- signing in ---------------------------------------------------------------------------------


@bp.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", csrf=token, next=request.args.get("next", "/admin/"))
    _set_cookie(response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    rt = runtime.current()
    form_token, cookie_token = request.form.get("csrf") or "", request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not cookie_token or not hmac.compare_digest(form_token.encode(), cookie_token.encode()):
        return html("Form expired or forged (CSRF check failed). Reload the sign-in page.", status=403)
    email, password = (request.form.get("email") or "").strip(), request.form.get("password") or ""
    address = client_address(request, rt.settings.trusted_proxy_header)
    next_page = request.form.get("next") or "/admin/"
    if not next_page.startswith("/admin"):
        next_page = "/admin/"
    wait = await sessions.count_attempt(rt, email, address)
    if wait:
        minutes = -(-wait // 60)
        error = f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        return page(request, "login.html", status=429, csrf=cookie_token, next=next_page, email=email, error=error)
    account = await accounts.sign_in(rt.uow(), email, password)
    if account is None:
        error = "Wrong e-mail or password."
        return page(request, "login.html", status=401, csrf=cookie_token, next=next_page, email=email, error=error)
    await sessions.clear_attempts(rt, email, address)
    token = await sessions.open_session(rt, account)
    response = redirect(next_page, status=303)
    _set_cookie(response, SESSION_COOKIE, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
    return response


@bp.post("/logout")
@staff_only
async def logout(request: Request, staff: StaffSession) -> HTTPResponse:
    await sessions.close_session(runtime.current(), request.cookies.get(SESSION_COOKIE))
    response = redirect("/admin/login", status=303)
    response.delete_cookie(SESSION_COOKIE, path="/admin")
    return response


# --- pages --------------------------------------------------------------------------------------


# Past any shop's last page; keeps a page's OFFSET within PostgreSQL's bigint ("?page=368934881474191034"
# overflowed it: a 500 found by the fuzz suite).
LAST_PAGE = 10**9


def _int_arg(request: Request, name: str, default: int = 1) -> int:
    try:
        return min(max(1, int(request.args.get(name, default))), LAST_PAGE)
    except ValueError:
        return default


def _date_arg(request: Request, name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/")
@staff_only
async def home(request: Request, staff: StaffSession) -> HTTPResponse:
    rt = runtime.current()
    async with rt.sessions() as session:
        summary = await store.sales_summary(session, rt.cache, staff.tenant_id, rt.settings.timezone)
        waiting = len(await store.waiting_for_a_person(session, staff.tenant_id))
        pending = await store.payments(session, staff.tenant_id, "pending", 1)
        review = await store.needing_review(session, staff.tenant_id)
    return page(request, "home.html", summary=summary, waiting=waiting, pending=pending.total, review=review)


@bp.get("/orders")
@staff_only
async def order_list(request: Request, staff: StaffSession) -> HTTPResponse:
    status = request.args.get("status") or None
    day_from, day_to = _date_arg(request, "from"), _date_arg(request, "to")
    rt = runtime.current()
    async with rt.sessions() as session:
        found = await store.orders(
            session, staff.tenant_id, status, day_from, day_to, _int_arg(request, "page"), rt.settings.timezone
        )
    filters = {"status": status or "", "from": day_from.isoformat() if day_from else "", "to": day_to or ""}
    return page(request, "orders.html", page_=found, filters=filters, statuses=store.ORDER_STATUSES)


@bp.get("/orders/<number:str>")
@staff_only
async def order_page(request: Request, staff: StaffSession, number: str) -> HTTPResponse:
    rt = runtime.current()
    async with rt.sessions() as session:
        found = await store.order(session, staff.tenant_id, number, rt.settings.timezone)
    if found is None:
        return page(request, "not_found.html", status=404, what=f"Order {number}")
    return page(request, "order.html", **found)


@bp.get("/payments")
@staff_only
async def payment_list(request: Request, staff: StaffSession) -> HTTPResponse:
    status = request.args.get("status") or None
    review = request.args.get("review") == "1"
    async with runtime.current().sessions() as session:
        found = await store.payments(session, staff.tenant_id, status, _int_arg(request, "page"), review)
    return page(
        request, "payments.html", page_=found, selected=status or "", statuses=store.PAYMENT_STATUSES, review=review
    )


@bp.get("/payments/<payment_id:id>")
@staff_only
async def payment_page(request: Request, staff: StaffSession, payment_id: int) -> HTTPResponse:
    rt = runtime.current()
    async with rt.sessions() as session:
        found = await store.payment(session, staff.tenant_id, payment_id, rt.settings.timezone)
    if found is None:
        return page(request, "not_found.html", status=404, what=f"Payment {payment_id}")
    return page(request, "payment.html", **found)


@bp.post("/payments/<payment_id:id>/refresh")
@staff_only
async def refresh(request: Request, staff: StaffSession, payment_id: int) -> HTTPResponse:
    rt = runtime.current()
    refreshed = backoffice.refresh_payment(rt.uow(), rt.providers, member(staff), payment_id)
    return await _act(request, f"/admin/payments/{payment_id}", refreshed)


@bp.post("/payments/<payment_id:id>/verify")
@staff_only
async def verify(request: Request, staff: StaffSession, payment_id: int) -> HTTPResponse:
    rt, reason = runtime.current(), request.form.get("reason") or ""
    verified = backoffice.mark_verified(rt.uow(), rt.providers, member(staff), payment_id, reason)
    return await _act(request, f"/admin/payments/{payment_id}", verified)


@bp.get("/handoffs")
@staff_only
async def handoff_list(request: Request, staff: StaffSession) -> HTTPResponse:
    async with runtime.current().sessions() as session:
        waiting = await store.waiting_for_a_person(session, staff.tenant_id)
    return page(request, "handoffs.html", waiting=waiting)


@bp.post("/handoffs/<handoff_id:id>/handback")
@staff_only
async def hand_back(request: Request, staff: StaffSession, handoff_id: int) -> HTTPResponse:
    rt = runtime.current()
    handed_back = _handed_back(handoffs.hand_back(rt.uow(), rt.conversations, member(staff), handoff_id))
    return await _act(request, "/admin/handoffs", handed_back)


async def _handed_back(hand_back: Awaitable[None]) -> str:
    try:
        await hand_back
    except ConversationsUnreachable as e:
        raise Refused(f"The bot could not be reached, the conversation is still waiting: {e}") from e
    return "Handed back: the bot answers this customer again."


def member(staff: StaffSession) -> StaffMember:
    return StaffMember(staff.user_id, staff.tenant_id, staff.email)


async def _act(request: Request, back: str, operation: Awaitable[str]) -> HTTPResponse:
    """Run a staff action and go back to the page with what it did, or what stopped it."""
    try:
        done = await operation
    except NotFound as e:
        return page(request, "not_found.html", status=404, what=str(e).capitalize())
    except Refused as e:
        return back_to(back, f"⚠ {e}")
    return back_to(back, f"✓ {done}")


# --- conversation review ----------------------------------------------------------------------------

PERIODS = (("1d", "the last day"), ("7d", "the last 7 days"), ("30d", "the last 30 days"), ("all", "all time"))
REVIEW_LIMIT = 200


def _period(chosen: str) -> str:
    return chosen if chosen in dict(PERIODS) else "7d"


@bp.get("/review")
@staff_only
async def review_page(request: Request, staff: StaffSession) -> HTTPResponse:
    return await _review(request, staff, request.args.get("since") or "7d")


async def _review(
    request: Request, staff: StaffSession, period: str, error: str = "", status: int = 200
) -> HTTPResponse:
    rt, period = runtime.current(), _period(period)
    async with rt.sessions() as session:
        shop = await store.shop_slug(session, staff.tenant_id)
    below, moment = rt.settings.review_confidence_below, review.since(period, datetime.now(UTC))
    groups = await review.review(rt.stored_conversations, rt.training, below, moment, shop, REVIEW_LIMIT)
    intents = sorted(i for i in (await rt.training.current()).intents if not i.startswith("EXTERNAL_"))
    context = {"groups": groups, "intents": intents, "languages": LANGUAGES, "periods": PERIODS, "below": below}
    return page(request, "review.html", status=status, since=period, error=error, **context)


@bp.post("/review/<message_id:str>/add")
@staff_only
async def add_example(request: Request, staff: StaffSession, message_id: str) -> HTTPResponse:
    rt = runtime.current()
    intent, language = request.form.get("intent") or "", request.form.get("language") or None
    period = request.form.get("since") or "7d"
    if language not in (None, *LANGUAGES):
        return await _review(request, staff, period, f"Not added: {language!r} is not en or sw.", status=400)
    async with rt.sessions() as session:
        shop = await store.shop_slug(session, staff.tenant_id)
    below, moment = rt.settings.review_confidence_below, review.since(_period(period), datetime.now(UTC))
    try:
        added = await review.add_example(
            rt.stored_conversations, rt.training, below, message_id, intent, language, shop, moment
        )
    except NotFound as e:
        return await _review(request, staff, period, f"Not added: {e}.", status=404)
    except Refused as e:
        return await _review(request, staff, period, f"Not added: {e}.", status=400)
    notice = f"✓ Added {added.example!r} to {added.intent} in {added.file}. The bot learns it at the next training."
    return back_to(f"/admin/review?since={quote(period)}", notice)
