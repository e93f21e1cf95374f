"""Calls to the Rasa server's HTTP API (the worker, the admin pages and the command line use it)."""

from __future__ import annotations

from urllib.parse import quote

import httpx


class RasaUnreachable(RuntimeError):
    pass


async def resume(http: httpx.AsyncClient, rasa_url: str, token: str | None, conversation_id: str) -> None:
    """Hand a paused conversation back to the bot."""
    url = f"{rasa_url.rstrip('/')}/conversations/{quote(conversation_id, safe='')}/tracker/events"
    # "action_listen" after "resume": the next message is read as a fresh turn, not a reply to the hand-off.
    events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
    try:
        response = await http.post(url, params={"token": token} if token else {}, json=events)
    except httpx.HTTPError as e:
        raise RasaUnreachable(f"cannot reach Rasa at {rasa_url}: {e}") from e
    if response.status_code != 200:
        raise RasaUnreachable(f"Rasa answered {response.status_code}: {response.text[:300]}")
