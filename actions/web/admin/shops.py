"""The admin pages of shops and their people: operators create shops and connect their WhatsApp numbers;
an operator or the shop's owner invites and manages staff and sets the shop's own payment accounts
(masked when shown, tested against the provider on request). Invites are accepted here too.

A shop staff member asking for these pages gets 404, as for another shop's order: the pages of the
platform, and of other shops, do not exist for them.
"""

from __future__ import annotations

import functools
import hmac
import secrets

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html, redirect

from actions import runtime
from actions.commerce import onboarding, roles, shop_accounts
from actions.commerce.errors import NotFound, PaymentUnavailable, Refused
from actions.commerce.passwords import WeakPassword
from actions.commerce.ports import StaffMember
from actions.db import shop_repositories as store
from actions.web.admin.sessions import StaffSession
from actions.web.admin.views import LOGIN_CSRF_COOKIE, _set_cookie, back_to, page, staff_only

bp = Blueprint("admin_shops", url_prefix="/admin")
CURRENCIES = ("KES", "TZS", "UGX", "RWF", "NGN", "GHS", "ZAR", "USD")


def with_role(handler):
    """Signed-in staff (CSRF-checked), as the member is now: a role changed since sign-in counts at once."""

    @staff_only
    @functools.wraps(handler)
    async def wrapped(request: Request, staff: StaffSession, *args, **kwargs) -> HTTPResponse:
        async with runtime.current().sessions() as session:
            role = await store.role_now(session, staff.user_id)
        member = StaffMember(staff.user_id, staff.tenant_id, staff.email, role or "staff")
        try:
            return await handler(request, member, *args, **kwargs)
        except NotFound:
            return page(request, "not_found.html", status=404, what="This page")

    return wrapped


def form(request: Request, *names: str) -> dict[str, str]:
    return {name: request.form.get(name) or "" for name in names}


# --- the platform's shops -------------------------------------------------------------------------


@bp.get("/shops")
@with_role
async def shop_list(request: Request, member: StaffMember) -> HTTPResponse:
    roles.require_operator(member)
    return await _shops(request)


async def _shops(request: Request, status: int = 200, error: str = "", filled: dict | None = None) -> HTTPResponse:
    async with runtime.current().sessions() as session:
        found = await store.shops(session)
    return page(
        request, "shops.html", status=status, shops=found, currencies=CURRENCIES, error=error, filled=filled or {}
    )


@bp.post("/shops")
@with_role
async def create_shop(request: Request, member: StaffMember) -> HTTPResponse:
    roles.require_operator(member)
    filled = form(request, "slug", "name", "currency", "whatsapp", "owner_email", "owner_name")
    new = onboarding.NewShop(
        filled["slug"].strip().lower(), filled["name"], filled["currency"].strip().upper(),
        filled["whatsapp"].strip() or None, filled["owner_email"], filled["owner_name"],
    )  # fmt: skip
    try:
        tenant, invited = await onboarding.create_shop(runtime.current().uow(), member, new)
    except Refused as e:
        return await _shops(request, 400, f"Not created: {e}", filled)
    return page(request, "invited.html", status=201, link=_invite_link(invited.token), email=invited.email,
                shop_id=tenant.id, what=f"Shop {tenant.name} created.")  # fmt: skip


def _invite_link(token: str) -> str:
    return f"{runtime.current().settings.public_base_url}/admin/invite/{token}"


# --- one shop ---------------------------------------------------------------------------------------


@bp.get("/shop")
@with_role
async def own_shop(request: Request, member: StaffMember) -> HTTPResponse:
    roles.require_manager(member, member.tenant_id)
    return redirect(f"/admin/shops/{member.tenant_id}", status=303)


@bp.get("/shops/<tenant_id:id>")
@with_role
async def shop_page(request: Request, member: StaffMember, tenant_id: int) -> HTTPResponse:
    return await _shop(request, member, tenant_id)


async def _shop(request: Request, member: StaffMember, tenant_id: int, status: int = 200, **extra) -> HTTPResponse:
    rt = runtime.current()
    roles.require_manager(member, tenant_id)
    async with rt.sessions() as session:
        shop = await store.shop(session, tenant_id)
    if shop is None:
        raise NotFound(f"shop {tenant_id}")
    people = await onboarding.staff_of(rt.uow(), member, tenant_id)
    accounts = await shop_accounts.shown(rt.uow(), member, tenant_id)
    context = {"shop": shop, "people": people, "accounts": accounts, "operator": roles.is_operator(member),
               "me": member.user_id, "roles_given": roles.ROLES if roles.is_operator(member) else roles.SHOP_ROLES,
               "kinds": shop_accounts.KINDS, "platform": _platform(), "error": "", "tested": {}}  # fmt: skip
    return page(request, "shop.html", status=status, **(context | extra))


def _platform() -> dict[str, bool]:
    s = runtime.current().settings
    return {"mpesa": s.mpesa_configured, "paystack": s.paystack_configured, "key": bool(s.shop_secrets_key)}


