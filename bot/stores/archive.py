"""Finished conversation sessions in PostgreSQL (commerce.conversation_events, created by Alembic),
written and read by the Rasa server through psycopg2 in a worker thread (Rasa's environment has no
async driver; a session is archived once, when the next one starts)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Dict, List, Optional

import psycopg2
import psycopg2.extras
import psycopg2.pool

INSERT = """
INSERT INTO commerce.conversation_events (conversation_id, position, event_type, occurred_at, event)
VALUES %s ON CONFLICT (conversation_id, position) DO NOTHING
"""
SELECT = "SELECT event FROM commerce.conversation_events WHERE conversation_id = %s ORDER BY position"


def plain_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


class Archive:
    def __init__(self, url: str) -> None:
        if not url:
            raise ValueError("the tracker store needs archive_url (DATABASE_URL) for finished sessions")
        self.url = plain_url(url)
        self._pool: Optional[psycopg2.pool.ThreadedConnectionPool] = None
        self._opening = threading.Lock()

    def _connection_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self._opening:
            if self._pool is None:
                self._pool = psycopg2.pool.ThreadedConnectionPool(1, 4, self.url)
            return self._pool

    def _run(self, work):
        pool = self._connection_pool()
        connection = pool.getconn()
        try:
            with connection, connection.cursor() as cursor:  # one transaction
                return work(cursor)
        finally:
            pool.putconn(connection)

    async def append(self, conversation_id: str, first_position: int, events: List[Dict[str, Any]]) -> None:
        rows = [
            (conversation_id, first_position + n, e.get("event"), e.get("timestamp"), json.dumps(e))
            for n, e in enumerate(events)
        ]
        await asyncio.to_thread(
            self._run, lambda cursor: psycopg2.extras.execute_values(cursor, INSERT, rows, page_size=500)
        )

    async def events(self, conversation_id: str) -> List[Dict[str, Any]]:
        def read(cursor) -> List[Dict[str, Any]]:
            cursor.execute(SELECT, (conversation_id,))
            return [row[0] for row in cursor.fetchall()]

        return await asyncio.to_thread(self._run, read)
