"""The action server: rasa-sdk's app, plus the engine opened at start and closed at stop, and
correlation ids, action timings, GET /ready and GET /metrics (actions/observability/web.py).

Run with `python -m actions.server` (port from ACTION_SERVER_PORT, default 5055).
"""

from __future__ import annotations

from rasa_sdk.endpoint import create_app as create_sdk_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from actions.observability.web import action_call_fields, instrument
from actions.serving import attach_runtime, serve


def create_app() -> Sanic:
    executor = ActionExecutor()
    executor.register_package("actions")
    app = instrument(create_sdk_app(executor), action_call_fields)
    return attach_runtime(app)


def main() -> None:
    serve(create_app(), "ACTION_SERVER", 5055)


if __name__ == "__main__":
    main()
