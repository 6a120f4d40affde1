"""Anti-abuse counters of concern reports (reports per day, wrong /status codes per hour).

They must leave nothing linkable at rest: a counter is found by an HMAC of the user id under a
random key of the day, kept in memory (polling) or in the FSM Redis, which runs without
persistence; the key is never configured, never derived from a configured key and never written
to the database. When the day changes, the old key is dropped (in Redis it expires), and with it
any way to tell whose counters the old ones were.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta
from typing import Any

PERIODS = {"report": timedelta(days=1), "receipt": timedelta(hours=1)}
KEY_BYTES = 32


def _bucket(kind: str, now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H" if kind == "receipt" else "%Y-%m-%d")


def _subject(key: bytes, kind: str, bucket: str, user_id: int) -> str:
    return hmac.new(key, f"{kind}|{bucket}|{user_id}".encode(), hashlib.sha256).hexdigest()[:32]


class MemoryCounters:
    """Counters of one process (polling mode): the day's key and counts live in memory only."""

    def __init__(self) -> None:
        self._day: str | None = None
        self._key = b""
        self._counts: dict[str, int] = {}

    def _rotate(self, now: datetime) -> None:
        day = now.astimezone(UTC).strftime("%Y-%m-%d")
        if day != self._day:
            self._day, self._key, self._counts = day, os.urandom(KEY_BYTES), {}

    def _name(self, kind: str, user_id: int, now: datetime) -> str:
        self._rotate(now)
        return _subject(self._key, kind, _bucket(kind, now), user_id)

    async def count(self, kind: str, user_id: int, now: datetime) -> int:
        return self._counts.get(self._name(kind, user_id, now), 0)

    async def hit(self, kind: str, user_id: int, now: datetime) -> int:
        name = self._name(kind, user_id, now)
        self._counts[name] = self._counts.get(name, 0) + 1
        return self._counts[name]


class RedisCounters:
    """Counters shared by the replicas in the FSM Redis (no persistence): the day's key is
    created there with SET NX and expires two days later, the counters after their period."""

    def __init__(self, redis: Any, prefix: str = "wgbot") -> None:
        self.redis, self.prefix = redis, prefix

    async def _key(self, now: datetime) -> bytes:
        name = f"{self.prefix}:limits-key:{now.astimezone(UTC):%Y-%m-%d}"
        await self.redis.set(name, base64.b64encode(os.urandom(KEY_BYTES)), nx=True,
                             ex=int(timedelta(days=2).total_seconds()))
        return base64.b64decode(await self.redis.get(name))

    async def _name(self, kind: str, user_id: int, now: datetime) -> str:
        bucket = _bucket(kind, now)
        return f"{self.prefix}:limit:{_subject(await self._key(now), kind, bucket, user_id)}"

    async def count(self, kind: str, user_id: int, now: datetime) -> int:
        value = await self.redis.get(await self._name(kind, user_id, now))
        return int(value) if value is not None else 0

    async def hit(self, kind: str, user_id: int, now: datetime) -> int:
        name = await self._name(kind, user_id, now)
        count = await self.redis.incr(name)
        await self.redis.expire(name, int(PERIODS[kind].total_seconds()) + 60)
        return int(count)
