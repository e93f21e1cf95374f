"""The action server: rasa-sdk's app, plus the engine opened at start and closed at stop.

Run with `python -m actions.server` (port from ACTION_SERVER_PORT, default 5055).
"""

from __future__ import annotations

import logging
import os

from rasa_sdk.endpoint import create_app as create_sdk_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from actions import runtime


def create_app() -> Sanic:
    executor = ActionExecutor()
    executor.register_package("actions")
    app = create_sdk_app(executor)

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
    port = int(os.environ.get("ACTION_SERVER_PORT", "5055"))
    host = os.environ.get("ACTION_SERVER_HOST", "127.0.0.1")
    create_app().run(host=host, port=port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
