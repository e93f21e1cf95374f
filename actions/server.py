"""The action server: rasa-sdk's app, plus the engine opened at start and closed at stop.

Run with `python -m actions.server` (port from ACTION_SERVER_PORT, default 5055).
"""

from __future__ import annotations

from rasa_sdk.endpoint import create_app as create_sdk_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from actions.serving import attach_runtime, serve


def create_app() -> Sanic:
    executor = ActionExecutor()
    executor.register_package("actions")
    return attach_runtime(create_sdk_app(executor))


def main() -> None:
    serve(create_app(), "ACTION_SERVER", 5055)


if __name__ == "__main__":
    main()
