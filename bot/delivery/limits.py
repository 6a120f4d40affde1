"""Telegram's sending limits, kept by one process or shared by every replica.

Telegram accepts about 30 messages per second from a bot overall, one per second in a private
chat and 20 per minute in a group. Both limiters space messages evenly (a reservation scheme:
each send takes the next free slot of the global lane and of its chat), a hair under the limits,
so that a send that leaves a few milliseconds late never brings 31 messages into one second.

A chat that is not ready takes no global slot: its sender waits and asks again, and the slot
goes to a chat that can use it. `MemoryLimiter` serves one process; `RedisLimiter` does the same
reservation atomically in a Lua script, so replicas sharing a Redis stay together under the
limits. Its keys carry a keyed hash of the chat id, never the id, and expire within a minute.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

GLOBAL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# Spacing used, a little wider than the limits: the margin absorbs the jitter between the
# moment a slot is taken and the moment the request reaches Telegram.
GLOBAL_INTERVAL = 1 / 29.4
PRIVATE_INTERVAL = 1.04
GROUP_INTERVAL = 60 / GROUP_PER_MINUTE + 0.06
WINDOW = 1.03  # no more than 30 messages leave within this many seconds
# Replicas reach Telegram through different processes, each with its own delays between the
# moment a message is counted and the moment it arrives: a wider window keeps them under 30/s.
SHARED_WINDOW = 1.1


def chat_interval(chat_id: int) -> float:
    """Private chats (positive ids): one per second; groups (negative ids): 20 per minute."""
    return PRIVATE_INTERVAL if chat_id > 0 else GROUP_INTERVAL


class Limiter:
    """Waits until one more message may go to a chat; subclasses say when.

    Besides the slots, the times the last 30 messages actually left are kept (in the process,
    or in Redis for all replicas): a send that woke late (a busy event loop, a garbage
    collection, a starved CPU) pushes the next ones back rather than letting 31 into one
    second."""

    def __init__(self, *, global_interval: float = GLOBAL_INTERVAL,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.global_interval = global_interval
        self.sleep = sleep
        self.clock = clock
        self._left: deque[float] = deque(maxlen=GLOBAL_PER_SECOND)

    async def reserve(self, chat_id: int) -> tuple[bool, float]:
        """(True, delay): a slot is taken, send after `delay` seconds; (False, delay): the chat
        is not ready, ask again after `delay` seconds."""
        raise NotImplementedError

    async def acquire(self, chat_id: int) -> None:
        while True:
            taken, delay = await self.reserve(chat_id)
            if delay > 0:
                await self.sleep(delay)
            if taken:
                break
        while (wait := await self.confirm()) > 0:
            await self.sleep(wait)

    async def confirm(self) -> float:
        """The message is about to leave: 0 if fewer than 30 left within the last WINDOW
        seconds (it is counted), else how long to wait before asking again."""
        now = self.clock()
        if len(self._left) == GLOBAL_PER_SECOND and now - self._left[0] < WINDOW:
            return self._left[0] + WINDOW - now
        self._left.append(now)
        return 0.0


class MemoryLimiter(Limiter):
    """The limits of one process."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._global_next = 0.0
        self._chat_next: dict[int, float] = {}

    async def reserve(self, chat_id: int) -> tuple[bool, float]:
        now = self.clock()
        ready_at = self._chat_next.get(chat_id, 0.0)
        if ready_at > now:
            return False, ready_at - now
        at = max(now, self._global_next)
        self._global_next = at + self.global_interval
        self._chat_next[chat_id] = at + chat_interval(chat_id)
        if len(self._chat_next) > 10_000:  # forget the chats whose slot has passed
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        return True, at - now


# The clock both scripts begin with: the current time in milliseconds as given, or "" for the
# Redis server's clock (shared by the replicas).
_CLOCK = """
local function now_ms(given)
  if given == '' then
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  end
  return tonumber(given)
end
"""

# KEYS: the global lane, the chat's lane. ARGV: global spacing, chat spacing (milliseconds),
# the current time (_CLOCK).
_RESERVE = _CLOCK + """
local now = now_ms(ARGV[3])
local chat_next = tonumber(redis.call('GET', KEYS[2]) or '0')
if chat_next > now then
  return {0, tostring(chat_next - now)}
end
local at = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local global_next = at + tonumber(ARGV[1])
chat_next = at + tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%.3f', global_next),
           'PX', math.ceil(global_next - now) + 1000)
redis.call('SET', KEYS[2], string.format('%.3f', chat_next),
           'PX', math.ceil(chat_next - now) + 1000)
return {1, tostring(at - now)}
"""


# KEYS: the list of the times the last 30 messages left, newest first. ARGV: the window and the
# current time (_CLOCK), the number of messages per window.
_CONFIRM = _CLOCK + """
local now = now_ms(ARGV[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local oldest = tonumber(redis.call('LINDEX', KEYS[1], limit - 1) or '-1e18')
if now - oldest < window then
  return tostring(oldest + window - now)
end
redis.call('LPUSH', KEYS[1], string.format('%.3f', now))
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], math.ceil(window) + 1000)
return '0'
"""


class RedisLimiter(Limiter):
    """The limits of every replica that shares this Redis."""

    def __init__(self, redis: Any, *, prefix: str = "wgbot",
                 shared_clock: Callable[[], float] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.redis = redis
        self.prefix = prefix
        self.shared_clock = shared_clock  # None: the Redis server's clock
        self._script = redis.register_script(_RESERVE)
        self._confirm = redis.register_script(_CONFIRM)
        self._key: bytes | None = None

    async def _hash_key(self) -> bytes:
        if self._key is None:
            name = f"{self.prefix}:send-key"
            await self.redis.set(name, base64.b64encode(os.urandom(32)), nx=True)
            self._key = base64.b64decode(await self.redis.get(name))
        return self._key

    async def chat_key(self, chat_id: int) -> str:
        digest = hmac.new(await self._hash_key(), str(chat_id).encode(), hashlib.sha256)
        return f"{self.prefix}:send:{digest.hexdigest()[:32]}"

    def _now(self) -> str:
        """The scripts' clock argument (_CLOCK): "" lets the Redis server give the time."""
        return "" if self.shared_clock is None else f"{self.shared_clock() * 1000:.3f}"

    async def reserve(self, chat_id: int) -> tuple[bool, float]:
        taken, delay = await self._script(
            keys=[f"{self.prefix}:send:all", await self.chat_key(chat_id)],
            args=[f"{self.global_interval * 1000:.3f}",
                  f"{chat_interval(chat_id) * 1000:.3f}", self._now()])
        return bool(int(taken)), float(delay) / 1000

    async def confirm(self) -> float:
        wait = await self._confirm(keys=[f"{self.prefix}:send:left"],
                                   args=[f"{SHARED_WINDOW * 1000:.3f}", self._now(),
                                         GLOBAL_PER_SECOND])
        return float(wait) / 1000


def limiter_for(redis: Any | None) -> Limiter:
    """Shared by the replicas when they share a Redis (WGBOT_REDIS_URL), else per process."""
    return RedisLimiter(redis) if redis is not None else MemoryLimiter()
