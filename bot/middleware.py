"""The Dispatcher's middlewares: the per-update context (a database session, the person, the
working group, the locale), the update tracker (counts, latency, updates in progress, the bound
on updates handled at once) and the Bot API call counter."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.types import Chat, TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError

from bot.clock import utcnow
from bot.i18n import CatalogI18n, pick_locale
from bot.metrics import API_CALLS, HANDLER_SECONDS, IN_FLIGHT, UPDATES
from bot.services.groups import ensure_member, get_group, get_membership
from bot.services.people import touch_person
from bot.services.reminders import resume_reminders
from handlers.common import identity_of
from storage.database import Database

log = logging.getLogger(__name__)

GROUP_CHAT_TYPES = {"group", "supergroup"}


def _is_group_command(update: Update) -> bool:
    message = update.message
    if message is not None and message.text:
        return message.text.startswith("/")
    return update.callback_query is not None


class ContextMiddleware(BaseMiddleware):
    """Outer update middleware: opens one session per update and commits when handling succeeds.

    Puts into the handler data: `session`, `person` (or None for updates without a user),
    `group` and `membership` (in a registered group chat), `joined_now`, `locale`, `i18n`.
    A user who uses a command in a registered group becomes a member of it.
    """

    def __init__(self, database: Database, i18n: CatalogI18n) -> None:
        self.database = database
        self.i18n = i18n

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        data["locale"] = pick_locale(None, user.language_code if user else None, None)
        async with self.database.session() as session:
            person = group = membership = None
            joined_now = False
            if user is not None and not user.is_bot:
                # In private chats an unknown user is not stored until something about them is.
                in_group = chat is not None and chat.type in GROUP_CHAT_TYPES
                person = await touch_person(session, identity_of(user), create=in_group)
                if person is not None and person.blocked_bot_at is not None and not in_group:
                    ticker = data.get("ticker")
                    now = ticker.clock() if ticker is not None else utcnow()
                    await resume_reminders(session, person, now)  # they unblocked the bot
            if chat is not None and chat.type in GROUP_CHAT_TYPES:
                group = await get_group(session, chat.id)
            if group is not None and person is not None:
                membership = await get_membership(session, group, person)
                if membership is None and isinstance(event, Update) and _is_group_command(event):
                    membership, joined_now = await ensure_member(session, group, person)
            # In a working group's chat, someone who never chose a language reads the group's:
            # Telegram's apps have no Swahili or Lingala, so the app's language (often English)
            # says little about what a member of a Swahili group reads.
            locale = pick_locale(
                person.language if person else None,
                user.language_code if user and group is None else None,
                group.language if group else None,
            )
            data.update(
                session=session,
                person=person,
                group=group,
                membership=membership,
                joined_now=joined_now,
                locale=locale,
                i18n=self.i18n,
            )
            with self.i18n.context(), self.i18n.use_locale(locale):
                return await handler(event, data)


class UpdateTracker(BaseMiddleware):
    """Outer middleware on updates: counts and times them, and knows how many are in progress
    (graceful shutdown waits for that number to reach zero) and the highest update id seen.

    It also bounds how many updates are handled at once (`limit`): past the database's
    connections, more concurrency only makes updates wait for a connection until they time out
    (or, on SQLite, for the write lock); queued here, they wait their turn instead."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit) if limit else None
        self.in_flight = 0
        self.last_update_id: int | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = type(event).__name__
        if isinstance(event, Update):
            try:
                kind = event.event_type
            except UpdateTypeLookupError:  # a kind of update newer than this aiogram
                kind = "unknown"
            self.last_update_id = max(self.last_update_id or 0, event.update_id)
        self.in_flight += 1
        self._idle.clear()
        IN_FLIGHT.inc()
        started = time.perf_counter()
        try:
            if self._slots is None:
                return await handler(event, data)
            async with self._slots:
                return await handler(event, data)
        finally:
            HANDLER_SECONDS.labels(kind).observe(time.perf_counter() - started)
            UPDATES.labels(kind).inc()
            IN_FLIGHT.dec()
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no update is in progress; False if some still are after `timeout`."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class ApiCallCounter(BaseRequestMiddleware):
    """Counts every Bot API call by method and outcome ("ok", "429" or the error's type)."""

    async def __call__(self, make_request, bot: Bot, method: TelegramMethod):
        name = method.__api_method__
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            API_CALLS.labels(name, "429").inc()
            raise
        except Exception as exc:
            API_CALLS.labels(name, type(exc).__name__).inc()
            raise
        API_CALLS.labels(name, "ok").inc()
        return response
