"""The sidecar's app factory: one blueprint per area, shared resources opened at start."""

from __future__ import annotations

import logging
import os

from sanic import Sanic
from sanic.response import json

from actions import runtime
from actions.sidecar.webhooks import bp as webhooks

# Provider callbacks are a few KB; anything much bigger is not one of them.
MAX_BODY_BYTES = 64 * 1024


def create_app(name: str = "sidecar") -> Sanic:
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.blueprint(webhooks)

    @app.get("/health")
    async def health(request):
        return json({"status": "ok"})

    @app.before_server_start
    async def open_resources(app: Sanic) -> None:
        await runtime.start()

    @app.after_server_stop
    async def close_resources(app: Sanic) -> None:
        await runtime.stop()

    return app


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    port = int(os.environ.get("SIDECAR_PORT", "8000"))
    host = os.environ.get("SIDECAR_HOST", "127.0.0.1")
    create_app().run(host=host, port=port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
