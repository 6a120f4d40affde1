"""The one way out for messages that are not a handler's direct reply.

Respects Telegram's limits (about 30 messages per second overall, 1 per second per chat,
20 per minute per group) through a limiter of `bot/delivery/limits.py`, shared by the replicas
when they share a Redis; retries when Telegram says to retry after a while, and records people
who blocked the bot so nobody keeps writing to them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message
from sqlalchemy import update

from bot.delivery.limits import Limiter, MemoryLimiter
from bot.metrics import RETRY_AFTER
from bot.telegram_text import split_html
from storage.database import Database
from storage.models import Person

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_RETRIES = 3


class Sender:
    def __init__(
        self, bot: Bot, database: Database, *, rate_limits: bool = True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        limiter: Limiter | None = None,
    ) -> None:
        self.bot = bot
        self.database = database
        self.sleep = sleep
        self.limiter = (limiter or MemoryLimiter(sleep=sleep)) if rate_limits else None
        self.sent = 0
        self.retries = 0

    async def _call(self, chat_id: int, request: Callable[[], Awaitable[T]]) -> T | None:
        for attempt in range(MAX_RETRIES + 1):
            try:
                if self.limiter is not None:
                    await self.limiter.acquire(chat_id)
                result = await request()
                self.sent += 1
                return result
            except TelegramRetryAfter as exc:
                if attempt == MAX_RETRIES:
                    raise
                self.retries += 1
                RETRY_AFTER.inc()
                # No chat id in the log: it could be a reporter's private chat.
                log.warning("Telegram asks to wait %s s before the next message",
                            exc.retry_after)
                await self.sleep(exc.retry_after)
            except TelegramForbiddenError:
                await self._record_blocked(chat_id)
                return None
        return None

    async def _record_blocked(self, chat_id: int) -> None:
        if chat_id <= 0:
            log.warning("the bot can no longer write to group chat %s", chat_id)
            return
        log.info("a user blocked the bot; not writing to them any more")
        async with self.database.session() as session:
            await session.exec(
                update(Person).where(Person.telegram_id == chat_id, Person.blocked_bot_at.is_(None))
                .values(blocked_bot_at=datetime.now(UTC))
            )

    async def send_message(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None,
    ) -> Message | None:
        """Send `text` (split when longer than Telegram allows; buttons go on the last part);
        returns the last message sent."""
        messages = await self.send_parts(chat_id, text, reply_markup)
        return messages[-1] if messages else None

    async def send_parts(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None,
    ) -> list[Message]:
        """Send `text` as as many messages as it takes, never cutting a tag (buttons go on the
        last part); returns every message sent, or nothing when the recipient blocked the bot."""
        parts = split_html(text)
        sent: list[Message] = []
        for index, part in enumerate(parts):
            markup = reply_markup if index == len(parts) - 1 else None
            result = await self._call(chat_id, lambda p=part, m=markup: self.bot.send_message(
                chat_id, p, reply_markup=m))
            if result is None:
                return []
            sent.append(result)
        return sent

    async def pin(self, chat_id: int, message_id: int) -> bool:
        """Pin a message quietly; False when the bot may not pin in that chat."""
        try:
            return bool(await self._call(chat_id, lambda: self.bot.pin_chat_message(
                chat_id, message_id, disable_notification=True)))
        except TelegramAPIError as exc:
            log.info("could not pin a message in a group: %s", type(exc).__name__)
            return False

    async def send_document(
        self, chat_id: int, filename: str, data: bytes, caption: str | None = None,
    ) -> Message | None:
        document = BufferedInputFile(data, filename=filename)
        return await self._call(chat_id, lambda: self.bot.send_document(
            chat_id, document, caption=caption))
