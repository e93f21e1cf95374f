"""What every Sanic app of ours gets: a correlation id per request, a log line per request, GET /ready and
GET /metrics, and a start-up warning when the database is not what the code expects.

On a public app (the sidecar) /ready and /metrics answer only a request with METRICS_TOKEN as its Bearer
token (401 without it), and 404 while no METRICS_TOKEN is set.
"""

from __future__ import annotations

import hmac
import json as json_lib
import logging
import time
import zlib
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from sanic import Request, Sanic
from sanic.exceptions import BadRequest, NotFound
from sanic.response import HTTPResponse, json, raw

from actions import runtime
from actions.observability import correlation, logs, readiness
from actions.observability.metrics import Metrics

QUIET_PATHS = {"/health", "/ready", "/metrics"}  # polled by probes: logged at DEBUG

log = logging.getLogger("http")
FieldsOf = Callable[[Request], dict[str, Any]]


def request_fields(request: Request) -> dict[str, Any]:
    return {correlation.FIELD: request.headers.get(correlation.HEADER)}


def action_call_fields(request: Request) -> dict[str, Any]:
    """Rasa's call to the action server: the id the channel put in the message's metadata, else the header,
    else the message's own id (so every action of a `rasa shell` turn shares one)."""
    header = request.headers.get(correlation.HEADER)
    if request.path != "/webhook":
        return {correlation.FIELD: header}
    call = _action_call(request)
    tracker = call.get("tracker") or {}
    message = tracker.get("latest_message") or {}
    candidates = ((message.get("metadata") or {}).get(correlation.FIELD), header, message.get("message_id"))
    return {
        correlation.FIELD: next(filter(None, map(correlation.sane, candidates)), None),
        "action": call.get("next_action"),
        "tenant": (tracker.get("slots") or {}).get("tenant"),
    }


def _action_call(request: Request) -> dict[str, Any]:
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            call = json_lib.loads(zlib.decompress(request.body))
        else:
            call = request.json  # parsed once: the handler gets the same object
    except (zlib.error, ValueError, BadRequest):
        return {}
    return call if isinstance(call, dict) else {}


def _refused(request: Request) -> HTTPResponse | None:
    """None when the request carries METRICS_TOKEN; else the answer it gets (NotFound while there is none)."""
    token = runtime.current().settings.metrics_token
    if not token:
        raise NotFound("Requested URL not found")
    given = request.headers.get("Authorization", "")
    if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return None
    return json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})


def instrument(app: Sanic, fields_of: FieldsOf = request_fields, public: bool = False) -> Sanic:
    """Add the middleware, /ready, /metrics and the start-up check to an app (before it starts); on a
    public app, /ready and /metrics need METRICS_TOKEN."""
    app.ctx.metrics = Metrics()

    async def begin(request: Request) -> None:
        fields = fields_of(request)
        request.ctx.correlation_id = cid = correlation.take(fields.pop(correlation.FIELD, None))
        request.ctx.action = fields.get("action")
        request.ctx.started = time.monotonic()
        logs.begin(correlation_id=cid, **fields)

    async def finish(request: Request, response: HTTPResponse) -> None:
        cid = getattr(request.ctx, "correlation_id", None) or correlation.take(request.headers.get(correlation.HEADER))
        response.headers[correlation.HEADER] = cid
        seconds = time.monotonic() - getattr(request.ctx, "started", time.monotonic())
        if action := getattr(request.ctx, "action", None):
            app.ctx.metrics.action_seconds.labels(action).observe(seconds)
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        log.log(level, "%s %s: %s in %.0f ms", request.method, request.path, response.status, seconds * 1000)

    async def ready(request: Request) -> HTTPResponse:
        if public and (refusal := _refused(request)):
            return refusal
        if found := await readiness.problems(runtime.current()):
            return json({"status": "not ready", "problems": found}, status=503)
        return json({"status": "ready"})

    async def metrics(request: Request) -> HTTPResponse:
        if public and (refusal := _refused(request)):
            return refusal
        body = await app.ctx.metrics.exposition(runtime.current())
        return raw(body, content_type=CONTENT_TYPE_LATEST)

    async def check_at_start(app: Sanic) -> None:
        await readiness.warn_if_not_ready(runtime.current())

    app.register_middleware(begin, "request")
    app.register_middleware(finish, "response")
    app.add_route(ready, "/ready", methods=["GET"], name="ready")
    app.add_route(metrics, "/metrics", methods=["GET"], name="metrics")
    app.register_listener(check_at_start, "after_server_start")
    return app
