"""The conversations' stored events, as the tracker store (bot/stores/tracker.py) keeps them: the live
session of each conversation is a Redis list `<REDIS_KEY_PREFIX>:session:<conversation id>:events` of
JSON events, the finished sessions are rows of commerce.conversation_events. Read only."""

from __future__ import annotations

import json
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.commerce.ports import Conversation
from actions.db import tables as t

_SUFFIX = ":events"


class StoredConversations:
    def __init__(self, redis: Redis, key_prefix: str, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.redis = redis
        self.prefix = f"{key_prefix}:session:"
        self.sessions = sessions

    async def since(self, moment: datetime | None) -> list[Conversation]:
        return [*await self._archived(moment), *await self._live(moment)]

    async def one(self, conversation_id: str, last: int) -> list[dict]:
        """The live session whole, after the last `last` archived events (a session moves to the archive
        before the next one starts: read the archive first, so no event falls between the two reads)."""
        e = t.ConversationEvent
        query = select(e.event).where(e.conversation_id == conversation_id).order_by(e.position.desc()).limit(last)
        async with self.sessions() as session:
            archived = list((await session.scalars(query)).all())[::-1]
        live = await self.redis.lrange(f"{self.prefix}{conversation_id}{_SUFFIX}", 0, -1)
        return [*archived, *(json.loads(row) for row in live)]

    async def _live(self, moment: datetime | None) -> list[Conversation]:
        """Each live session whole (a session is short), if it has an event since `moment`."""
        found = []
        async for key in self.redis.scan_iter(match=f"{self.prefix}*{_SUFFIX}", count=500):
            name = key.decode() if isinstance(key, bytes) else key
            events = [json.loads(row) for row in await self.redis.lrange(name, 0, -1)]
            if events and (moment is None or float(events[-1].get("timestamp") or 0) >= moment.timestamp()):
                found.append(Conversation(name[len(self.prefix) : -len(_SUFFIX)], events, "live"))
        return found

    async def _archived(self, moment: datetime | None) -> list[Conversation]:
        e = t.ConversationEvent
        query = select(e.conversation_id, e.event).order_by(e.conversation_id, e.position)
        if moment is not None:
            recent = select(e.conversation_id).where(e.occurred_at >= moment.timestamp()).distinct()
            whose_shop = (e.event_type == "slot") & (e.event["name"].astext == "tenant")
            query = query.where(e.conversation_id.in_(recent), or_(e.occurred_at >= moment.timestamp(), whose_shop))
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        by_conversation: dict[str, list[dict]] = {}
        for conversation_id, event in rows:
            by_conversation.setdefault(conversation_id, []).append(event)
        return [Conversation(cid, events, "archive") for cid, events in by_conversation.items()]
