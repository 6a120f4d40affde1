"""/start and /help: a greeting and the commands this user can use in this chat."""

from __future__ import annotations

from aiogram import Bot, F
from aiogram.filters import Command, CommandStart
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.formatting import escape
from bot.i18n import _, translate
from bot.services.groups import groups_of, is_secretariat
from bot.unread_answers import unread
from handlers.commands import visible_commands
from handlers.common import RouterTemplate, is_chat_admin
from handlers.language import language_keyboard, never_chose, offer_text
from storage.models import Membership, Person, WorkingGroup

router = RouterTemplate("start")


async def help_text(
    message: Message, bot: Bot, locale: str, group: WorkingGroup | None,
    membership: Membership | None, session: AsyncSession, person: Person | None,
) -> str:
    private = message.chat.type == "private"
    if private:
        memberships = await groups_of(session, person) if person and person.id else []
        secretariat = any(is_secretariat(m) for _, m in memberships)
    else:
        secretariat = is_secretariat(membership)
    chat_admin = (
        not private
        and group is None
        and message.from_user is not None
        and await is_chat_admin(bot, message.chat.id, message.from_user.id)
    )
    commands = visible_commands(
        private=private, registered=group is not None, secretariat=secretariat,
        chat_admin=chat_admin,
    )
    lines = [f"/{c.name} - {translate(c.description, locale)}" for c in commands]
    if private:
        header = _("In this private chat you can:")
    elif group is None:
        header = _("This chat is not a registered working group yet. A chat administrator can "
                   "register it with /setup NAME.")
    else:
        header = _("In the working group <b>{name}</b> you can:").format(name=escape(group.name))
    return "\n".join([header, "", *lines])


@router.message(CommandStart(), F.chat.type == "private")
async def start_private(
    message: Message, bot: Bot, locale: str, person: Person | None, session: AsyncSession,
) -> None:
    name = escape(person.full_name if person else "")
    greeting = _("Hello {name}! I help security and human rights working groups with their "
                 "meetings, members and good practice.").format(name=name)
    body = await help_text(message, bot, locale, None, None, session, person)
    if never_chose(person):  # first contact: the five languages, one tap away
        await unread(message.answer(f"{greeting}\n\n{body}\n\n{offer_text()}",
                                    reply_markup=language_keyboard(first=True)))
        return
    await unread(message.answer(f"{greeting}\n\n{body}"))


@router.message(Command("start", "help"))
async def help_command(
    message: Message, bot: Bot, locale: str, group: WorkingGroup | None,
    membership: Membership | None, session: AsyncSession, person: Person | None,
) -> None:
    await unread(message.answer(
        await help_text(message, bot, locale, group, membership, session, person)))