@bp.post("/shops/<tenant_id:id>/whatsapp")
@with_role
async def connect_whatsapp(request: Request, member: StaffMember, tenant_id: int) -> HTTPResponse:
    try:
        done = await onboarding.connect_whatsapp(
            runtime.current().uow(), member, tenant_id, request.form.get("whatsapp") or ""
        )
    except Refused as e:
        return await _shop(request, member, tenant_id, 400, error=f"Not changed: {e}")
    return back_to(f"/admin/shops/{tenant_id}", f"✓ {done}")


@bp.post("/shops/<tenant_id:id>/invites")
@with_role
async def invite(request: Request, member: StaffMember, tenant_id: int) -> HTTPResponse:
    filled = form(request, "email", "name", "role")
    try:
        invited = await onboarding.invite(
            runtime.current().uow(), member, tenant_id, filled["email"], filled["name"], filled["role"]
        )
    except Refused as e:
        return await _shop(request, member, tenant_id, 400, error=f"Not invited: {e}")
    return page(request, "invited.html", status=201, link=_invite_link(invited.token), email=invited.email,
                shop_id=tenant_id, what=f"{invited.email} is invited.")  # fmt: skip


@bp.post("/shops/<tenant_id:id>/staff/<user_id:id>")
@with_role
async def change_member(request: Request, member: StaffMember, tenant_id: int, user_id: int) -> HTTPResponse:
    action, change = request.form.get("action") or "", {}
    if action in ("deactivate", "activate"):
        change["active"] = action == "activate"
    elif action == "role":
        change["role"] = request.form.get("role") or ""
    else:
        return await _shop(request, member, tenant_id, 400, error="Not changed: choose a role, or deactivate.")
    try:
        done = await onboarding.change_member(runtime.current().uow(), member, tenant_id, user_id, **change)
    except Refused as e:
        return await _shop(request, member, tenant_id, 400, error=f"Not changed: {e}")
    return back_to(f"/admin/shops/{tenant_id}", f"✓ {done}")


@bp.post("/shops/<tenant_id:id>/accounts/<provider:str>")
@with_role
async def payment_account(request: Request, member: StaffMember, tenant_id: int, provider: str) -> HTTPResponse:
    """Save, test or remove the shop's own account. A test asks the provider with what the form says
    (the stored secrets where it leaves them empty) and shows what it answered, never a secret."""
    rt = runtime.current()
    roles.require_manager(member, tenant_id)
    if provider not in shop_accounts.PROVIDERS:
        raise NotFound(provider)
    action = request.form.get("action") or ""
    filled = form(request, "shortcode", "kind", *shop_accounts.SECRET_FIELDS[provider])
    try:
        if action == "save":
            done = await shop_accounts.save(rt.uow(), rt.sealer, member, tenant_id, provider, filled)
        elif action == "remove":
            done = await shop_accounts.remove(rt.uow(), member, tenant_id, provider)
        elif action == "test":
            account = await shop_accounts.draft(rt.uow(), rt.sealer, member, tenant_id, provider, filled)
            said = await rt.providers.test_connection(account)
            return await _shop(request, member, tenant_id, tested={provider: (True, said)})
        else:
            return await _shop(request, member, tenant_id, 400, error="Not changed: save, test or remove.")
    except PaymentUnavailable as e:
        if action == "test":
            return await _shop(request, member, tenant_id, 200, tested={provider: (False, str(e))})
        return await _shop(request, member, tenant_id, 400, error=f"Not saved: {e}")
    except Refused as e:
        return await _shop(request, member, tenant_id, 400, error=f"Not saved: {e}")
    return back_to(f"/admin/shops/{tenant_id}", f"✓ {done}")


# --- accepting an invite ----------------------------------------------------------------------------


@bp.get("/invite/<token:str>")
async def invite_form(request: Request, token: str) -> HTTPResponse:
    try:
        found = await onboarding.invite_for(runtime.current().uow(), token)
    except NotFound:
        return page(request, "not_found.html", status=404, what="This invite (used, expired or mistyped)")
    csrf = secrets.token_urlsafe(24)
    response = page(request, "accept_invite.html", invite=found, csrf=csrf, token=token)
    _set_cookie(response, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


@bp.post("/invite/<token:str>")
async def accept_invite(request: Request, token: str) -> HTTPResponse:
    form_token, cookie_token = request.form.get("csrf") or "", request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not cookie_token or not hmac.compare_digest(form_token.encode(), cookie_token.encode()):
        return html("Form expired or forged (CSRF check failed). Reload the invite page.", status=403)
    uow = runtime.current().uow()
    try:
        found = await onboarding.invite_for(uow, token)
        if (request.form.get("password") or "") != (request.form.get("again") or ""):
            raise Refused("the two passwords differ")
        await onboarding.accept_invite(uow, token, request.form.get("name") or "", request.form.get("password") or "")
    except NotFound:
        return page(request, "not_found.html", status=404, what="This invite (used, expired or mistyped)")
    except (Refused, WeakPassword) as e:
        return page(
            request, "accept_invite.html", status=400, invite=found, csrf=cookie_token, token=token, error=str(e)
        )
    response = back_to("/admin/login", f"✓ Your password is set, {found.email}: sign in.")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
    return response
