"""The Dispatcher's middlewares: the per-update context (a database session, the person, the
working group, the locale), the update tracker (counts, latency, updates in progress, the bound
on updates handled at once), the Bot API call counter, and the rule that nothing is confirmed
before it is stored.

Confirm only what is stored: while an update is handled, every Bot API call that would show the
person something (a message, an edit, a callback answer: any method but the `get...` ones) first
commits what the update has changed so far. When that commit fails, the call is not made: the
handler stops with `NotStored`, the change is rolled back, and the person is told it did not
work (bot/errors.py) instead of being told it was saved. Handlers write, then reply; they need
no code of their own for this."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.types import Chat, TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import utcnow
from bot.i18n import CatalogI18n, pick_locale
from bot.metrics import API_CALLS, HANDLER_SECONDS, IN_FLIGHT, UPDATES
from bot.response_types import keep_response_types
from bot.services.groups import chat_context, ensure_member
from bot.services.people import get_person, note_private_chat, refresh_identity, touch_person
from bot.services.reminders import resume_reminders
from bot.services.updates import claim_update
from handlers.common import identity_of
from storage.database import Database

log = logging.getLogger(__name__)

GROUP_CHAT_TYPES = {"group", "supergroup"}


class NotStored(Exception):
    """What the update changed could not be committed: nothing of it is saved."""


@dataclass
class _Pending:
    session: AsyncSession
    active: bool = True
    failed: bool = False


_pending: ContextVar[_Pending | None] = ContextVar("wgbot_pending_update", default=None)


async def commit_pending() -> None:
    """Commit what the update being handled has changed so far; `NotStored` if that fails."""
    pending = _pending.get()
    if pending is None or not pending.active or pending.failed:
        return
    session = pending.session
    if not session.in_transaction():
        return
    try:
        await session.commit()
    except Exception as exc:
        pending.failed = True
        try:
            await session.rollback()
        except Exception:  # the connection itself is gone: nothing more to undo here
            log.warning("rollback after a failed commit failed too")
        raise NotStored(type(exc).__name__) from exc


class CommitBeforeReply(BaseRequestMiddleware):
    """Bot API request middleware: commit the update's changes before anything is shown; an
    edit that would change nothing is not an error."""

    async def __call__(self, make_request, bot: Bot, method: TelegramMethod):
        name = method.__api_method__
        if not name.startswith("get"):
            await commit_pending()
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            # A second press that would change nothing: Telegram refuses the edit, and that is
            # not an error (the message already shows what it should).
            if name.startswith("editMessage") and "message is not modified" in str(exc):
                return True
            raise


def ensure_commit_before_reply(bot: Bot) -> None:
    """Install `CommitBeforeReply` on this bot's session once (any bot the Dispatcher feeds:
    Telegram's, the console's, the tests')."""
    session = bot.session
    keep_response_types(session)
    if not getattr(session, "_wgbot_commit_before_reply", False):
        session.middleware(CommitBeforeReply())
        session._wgbot_commit_before_reply = True


_COMMAND_HEAD = re.compile(r"/([A-Za-z0-9_]{1,64})(?=$|[@\s])")


def normalise_command(update: TelegramObject) -> TelegramObject:
    """The update with its command in lower case (`/Calendar`, `/CALENDAR@Bot` from a keyboard
    that capitalises the first letter, or a caps-lock): routing, and every check of the text,
    then sees `/calendar`. Only the command's name changes; its arguments keep their case."""
    if not isinstance(update, Update) or update.message is None:
        return update
    text = update.message.text
    if not text or not text.startswith("/"):
        return update
    head = _COMMAND_HEAD.match(text)
    if head is None or head.group(1) == head.group(1).lower():
        return update
    lowered = "/" + head.group(1).lower() + text[head.end():]
    message = update.message.model_copy(update={"text": lowered})
    return update.model_copy(update={"message": message})


def _is_group_command(update: Update) -> bool:
    message = update.message
    if message is not None and message.text:
        return message.text.startswith("/")
    return update.callback_query is not None


REPORT_STATES = ("ReportForm:", "StatusForm:")
REPORT_COMMANDS = ("/report", "/status", "/start report", "/start status")


def _is_report_update(update: TelegramObject, raw_state: str | None) -> bool:
    """An update of the anonymous report flows in a private chat: nothing may be written about
    the person then (not even a refreshed name), so that the transaction that files a report
    holds the case only."""
    if raw_state is not None and raw_state.startswith(REPORT_STATES):
        return True
    if not isinstance(update, Update):
        return False
    if update.callback_query is not None:
        return (update.callback_query.data or "").startswith("rp:")
    text = update.message.text if update.message is not None else None
    return bool(text) and text.split("@", 1)[0].startswith(REPORT_COMMANDS)


class ContextMiddleware(BaseMiddleware):
    """Outer update middleware: opens one session per update and commits when handling succeeds.

    Puts into the handler data: `session`, `person` (or None for updates without a user),
    `group` and `membership` (in a registered group chat), `joined_now`, `locale`, `i18n`.
    A user who uses a command in a registered group becomes a member of it. With
    `redeliver_on_failure` in the Dispatcher's data (webhook mode), each update id is recorded
    in the update's own transaction and an update already handled is skipped.
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
        bot = data.get("bot")
        if bot is not None:
            ensure_commit_before_reply(bot)
        event = normalise_command(event)
        async with self.database.session() as session:
            pending = _Pending(session)
            token = _pending.set(pending)
            try:
                return await self._handle(handler, event, data, session, user, chat)
            finally:
                pending.active = False
                _pending.reset(token)

    async def _handle(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject, data: dict[str, Any], session: AsyncSession, user: User | None,
        chat: Chat | None,
    ) -> Any:
        if data.get("redeliver_on_failure") and isinstance(event, Update):
            if not await claim_update(session, event.update_id):
                log.info("update %s was handled already: skipped", event.update_id)
                return None
        person = group = membership = None
        joined_now = False
        in_group = chat is not None and chat.type in GROUP_CHAT_TYPES
        known = None
        if in_group:  # the group, the person and their membership in one query
            known = await chat_context(session, user.id if user is not None else 0, chat.id)
            if known is not None:
                group, person, membership = known
        if user is not None and not user.is_bot:
            # In private chats an unknown user is not stored until something about them is.
            reporting = _is_report_update(event, data.get("raw_state"))
            if reporting:  # /report or /status typed in a group included: no side effect
                if known is None:
                    person = await get_person(session, user.id)  # read only
            elif known is not None:
                person = await refresh_identity(session, person, identity_of(user), create=True)
            else:
                person = await touch_person(session, identity_of(user), create=in_group)
            if person is not None and not in_group and not reporting:
                ticker = data.get("ticker")
                now = ticker.clock() if ticker is not None else utcnow()
                if chat is not None and chat.type == "private":
                    await note_private_chat(session, person, now)  # the bot may write there
                if person.blocked_bot_at is not None:
                    await resume_reminders(session, person, now)  # they unblocked the bot
        if user is None or user.is_bot:
            person = membership = None
        if group is not None and person is not None:
            if membership is None and isinstance(event, Update) and _is_group_command(event) \
                    and not _is_report_update(event, None):
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
            result = await handler(event, data)
            await commit_pending()  # what the handler changed after its last reply
            return result


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
