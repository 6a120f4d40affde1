"""Small pieces shared by the feature routers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    User,
)
from aiogram.utils.deep_linking import create_start_link
from pydantic import Field
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.formatting import escape, fill
from bot.i18n import _
from bot.services.groups import get_membership, is_secretariat
from bot.services.people import TelegramIdentity
from bot.telegram_text import split_html
from bot.unread_answers import unread
from storage.models import Person, Pillar, WorkingGroup

log = logging.getLogger(__name__)

ADMIN_STATUSES = {"creator", "administrator"}

# Numbers in callback data come back from Telegram as typed by whoever forged them: a row id or
# an occurrence out of these ranges is refused by the button's filter (the stale-button answer)
# instead of overflowing the database's integer columns or the calendar.
RowId = Annotated[int, Field(ge=0, le=2**31 - 1)]
EpochSecond = Annotated[int, Field(ge=0, le=32_503_680_000)]  # up to the year 3000
SmallIndex = Annotated[int, Field(ge=0, le=9_999)]  # a position in a short list or a page
GROUP_ANONYMOUS_BOT_ID = 1087968824  # the sender Telegram shows for anonymous group admins


def identity_of(user: User) -> TelegramIdentity:
    """What the services know of a Telegram user."""
    return TelegramIdentity(
        telegram_id=user.id,
        full_name=user.full_name,
        username=user.username,
        language_code=user.language_code,
    )


def pillar_label(pillar: str | None) -> str:
    labels = {
        Pillar.COMPANY: _("Company"),
        Pillar.HOST_GOVERNMENT: _("Host government"),
        Pillar.PUBLIC_SECURITY: _("Public security"),
        Pillar.PRIVATE_SECURITY: _("Private security"),
        Pillar.CIVIL_SOCIETY: _("Civil society"),
        Pillar.COMMUNITY: _("Community"),
        Pillar.HOME_GOVERNMENT: _("Home government or embassy"),
        Pillar.INTERNATIONAL_ORGANISATION: _("International organisation"),
        Pillar.OTHER: _("Other"),
    }
    if pillar is None:
        return _("Pillar not set")
    try:
        return labels[Pillar(pillar)]
    except ValueError:
        return escape(pillar)


async def is_chat_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether Telegram says this user administers the chat (False when it cannot tell)."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError as exc:
        log.warning("getChatMember failed for chat %s: %s", chat_id, exc)
        return False
    return member.status in ADMIN_STATUSES


async def is_in_chat(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether Telegram says this user is in the chat (False when it cannot tell)."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError as exc:
        log.warning("getChatMember failed for chat %s: %s", chat_id, exc)
        return False
    if member.status == "restricted":
        return bool(getattr(member, "is_member", False))
    return member.status in ("creator", "administrator", "member")


async def edit_in_place(
    message: MaybeInaccessibleMessage, text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Edit a message's text and buttons; a second press that would change nothing (Telegram
    answers "message is not modified") is not an error. A message Telegram no longer shows the
    bot (an old one) is edited by its chat and number when Telegram still allows it; when it
    does not, the message stays as it was (what the press did is stored and answered apart)."""
    if not isinstance(message, Message):
        try:
            await message.bot.edit_message_text(text=text, chat_id=message.chat.id,
                                                 message_id=message.message_id,
                                                 reply_markup=reply_markup)
        except TelegramBadRequest as exc:
            log.info("could not edit an inaccessible message: %s", type(exc).__name__)
        return
    try:
        await unread(message.edit_text(text, reply_markup=reply_markup))
    except TelegramBadRequest as exc:
        if "message is not modified" not in str(exc):
            raise


