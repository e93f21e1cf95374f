"""TicketLockStore: one conversation's messages are handled one at a time, in the order they came,
also across several Rasa servers sharing one Redis.

Rasa's RedisLockStore reads the whole lock, adds a ticket and writes it back (GET, modify, SET), so
two servers can hand out the same ticket. Here every step is one Redis command or Lua script:

- a ticket is INCR of the conversation's counter, and comes with an "alive" key that expires
  after `lock_lifetime` seconds unless its holder keeps it alive (every third of the lifetime, for
  as long as the message waits or its turn runs, however slow);
- "now serving" moves on when a holder finishes, or past any ticket whose alive key expired (the
  server holding it crashed), so a crashed server delays the conversation by one lifetime at most;
- a task that holds a conversation's ticket does not queue behind itself: `lock` inside `lock` of the
  same conversation (any instance with the same key prefix) goes straight through. The WhatsApp
  channel takes the ticket before anything of a turn happens, then hands the message to Rasa, whose
  `lock` finds it held (bot/channels/whatsapp.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Dict, FrozenSet, Optional, Text, Tuple

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

from bot import logs
from bot.stores.connection import key_prefix, redis_from

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = 20.0
KEEP_KEYS_SECONDS = 24 * 3600
# The conversations (their "serving" keys) whose ticket a task holds, with that task: a task started
# meanwhile copies the context, but holds nothing.
_held: contextvars.ContextVar[FrozenSet[Tuple[str, Any]]] = contextvars.ContextVar("tickets", default=frozenset())

# KEYS: next, serving;  ARGV: alive-key prefix, lifetime ms, keep seconds
_ISSUE = """
local ticket = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', ARGV[1] .. ticket, '1', 'PX', ARGV[2])
redis.call('SET', KEYS[2], ticket, 'NX')
redis.call('EXPIRE', KEYS[2], ARGV[3])
return ticket
"""

# KEYS: serving;  ARGV: alive-key prefix, ticket.  Skips tickets whose holder is gone.
_TRY = """
local ticket = tonumber(ARGV[2])
local serving = tonumber(redis.call('GET', KEYS[1]) or ARGV[2])
local moved = false
while serving < ticket and redis.call('EXISTS', ARGV[1] .. serving) == 0 do
  serving = serving + 1
  moved = true
end
if moved then redis.call('SET', KEYS[1], serving, 'KEEPTTL') end
return serving
"""

# KEYS: serving;  ARGV: alive-key prefix, ticket
_RELEASE = """
redis.call('DEL', ARGV[1] .. ARGV[2])
if tonumber(redis.call('GET', KEYS[1]) or '-1') == tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], tonumber(ARGV[2]) + 1, 'KEEPTTL')
end
return 1
"""


class TicketLockStore(LockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **config: Any) -> None:
        logs.install()  # conversation ids are phone numbers: masked in every log line
        settings: Dict[str, Any] = {**(endpoint_config.kwargs if endpoint_config else {}), **config}
        if endpoint_config is not None and endpoint_config.url:
            settings.setdefault("url", endpoint_config.url)
        self.redis = redis_from(settings)
        self.prefix = f"{key_prefix(settings)}:lock"
        self.lifetime = float(settings.get("lock_lifetime") or DEFAULT_LIFETIME)
        self.poll_seconds = float(settings.get("poll_seconds") or 0.02)
        self._issue = self.redis.register_script(_ISSUE)
        self._try = self.redis.register_script(_TRY)
        self._release = self.redis.register_script(_RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> Dict[str, str]:
        base = f"{self.prefix}:{conversation_id}"
        return {"next": f"{base}:next", "serving": f"{base}:serving", "alive": f"{base}:alive:"}

    async def issue(self, conversation_id: str) -> int:
        keys = self._keys(conversation_id)
        return int(
            await self._issue(
                keys=[keys["next"], keys["serving"]],
                args=[keys["alive"], int(self.lifetime * 1000), KEEP_KEYS_SECONDS],
            )
        )

    async def _keep_alive(self, alive_key: str) -> None:
        while True:
            await asyncio.sleep(self.lifetime / 3)
            try:
                await self.redis.pexpire(alive_key, int(self.lifetime * 1000))
            except RedisError as e:  # the lock is lost if Redis stays away; the turn will fail on its own
                log.warning("lock store: could not keep ticket alive: %s", e)

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = 0, wait_time_in_seconds: float = 0
    ) -> AsyncGenerator[TicketLock, None]:
        """Wait for this message's turn, hold the conversation while it runs, then pass it on.
        Rasa's lifetime and wait arguments are replaced by this store's own (see the module doc)."""
        keys = self._keys(conversation_id)
        held, mine = _held.get(), (keys["serving"], asyncio.current_task())
        if mine in held:  # this task already holds the conversation
            yield TicketLock(conversation_id, deque())
            return
        try:
            ticket = await self.issue(conversation_id)
        except RedisError as e:
            raise LockError(f"Redis unavailable, no ticket for conversation {conversation_id}: {e}") from e
        alive_key = f"{keys['alive']}{ticket}"
        keeper = asyncio.ensure_future(self._keep_alive(alive_key))
        holding = _held.set(held | {mine})
        try:
            wait = self.poll_seconds
            while int(await self._try(keys=[keys["serving"]], args=[keys["alive"], ticket])) < ticket:
                await asyncio.sleep(wait)
                wait = min(wait * 1.5, 0.25)
            yield TicketLock(conversation_id, deque([Ticket(ticket, time.time() + self.lifetime)]))
        except RedisError as e:
            raise LockError(f"Redis unavailable while waiting for conversation {conversation_id}: {e}") from e
        finally:
            _held.reset(holding)
            keeper.cancel()
            try:
                await self._release(keys=[keys["serving"]], args=[keys["alive"], ticket])
            except RedisError as e:  # its alive key expires, and the next ticket goes ahead then
                log.warning("lock store: could not release ticket %s of %s: %s", ticket, conversation_id, e)

    # Rasa's synchronous lock API is not used with this store (everything goes through `lock`).
    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return None

    def delete_lock(self, conversation_id: Text) -> None:
        return None

    def save_lock(self, lock: TicketLock) -> None:
        return None
