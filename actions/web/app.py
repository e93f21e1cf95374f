"""The sidecar's app factory: one blueprint per area, shared resources opened at start.

Run with `python -m actions.web.app` (SIDECAR_HOST, SIDECAR_PORT; default 127.0.0.1:8000; SIDECAR_WORKERS
processes, default 1).
"""

from __future__ import annotations

import re

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from actions import runtime
from actions.observability.http import instrument
from actions.settings import Settings
from actions.web.admin.catalog_views import bp as admin_catalog
from actions.web.admin.inbox import bp as admin_inbox
from actions.web.admin.shops import bp as admin_shops
from actions.web.admin.views import bp as admin
from actions.web.orders_api import bp as order_api
from actions.web.webhooks import bp as webhooks

# Provider callbacks are a few KB; anything much bigger is not one of them.
MAX_BODY_BYTES = 64 * 1024
# A row id in a path (`<payment_id:id>`): a positive bigint. Sanic's `int` takes any size, and an id
# beyond PostgreSQL's bigint made the query fail (a 500). Sanic matches by the cast, not the regex:
# the cast refuses (ValueError), and the route is not found (404).
ROW_ID = re.compile(r"[1-9][0-9]{0,17}")


def row_id(value: str) -> int:
    if not ROW_ID.fullmatch(value):
        raise ValueError(f"not a row id: {value[:30]!r}")
    return int(value)


def create_app(settings: Settings, name: str = "sidecar") -> Sanic:
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.router.register_pattern("id", row_id, ROW_ID.pattern)
    app.blueprint(webhooks)
    app.blueprint(admin)
    app.blueprint(admin_catalog)
    app.blueprint(admin_shops)
    app.blueprint(admin_inbox)
    app.blueprint(order_api)
    instrument(app, public=True)  # correlation ids, request logs, /ready and /metrics behind METRICS_TOKEN

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    return runtime.attach(app, settings)


def main() -> None:
    settings = Settings.load()
    runtime.configure_logging(settings)
    runtime.serve(create_app(settings), settings.sidecar_host, settings.sidecar_port, settings.sidecar_workers)


if __name__ == "__main__":
    main()