async def answer_parts(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer with `text` in as many messages as it takes (no tag cut, nothing left out); the
    buttons go on the last one."""
    parts = split_html(text)
    for index, part in enumerate(parts):
        await unread(message.answer(
            part, reply_markup=reply_markup if index == len(parts) - 1 else None))


async def ask(message: Message, text: str, user: User | None = None) -> Message:
    """Send a prompt that waits for typed text.

    In a group, Telegram delivers to a bot in privacy mode only commands and replies to the
    bot's own messages: a plain answer would never reach it. So a group prompt forces a reply,
    selectively: only the person asked gets the reply box. Telegram selects them when the
    prompt replies to their message (``message`` is theirs) or mentions them (``message`` is
    the bot's, after a button press by ``user``); it ends with the way out, /cancel, which every
    group prompt's state accepts. In a private chat it is a plain message.
    """
    if message.chat.type == "private":
        return await message.answer(text)
    force = ForceReply(force_reply=True, selective=True)
    text = f"{text}\n{_('Or /cancel.')}"
    if user is None or (message.from_user is not None and message.from_user.id == user.id):
        return await message.reply(text, reply_markup=force)
    mention = f'<a href="tg://user?id={user.id}">{escape(user.full_name)}</a>'
    return await message.answer(f"{mention}\n{text}", reply_markup=force)


async def private_link_keyboard(bot: Bot, label: str, payload: str) -> InlineKeyboardMarkup:
    """A button that opens the private chat with the bot, carrying a start payload."""
    url = await create_start_link(bot, payload)
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label, url=url)]])


async def require_secretariat(
    message: Message, session: AsyncSession, group: WorkingGroup | None, person: Person | None,
    refusal: str,
) -> bool:
    """In a registered group's chat: answer `refusal` and return False unless the sender is in
    its secretariat."""
    if not await require_registered(message, group):
        return False
    if person is None or not is_secretariat(await get_membership(session, group, person)):
        await message.answer(refusal)
        return False
    return True


async def require_registered(message: Message, group: WorkingGroup | None) -> bool:
    """In a group chat: answer with a hint and return False when the group is not registered."""
    if message.chat.type == "private":
        await message.answer(_("This command works in a working group's chat."))
        return False
    if group is None:
        await message.answer(
            _("This chat is not a registered working group yet. A chat administrator can "
              "register it with /setup NAME.")
        )
        return False
    return True


def group_error_text(code: str, **params: object) -> str:
    """The localized explanation of a refused group operation (see bot.groups.GroupError)."""
    texts = {
        "name_empty": _("The group needs a name: /setup NAME."),
        "name_long": _("That name is too long: at most {max} characters."),
        "timezone": _("I don't know the time zone \"{zone}\". Use an IANA name such as "
                      "Africa/Lubumbashi, Africa/Kinshasa or America/Bogota."),
        "level": _("Unknown level."),
        "language": _("Unknown language."),
        "already_registered": _("This chat is already registered as a working group."),
        "already_secretariat": _("{name} is already in the secretariat."),
        "not_secretariat": _("{name} is not in the secretariat."),
        "last_secretariat": _("{name} is the last member of the secretariat; grant the role to "
                              "someone else first."),
    }
    return fill(texts.get(code, _("That did not work.")), **params)


def level_label(level: str) -> str:
    labels = {
        "national": _("National"),
        "provincial": _("Provincial"),
        "local": _("Local"),
        "operational": _("Operational"),
    }
    return labels.get(level, escape(level))


class RouterTemplate:
    """Collects handlers with aiogram-style decorators and builds a fresh Router on demand.

    aiogram attaches a Router to one parent only; building per Dispatcher lets one process hold
    several dispatchers (tests, benchmarks, the console next to a running bot).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._registrations: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = []

    def _decorator(self, observer: str, filters: tuple[Any, ...]):
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self._registrations.append((observer, handler, filters))
            return handler

        return register

    def message(self, *filters: Any):
        return self._decorator("message", filters)

    def callback_query(self, *filters: Any):
        return self._decorator("callback_query", filters)

    def build(self) -> Router:
        router = Router(name=self.name)
        for observer, handler, filters in self._registrations:
            router.observers[observer].register(handler, *filters)
        return router
