"""Which WhatsApp numbers a shop owns: commerce.tenants.whatsapp_phone_number_id in PostgreSQL.

The action side owns that table (actions/commerce/shops.py finds a conversation's shop in it);
bot/ never imports actions/, so the channel reads the one column itself, as the tracker store's
archive reads and writes its own table. An answer is kept for a minute, so a busy number costs
one query a minute and a number given to a shop is served within a minute.
"""

from __future__ import annotations

import time
from typing import Dict, Tuple

import psycopg2

from bot.stores.connection import Postgres

OWNED = "SELECT EXISTS (SELECT 1 FROM commerce.tenants WHERE whatsapp_phone_number_id = %s)"
KEEP_SECONDS = 60.0


class ShopsUnavailable(RuntimeError):
    pass


class ShopNumbers:
    def __init__(self, database: Postgres) -> None:
        self.database = database
        self._known: Dict[str, Tuple[bool, float]] = {}  # phone_number_id -> (owned, when asked)

    async def owned(self, phone_number_id: str) -> bool:
        now = time.monotonic()
        known = self._known.get(phone_number_id)
        if known and now - known[1] < KEEP_SECONDS:
            return known[0]

        def ask(cursor) -> bool:
            cursor.execute(OWNED, (phone_number_id,))
            return bool(cursor.fetchone()[0])

        try:
            owned = await self.database.run(ask)
        except psycopg2.Error as e:
            raise ShopsUnavailable(f"cannot read the shops' numbers: {e}") from e
        self._known[phone_number_id] = (owned, now)
        return owned
