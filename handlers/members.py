"""/join, /members, /grant, /revoke in a group; /groups in private."""

from __future__ import annotations

from aiogram import Bot, F
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.formatting import escape
from bot.i18n import _
from bot.services.groups import (
    GroupError,
    ensure_member,
    grant_secretariat,
    groups_of,
    is_secretariat,
    members_by_pillar,
    revoke_secretariat,
)
from bot.services.people import find_by_username, touch_person
from handlers.common import (
    RouterTemplate,
    group_error_text,
    identity_of,
    is_in_chat,
    pillar_label,
    private_link_keyboard,
    require_registered,
)
from storage.models import Membership, Person, Role, WorkingGroup

router = RouterTemplate("members")


@router.message(Command("join"))
async def join(
    message: Message, bot: Bot, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, membership: Membership | None, joined_now: bool = False,
) -> None:
    if not await require_registered(message, group) or person is None:
        return
    if membership is not None and not joined_now:
        await message.answer(_("{name}, you are already a member of {group}.").format(
            name=escape(person.full_name), group=escape(group.name)))
        return
    if membership is None:
        await ensure_member(session, group, person)
    text = _("Welcome to {group}, {name}! Tell the group who you are: open a private chat with "
             "me and set your profile.").format(
        group=escape(group.name), name=escape(person.full_name))
    keyboard = await private_link_keyboard(bot, _("Set my profile"), "profile")
    await message.answer(text, reply_markup=keyboard)


@router.message(Command("members"))
async def list_members(message: Message, session: AsyncSession, group: WorkingGroup | None) -> None:
    if not await require_registered(message, group):
        return
    lines = [_("Members of <b>{group}</b>:").format(group=escape(group.name))]
    for pillar, people in (await members_by_pillar(session, group)).items():
        lines.append("")
        lines.append(f"<b>{pillar_label(pillar)}</b>")
        for person, membership in people:
            line = f"• {escape(person.full_name)}"
            if person.organisation:
                line += f" ({escape(person.organisation)})"
            if membership.role == Role.SECRETARIAT.value:
                line += " - " + _("secretariat")
            lines.append(line)
    await message.answer("\n".join(lines))


async def _target(message: Message, session: AsyncSession, args: list[str]) -> Person | None:
    """The person named by @username in the arguments, or the author of the replied message."""
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and not reply.from_user.is_bot:
        return await touch_person(session, identity_of(reply.from_user))
    mention = next((a for a in args if a.startswith("@")), None)
    return await find_by_username(session, mention) if mention else None


async def _change_role(
    message: Message, command: CommandObject, session: AsyncSession,
    group: WorkingGroup | None, membership: Membership | None, grant: bool, bot: Bot,
) -> None:
    if not await require_registered(message, group):
        return
    if not is_secretariat(membership):
        await message.answer(_("Only the secretariat can change roles."))
        return
    args = (command.args or "").split()
    roles = [a.lower() for a in args if not a.startswith("@")]
    allowed_roles = ([Role.SECRETARIAT.value],) if grant else ([], [Role.SECRETARIAT.value])
    if roles not in allowed_roles:
        await message.answer(_("Usage: /grant @user secretariat, /revoke @user secretariat, or "
                               "reply to someone's message with /grant secretariat."))
        return
    target = await _target(message, session, args)
    if target is None:
        await message.answer(_("I don't know that person yet. They need to send a command in "
                               "this group (for example /join) first, or reply to one of their "
                               "messages."))
        return
    if grant and not await is_in_chat(bot, message.chat.id, target.telegram_id):
        # Only someone Telegram places in this very chat can read its reports: a look-alike
        # group must not be able to enlist people of another group.
        await message.answer(_("{name} is not in this chat. Only people in this group's chat "
                               "can join its secretariat.").format(name=escape(target.full_name)))
        return
    try:
        if grant:
            await grant_secretariat(session, group, target)
            text = _("{name} is now in the secretariat of {group}.")
        else:
            await revoke_secretariat(session, group, target)
            text = _("{name} is no longer in the secretariat of {group}.")
    except GroupError as err:
        await message.answer(group_error_text(err.code, name=target.full_name))
        return
    await message.answer(text.format(name=escape(target.full_name), group=escape(group.name)))


@router.message(Command("grant"))
async def grant(
    message: Message, command: CommandObject, session: AsyncSession,
    group: WorkingGroup | None, membership: Membership | None, bot: Bot,
) -> None:
    await _change_role(message, command, session, group, membership, grant=True, bot=bot)


@router.message(Command("revoke"))
async def revoke(
    message: Message, command: CommandObject, session: AsyncSession,
    group: WorkingGroup | None, membership: Membership | None, bot: Bot,
) -> None:
    await _change_role(message, command, session, group, membership, grant=False, bot=bot)


@router.message(Command("groups"), F.chat.type == "private")
async def my_groups(message: Message, session: AsyncSession, person: Person | None) -> None:
    if person is None:
        return
    rows = await groups_of(session, person)
    if not rows:
        await message.answer(_("You are not a member of any working group yet. Send /join in "
                               "your group's chat."))
        return
    lines = [_("Your working groups:")]
    for group, membership in rows:
        role = _("secretariat") if is_secretariat(membership) else _("member")
        lines.append(f"• <b>{escape(group.name)}</b> - {role}")
    await message.answer("\n".join(lines))
