"""The action server: rasa-sdk's app over the chat actions (actions/chat/, the only package it
registers), the runtime opened at start and closed at stop, and correlation ids, action timings,
GET /ready and GET /metrics (actions/observability/http.py).

Run with `python -m actions.server` (ACTION_SERVER_HOST, ACTION_SERVER_PORT; default 127.0.0.1:5055).
"""

from __future__ import annotations

from rasa_sdk.endpoint import create_app as create_sdk_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from actions import runtime
from actions.observability.http import action_call_fields, instrument
from actions.settings import Settings

ACTIONS_PACKAGE = "actions.chat"


def create_app(settings: Settings) -> Sanic:
    executor = ActionExecutor()
    executor.register_package(ACTIONS_PACKAGE)
    app = instrument(create_sdk_app(executor), action_call_fields)
    return runtime.attach(app, settings)


def main() -> None:
    settings = Settings.load()
    runtime.configure_logging(settings)
    runtime.serve(create_app(settings), settings.action_server_host, settings.action_server_port)


if __name__ == "__main__":
    main()
