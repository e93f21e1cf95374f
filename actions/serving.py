"""What the action server and the sidecar share: the runtime's life, logging, and how they listen."""

from __future__ import annotations

import os

from sanic import Sanic

from actions import runtime
from actions.observability import logs


def attach_runtime(app: Sanic) -> Sanic:
    """Open the engine and clients when the server starts, close them when it stops."""

    async def open_resources(app: Sanic) -> None:
        await runtime.start()

    async def close_resources(app: Sanic) -> None:
        await runtime.stop()

    app.register_listener(open_resources, "before_server_start")
    app.register_listener(close_resources, "after_server_stop")
    return app


def configure_logging() -> None:
    """JSON lines on stderr, levels from LOG_LEVEL and LOG_LEVELS (see actions/observability/logs.py)."""
    logs.configure_from_env()


def serve(app: Sanic, prefix: str, default_port: int) -> None:
    """Listen on <PREFIX>_HOST (default 127.0.0.1) and <PREFIX>_PORT, in one process."""
    configure_logging()
    host = os.environ.get(f"{prefix}_HOST", "127.0.0.1")
    port = int(os.environ.get(f"{prefix}_PORT", str(default_port)))
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)
