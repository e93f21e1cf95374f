"""A conversation's waiting messages, in Redis, shared by every Rasa server behind the webhook URL.

- A message id is taken once: SET NX with an expiry longer than Meta's 7-day retry horizon, in the
  same script that queues the message, so a duplicate is never queued and a queued message is
  never forgotten.
- Waiting messages are a sorted set scored by WhatsApp's timestamp (arrival order breaks ties), so
  a message that arrives late but was written earlier is answered first.
- A burst is over when nothing new arrived for `debounce_seconds`, measured with Redis's clock so
  that several servers agree. Whoever then calls `take` gets the whole burst, atomically.
- Taking a burst does not delete it: the same script moves it to the conversation's in-flight
  entry, with a lease (an expiry in the `leases` sorted set) that its server renews while the turns
  run. The entry goes only when its server acknowledges it, after the turns' trackers were saved. A
  lease that expires (its server died) lets any server's `take` have the burst again. One burst of a
  conversation is in flight at a time: messages that arrive meanwhile wait for the next take, so
  bursts are handled, and their lock-store tickets taken, in the order they arrived.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.whatsapp.inbound import Inbound

log = logging.getLogger(__name__)

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

# KEYS: queue, last arrival, pending, in flight, leases
# ARGV: debounce ms, conversation id, lease ms, owner, in-flight ttl
# Returns nil (nothing to take: a lease still held, a burst still arriving, no message) or
# {takes, burst}: the in-flight burst again after its lease expired, else the waiting messages.
_TAKE = (
    _NOW_MS
    + """
local lease = redis.call('ZSCORE', KEYS[5], ARGV[2])
if lease then
  if tonumber(lease) > now then return false end
  local burst = redis.call('HGET', KEYS[4], 'burst')
  if burst then
    redis.call('HSET', KEYS[4], 'owner', ARGV[4])
    redis.call('ZADD', KEYS[5], now + tonumber(ARGV[3]), ARGV[2])
    return {redis.call('HINCRBY', KEYS[4], 'takes', 1), burst}
  end
  redis.call('ZREM', KEYS[5], ARGV[2])
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if now - last < tonumber(ARGV[1]) then return false end
local waiting = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('ZREM', KEYS[3], ARGV[2])
if #waiting == 0 then return false end
local burst = cjson.encode(waiting)
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('HSET', KEYS[4], 'burst', burst, 'owner', ARGV[4], 'takes', 1)
redis.call('EXPIRE', KEYS[4], ARGV[5])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[3]), ARGV[2])
return {1, burst}
"""
)

# KEYS: in flight, leases;  ARGV: conversation id, owner, lease ms.  1 while the lease is the owner's.
_RENEW = (
    _NOW_MS
    + """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

