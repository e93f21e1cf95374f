"""The benchmark's baseline action server: answers every custom action at once with nothing to do
(action_session_start starts the session as Rasa's default does). `make bench` compares the real
action server against it, so the ratio is what the commerce work costs on top of a bare Rasa turn."""

from __future__ import annotations

import os

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

SESSION_START = [{"event": "session_started"}, {"event": "action", "name": "action_listen"}]


def create_app() -> Sanic:
    app = Sanic("trivial_actions", configure_logging=False)

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        action = (request.json or {}).get("next_action")
        return json({"events": SESSION_START if action == "action_session_start" else [], "responses": []})

    return app


if __name__ == "__main__":
    port = int(os.environ.get("ACTION_SERVER_PORT", "5056"))
    create_app().run(host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False)
