"""Finished conversation sessions in PostgreSQL (commerce.conversation_events, created by Alembic),
written and read by the Rasa server through psycopg2 in a worker thread (Rasa's environment has no
async driver; a session is archived once, when the next one starts)."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import psycopg2.extras

from bot.stores.connection import Postgres

INSERT = """
INSERT INTO commerce.conversation_events (conversation_id, position, event_type, occurred_at, event)
VALUES %s ON CONFLICT (conversation_id, position) DO NOTHING
"""
SELECT = "SELECT event FROM commerce.conversation_events WHERE conversation_id = %s ORDER BY position"


class Archive:
    def __init__(self, url: str) -> None:
        if not url:
            raise ValueError("the tracker store needs archive_url (DATABASE_URL) for finished sessions")
        self.database = Postgres(url)

    async def append(self, conversation_id: str, first_position: int, events: List[Dict[str, Any]]) -> None:
        rows = [
            (conversation_id, first_position + n, e.get("event"), e.get("timestamp"), json.dumps(e))
            for n, e in enumerate(events)
        ]
        await self.database.run(lambda cursor: psycopg2.extras.execute_values(cursor, INSERT, rows, page_size=500))

    async def events(self, conversation_id: str) -> List[Dict[str, Any]]:
        def read(cursor) -> List[Dict[str, Any]]:
            cursor.execute(SELECT, (conversation_id,))
            return [row[0] for row in cursor.fetchall()]

        return await self.database.run(read)