# KEYS: in flight, leases;  ARGV: conversation id, owner.  0 when another server took the burst over.
_ACK = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: in flight;  ARGV: field.  Counts a reply sent for a burst still in flight (never recreates it).
_SENT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
"""


@dataclass(frozen=True)
class Burst:
    """A conversation's messages taken for its turns, under `owner`'s lease. `takes` > 1: a server that
    took them before died (or lost its lease) before acknowledging them, so some turns may have run."""

    conversation: str
    owner: str
    takes: int
    messages: List[Inbound]

    @property
    def taken_again(self) -> bool:
        return self.takes > 1


class Inbox:
    def __init__(self, redis: Redis, key_prefix: str, debounce_seconds: float, lease_seconds: float = 20.0) -> None:
        self.redis = redis
        self.prefix = f"{key_prefix}:whatsapp"
        self.debounce_ms = int(debounce_seconds * 1000)
        self.lease_ms = int(lease_seconds * 1000)
        self._accept = redis.register_script(_ACCEPT)
        self._take = redis.register_script(_TAKE)
        self._renew = redis.register_script(_RENEW)
        self._ack = redis.register_script(_ACK)
        self._sent = redis.register_script(_SENT)

    def _keys(self, conversation: str) -> Dict[str, str]:
        names = ("queue", "last", "seq", "customer_wrote", "inflight")
        return {name: f"{self.prefix}:{name}:{conversation}" for name in names}

    @property
    def pending_key(self) -> str:
        return f"{self.prefix}:pending"

    @property
    def leases_key(self) -> str:
        return f"{self.prefix}:leases"

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

    async def take(self, conversation: str, owner: str) -> Optional[Burst]:
        """The conversation's finished burst in timestamp order, now in flight under `owner`'s lease: the one
        whose lease expired if there is one, else the waiting messages. None while a lease is held, while
        a burst is still arriving, and when nothing waits."""
        keys = self._keys(conversation)
        taken = await self._take(
            keys=[keys["queue"], keys["last"], self.pending_key, keys["inflight"], self.leases_key],
            args=[self.debounce_ms, conversation, self.lease_ms, owner, SEEN_SECONDS],
        )
        if not taken:
            return None
        takes, burst = taken
        messages = [Inbound.from_json(raw.split("|", 1)[1]) for raw in json.loads(_text(burst))]
        return Burst(conversation, owner, int(takes), messages)

    async def renew(self, burst: Burst) -> bool:
        """Extend the burst's lease; False when another server took it over."""
        keys = self._keys(burst.conversation)
        renewed = await self._renew(
            keys=[keys["inflight"], self.leases_key], args=[burst.conversation, burst.owner, self.lease_ms]
        )
        return bool(renewed)

    async def ack(self, burst: Burst) -> bool:
        """The burst's turns are over and their trackers saved: it leaves the in-flight entry. False when
        another server took it over (its lease expired), which then acknowledges it."""
        keys = self._keys(burst.conversation)
        return bool(await self._ack(keys=[keys["inflight"], self.leases_key], args=[burst.conversation, burst.owner]))

    async def sent_before(self, burst: Burst, turn: str) -> Dict[str, int]:
        """How often each reply (by digest) was sent for a turn of this burst by the servers that took it."""
        fields = await self.redis.hgetall(self._keys(burst.conversation)["inflight"])
        start = f"sent:{turn}:"
        return {_text(k)[len(start) :]: int(v) for k, v in fields.items() if _text(k).startswith(start)}

    async def record_sent(self, burst: Burst, turn: str, digest: str) -> None:
        await self._sent(keys=[self._keys(burst.conversation)["inflight"]], args=[f"sent:{turn}:{digest}"])

    async def due(self, grace_seconds: float = 0.0) -> List[str]:
        """Conversations whose burst nobody took, over for `grace_seconds` more than the debounce (their
        server stopped, say), and those whose lease expired (their server died mid-turn)."""
        now_s, now_us = await self.redis.time()
        now_ms = now_s * 1000 + now_us // 1000
        cutoff = now_ms - self.debounce_ms - int(grace_seconds * 1000)
        waiting = await self.redis.zrangebyscore(self.pending_key, "-inf", cutoff)
        expired = await self.redis.zrangebyscore(self.leases_key, "-inf", now_ms)
        return list(dict.fromkeys(_text(c) for c in [*expired, *waiting]))

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


class SentReplies:
    """The replies one turn of an in-flight burst sent, counted in the burst's entry. A server that dies
    after sending a reply but before the turn's tracker is saved leaves the turn to run again elsewhere:
    the bodies the first run sent (the same body as often as it was sent) are not sent twice."""

    def __init__(self, inbox: Inbox, burst: Burst, turn: str, before: Dict[str, int]) -> None:
        self.inbox, self.burst, self.turn = inbox, burst, turn
        self.before = Counter(before)

    @classmethod
    async def of(cls, inbox: Inbox, burst: Burst, turn: str) -> "SentReplies":
        return cls(inbox, burst, turn, await inbox.sent_before(burst, turn) if burst.taken_again else {})

    @staticmethod
    def digest(body: Dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]

    def unsent(self, body: Dict[str, Any]) -> bool:
        """False for a body an earlier run of this turn sent (once for each time it sent it)."""
        digest = self.digest(body)
        if self.before[digest] > 0:
            self.before[digest] -= 1
            return False
        return True

    async def record(self, body: Dict[str, Any]) -> None:
        try:
            await self.inbox.record_sent(self.burst, self.turn, self.digest(body))
        except RedisError as e:  # the reply went out: at worst a run after a crash sends it again
            log.warning("whatsapp: could not record a reply sent: %s", e)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
