"""Conversation state that says nothing about who is talking, even to whoever copies it.

- Keys: the chat, user and thread ids in the FSM storage's keys (and the event-isolation locks)
  are replaced by a keyed hash under the conversation secret.
- Values: everything stored as conversation data is encrypted (AES-GCM) under a key derived
  from the same secret.
- The secret is random. It is held in memory (polling) or in the FSM Redis, created once with
  SET NX so that replicas share it; that Redis must run without persistence (see the README),
  so the secret never reaches a disk and is not in the configuration. When Redis restarts, the
  secret and every conversation in progress are gone together.
- In memory (polling mode) conversations expire after WGBOT_FSM_TTL_SECONDS too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StateType, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import DefaultKeyBuilder
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.clock import utcnow

log = logging.getLogger(__name__)

SECRET_BYTES = 32
SECRET_KEY = "wgbot:conversation-secret"
NONCE_BYTES = 12
SEALED_PREFIX = "s1:"


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def _derive(secret: bytes, label: bytes) -> bytes:
    return hmac.new(secret, b"wgbot conversation " + label, hashlib.sha256).digest()


async def shared_secret(redis: Any) -> bytes:
    """The replicas' common conversation secret, created by the first of them to start."""
    await redis.set(SECRET_KEY, base64.b64encode(new_secret()), nx=True)
    value = await redis.get(SECRET_KEY)
    return base64.b64decode(value)


async def warn_if_persistent(redis: Any) -> bool:
    """Log an error when the FSM Redis writes to disk (the secret would be on it)."""
    try:
        save = (await redis.config_get("save")).get("save", "")
        aof = (await redis.config_get("appendonly")).get("appendonly", "no")
    except Exception:  # noqa: BLE001  (managed Redis services often refuse CONFIG)
        log.warning("cannot tell whether the FSM Redis persists to disk: run it with "
                    "--save \"\" --appendonly no")
        return False
    if save or aof == "yes":
        log.error("the FSM Redis persists to disk (save=%r appendonly=%s): conversation "
                  "secrets reach the disk; run it with --save \"\" --appendonly no", save, aof)
        return True
    return False


class ConversationCipher:
    """AES-GCM under a key derived from the conversation secret (never stored)."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(_derive(secret, b"data"))

    def encrypt(self, value: object, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(value, separators=(",", ":")).encode()
        return nonce + self._aead.encrypt(nonce, plain, purpose.encode())

    def decrypt(self, blob: bytes, purpose: str) -> object:
        try:
            plain = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], purpose.encode())
        except InvalidTag:
            raise ValueError("unreadable conversation data") from None
        return json.loads(plain)

    def dumps(self, value: object) -> str:
        """For RedisStorage(json_dumps=...): the conversation data, sealed."""
        return SEALED_PREFIX + base64.b64encode(self.encrypt(value, "fsm")).decode("ascii")

    def loads(self, text: str) -> object:
        """For RedisStorage(json_loads=...): data sealed under another secret is gone."""
        if not text.startswith(SEALED_PREFIX):
            return {}
        try:
            return self.decrypt(base64.b64decode(text[len(SEALED_PREFIX):]), "fsm")
        except ValueError:
            return {}


class HashedKeyBuilder(DefaultKeyBuilder):
    """DefaultKeyBuilder with the chat, user and thread ids replaced by keyed hashes."""

    def __init__(self, secret: bytes, *, prefix: str = "wgbot") -> None:
        super().__init__(prefix=prefix)
        self._key = _derive(secret, b"keys")

    def _hash(self, value: object) -> str:
        return hmac.new(self._key, str(value).encode(), hashlib.sha256).hexdigest()[:32]

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        hidden = replace(key, bot_id=0, chat_id=self._hash(key.chat_id),  # type: ignore[arg-type]
                         user_id=self._hash(key.user_id),  # type: ignore[arg-type]
                         thread_id=self._hash(key.thread_id) if key.thread_id else None)
        return super().build(hidden, part)


class ExpiringMemoryStorage(MemoryStorage):
    """MemoryStorage whose conversations are forgotten after `ttl` without being touched."""

    def __init__(self, ttl: timedelta, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__()
        self.ttl, self.clock = ttl, clock
        # oldest touch first, so that expiring looks only at the conversations that expire
        self._touched: OrderedDict[StorageKey, datetime] = OrderedDict()

    def _expire(self) -> None:
        now = self.clock()
        touched = self._touched
        while touched:
            key, when = next(iter(touched.items()))
            if now - when < self.ttl:
                break
            del touched[key]
            self.storage.pop(key, None)

    def _touch(self, key: StorageKey) -> None:
        self._expire()
        self._touched[key] = self.clock()
        self._touched.move_to_end(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        self._touch(key)
        await super().set_state(key, state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        self._expire()
        return self.storage[key].state if key in self.storage else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        self._touch(key)
        await super().set_data(key, data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        self._expire()
        return self.storage[key].data.copy() if key in self.storage else {}
