"""Per-update context: a database session, the person, the working group, the locale."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User

from bot.groups import ensure_member, get_group, get_membership
from bot.i18n import CatalogI18n, pick_locale
from bot.people import TelegramIdentity, touch_person
from bot.reminders import resume_reminders
from bot.scheduler import utcnow
from storage.database import Database

log = logging.getLogger(__name__)

GROUP_CHAT_TYPES = {"group", "supergroup"}


def identity_of(user: User) -> TelegramIdentity:
    return TelegramIdentity(
        telegram_id=user.id,
        full_name=user.full_name,
        username=user.username,
        language_code=user.language_code,
    )


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
            locale = pick_locale(
                person.language if person else None,
                user.language_code if user else None,
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
