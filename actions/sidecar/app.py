"""The sidecar's app factory: one blueprint per area, shared resources opened at start."""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from actions.admin.api import bp as order_api
from actions.admin.views import bp as admin
from actions.observability.web import instrument
from actions.serving import attach_runtime, serve
from actions.sidecar.webhooks import bp as webhooks

# Provider callbacks are a few KB; anything much bigger is not one of them.
MAX_BODY_BYTES = 64 * 1024


def create_app(name: str = "sidecar") -> Sanic:
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.blueprint(webhooks)
    app.blueprint(admin)
    app.blueprint(order_api)
    instrument(app)  # correlation ids, request logs, /ready, /metrics

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    return attach_runtime(app)


def main() -> None:
    serve(create_app(), "SIDECAR", 8000)


if __name__ == "__main__":
    main()
