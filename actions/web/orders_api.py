"""GET /orders/<number>: one order as JSON for the shop's API token, with an ETag from its version."""

from __future__ import annotations

import hashlib

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from actions import runtime
from actions.commerce.money import Money
from actions.commerce.passwords import token_hash
from actions.db import admin_queries as store
from actions.db import tables as t

bp = Blueprint("order_api")


def etag_of(order: t.Order, payments: list[t.Payment]) -> str:
    """Changes whenever the order or one of its payments changes (each update moves a version on)."""
    versions = ",".join(f"{p.id}.{p.version}" for p in payments)
    return '"' + hashlib.sha256(f"{order.id}:{order.version}:{versions}".encode()).hexdigest()[:20] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def _money(minor: int, currency: str) -> dict:
    return {"minor": minor, "currency": currency, "display": str(Money(minor, currency))}


@bp.get("/orders/<number:str>")
async def order_json(request: Request, number: str) -> HTTPResponse:
    token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
    if not token:
        return json({"error": "missing bearer token"}, status=401, headers={"WWW-Authenticate": "Bearer"})
    rt = runtime.current()
    async with rt.sessions() as session:
        tenant = await store.tenant_by_api_token_hash(session, token_hash(token))
        if tenant is None:
            return json({"error": "invalid token"}, status=401, headers={"WWW-Authenticate": "Bearer"})
        found = await store.order(session, tenant.id, number, rt.settings.timezone)
        if found is None:
            return json({"error": f"no order {number}"}, status=404)
        order, payments = found["order"], found["payments"]
        etag = etag_of(order, payments)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if matches(request.headers.get("If-None-Match"), etag):
            return empty(status=304, headers=headers)
        items = [
            {"sku": i.sku, "name": i.name, "quantity": i.quantity, "unit_price": _money(i.unit_price_minor, i.currency)}
            for i in found["items"]
        ]
        body = {
            "number": order.number,
            "status": order.status,
            "total": _money(order.total_minor, order.currency),
            "delivery_location": order.delivery_location,
            "customer": found["customer"].external_id,
            "created_at": order.created_at.isoformat(),
            "updated_at": order.updated_at.isoformat(),
            "version": order.version,
            "items": items,
            "payments": [
                {"id": p.id, "provider": p.provider, "status": p.status, "amount": _money(p.amount_minor, p.currency)}
                for p in payments
            ],
        }
        return json(body, headers=headers)
