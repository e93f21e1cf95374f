"""A conversation's waiting messages, in Redis, shared by every Rasa server behind the webhook URL.

- A message id is taken once: SET NX with an expiry longer than Meta's 7-day retry horizon, in the
  same script that queues the message, so a duplicate is never queued and a queued message is
  never forgotten.
- Waiting messages are a sorted set scored by WhatsApp's timestamp (arrival order breaks ties), so
  a message that arrives late but was written earlier is answered first.
- A burst is over when nothing new arrived for `debounce_seconds`, measured with Redis's clock so
  that several servers agree. Whoever then calls `take` gets the whole burst, atomically.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional

from redis.asyncio import Redis

from bot.whatsapp.inbound import Inbound

SEEN_SECONDS = 8 * 24 * 3600  # Meta retries for up to 7 days
WINDOW_SECONDS = 24 * 3600  # free-form replies are allowed this long after the customer's last message
UNDELIVERED_MAX = 10_000

_NOW_MS = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: seen, queue, last arrival, sequence, pending, last customer message
# ARGV: seen ttl, timestamp, message json, conversation id
_ACCEPT = (
    _NOW_MS
    + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local seq = redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], string.format('%012d|', seq) .. ARGV[3])
redis.call('SET', KEYS[3], now, 'EX', 86400)
redis.call('ZADD', KEYS[5], now, ARGV[4])
local ts = tonumber(ARGV[2])
if ts > tonumber(redis.call('GET', KEYS[6]) or '0') then
  redis.call('SET', KEYS[6], ts, 'EX', 8 * 86400)
end
return 1
"""
)

# KEYS: queue, last arrival, pending;  ARGV: debounce ms, conversation id
_TAKE = (
    _NOW_MS
    + """
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if now - last < tonumber(ARGV[1]) then return false end
local waiting = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return waiting
"""
)


class Inbox:
    def __init__(self, redis: Redis, key_prefix: str, debounce_seconds: float) -> None:
        self.redis = redis
        self.prefix = f"{key_prefix}:whatsapp"
        self.debounce_ms = int(debounce_seconds * 1000)
        self._accept = redis.register_script(_ACCEPT)
        self._take = redis.register_script(_TAKE)

    def _keys(self, conversation: str) -> Dict[str, str]:
        return {name: f"{self.prefix}:{name}:{conversation}" for name in ("queue", "last", "seq", "customer_wrote")}

    @property
    def pending_key(self) -> str:
        return f"{self.prefix}:pending"

    async def accept(self, message: Inbound) -> bool:
        """Queue a message; False when this message id was already taken (a redelivery)."""
        keys = self._keys(message.conversation_id)
        accepted = await self._accept(
            keys=[
                f"{self.prefix}:seen:{message.message_id}",
                keys["queue"],
                keys["last"],
                keys["seq"],
                self.pending_key,
                keys["customer_wrote"],
            ],
            args=[SEEN_SECONDS, message.timestamp, message.to_json(), message.conversation_id],
        )
        return bool(accepted)

    async def take(self, conversation: str) -> Optional[List[Inbound]]:
        """The conversation's waiting messages in timestamp order, or None while a burst is still arriving."""
        keys = self._keys(conversation)
        waiting = await self._take(
            keys=[keys["queue"], keys["last"], self.pending_key], args=[self.debounce_ms, conversation]
        )
        if waiting is None:
            return None
        return [Inbound.from_json(_text(raw).split("|", 1)[1]) for raw in waiting]

    async def due(self) -> List[str]:
        """Conversations with messages nobody took (their server stopped, say) whose burst is over."""
        now_s, now_us = await self.redis.time()
        cutoff = now_s * 1000 + now_us // 1000 - self.debounce_ms
        return [_text(c) for c in await self.redis.zrangebyscore(self.pending_key, "-inf", cutoff)]

    async def within_window(self, conversation: str, now: Optional[float] = None) -> bool:
        """Whether the customer wrote in the last 24 hours, so a free-form message may be sent."""
        wrote = await self.redis.get(self._keys(conversation)["customer_wrote"])
        return wrote is not None and (now or time.time()) - int(wrote) < WINDOW_SECONDS

    async def record_undelivered(self, conversation: str, reason: str, detail: Dict[str, Any]) -> None:
        """Kept for staff: a reply the customer never got (outside the window, refused by Meta)."""
        fields = {"conversation": conversation, "reason": reason, "detail": json.dumps(detail)[:2000]}
        await self.redis.xadd(f"{self.prefix}:undelivered", fields, maxlen=UNDELIVERED_MAX, approximate=True)

    async def undelivered(self, count: int = 100) -> List[Dict[str, str]]:
        entries = await self.redis.xrevrange(f"{self.prefix}:undelivered", count=count)
        return [{_text(k): _text(v) for k, v in fields.items()} for _, fields in entries]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
