"""/setup: register a group chat as a working group, show and edit its settings."""

from __future__ import annotations

import logging

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.formatting import escape, format_zone
from bot.i18n import LANGUAGE_NAMES, _, pick_locale, translate
from bot.services.groups import (
    GroupError,
    is_secretariat,
    members,
    parse_setup_args,
    register_group,
    update_group,
)
from bot.services.people import touch_person
from handlers.common import (
    GROUP_ANONYMOUS_BOT_ID,
    RouterTemplate,
    edit_in_place,
    group_error_text,
    identity_of,
    is_chat_admin,
    level_label,
)
from storage.models import GroupLevel, Membership, Person, WorkingGroup

log = logging.getLogger(__name__)
router = RouterTemplate("setup")


class GroupSettingsCb(CallbackData, prefix="gs"):
    field: str  # "level", "language" or "back"
    value: str = ""


def card_title(name: str) -> str:
    """"Working group NAME", without saying it twice when the name already does ("Groupe de
    travail Sud-Kivu" stays as it is, in whatever language it was written)."""
    folded = name.casefold()
    if any(folded.startswith(translate("Working group", code).casefold())
           for code in LANGUAGE_NAMES):
        return f"<b>{escape(name)}</b>"
    return _("Working group <b>{name}</b>").format(name=escape(name))


async def settings_card(session: AsyncSession, group: WorkingGroup, locale: str) -> str:
    secretariat = [
        escape(person.full_name)
        for person, membership in await members(session, group)
        if is_secretariat(membership)
    ]
    return "\n".join(
        [
            card_title(group.name),
            _("Level: {level}").format(level=level_label(group.level)),
            _("Time zone: {zone}").format(zone=format_zone(group.timezone, locale)),
            _("Default language: {language}").format(language=LANGUAGE_NAMES[group.language]),
            _("Secretariat: {names}").format(names=", ".join(secretariat) or "-"),
            "",
            _("Change the name or time zone with /setup NAME | Zone, the level and language "
              "with the buttons."),
        ]
    )


def language_buttons(current: str) -> list[list[InlineKeyboardButton]]:
    """The group's language, changed with one tap (the current one is ticked)."""
    buttons = [
        InlineKeyboardButton(
            text=f"✓ {name}" if code == current else name,
            callback_data=GroupSettingsCb(field="language", value=code).pack())
        for code, name in LANGUAGE_NAMES.items()
    ]
    return [buttons[i:i + 3] for i in range(0, len(buttons), 3)]


def settings_keyboard(field: str = "", language: str = "") -> InlineKeyboardMarkup:
    if field == "level":
        rows = [
            [InlineKeyboardButton(
                text=level_label(level.value),
                callback_data=GroupSettingsCb(field="level", value=level.value).pack(),
            )]
            for level in GroupLevel
        ]
    elif field == "language":
        rows = [
            [InlineKeyboardButton(
                text=name, callback_data=GroupSettingsCb(field="language", value=code).pack()
            )]
            for code, name in LANGUAGE_NAMES.items()
        ]
    else:
        return InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(
                text=_("Level"), callback_data=GroupSettingsCb(field="level").pack()
            )],
            *language_buttons(language),
        ])
    rows.append([InlineKeyboardButton(
        text=_("Back"), callback_data=GroupSettingsCb(field="back").pack()
    )])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def chat_admins_as_people(bot: Bot, session: AsyncSession, chat_id: int) -> list[Person]:
    try:
        admins = await bot.get_chat_administrators(chat_id)
    except TelegramAPIError as exc:
        log.warning("getChatAdministrators failed for chat %s: %s", chat_id, exc)
        return []
    return [
        await touch_person(session, identity_of(admin.user))
        for admin in admins
        if not admin.user.is_bot
    ]


@router.message(Command("setup"), F.chat.type == "private")
async def setup_in_private(message: Message) -> None:
    await message.answer(_("Send /setup NAME in the group chat you want to register, after "
                           "adding me to it."))


@router.message(Command("setup"))
async def setup(
    message: Message, command: CommandObject, bot: Bot, session: AsyncSession,
    settings: Settings, person: Person | None, group: WorkingGroup | None,
    membership: Membership | None, locale: str,
) -> None:
    user = message.from_user
    if user is None or person is None or user.id == GROUP_ANONYMOUS_BOT_ID:
        await message.answer(_("Please send /setup as yourself, not anonymously."))
        return
    try:
        request = parse_setup_args(command.args)
    except GroupError as err:
        await message.answer(group_error_text(err.code, **err.params))
        return
    allowed = is_secretariat(membership) or await is_chat_admin(bot, message.chat.id, user.id)
    if not allowed:
        if group is None:
            await message.answer(_("Only a chat administrator can register this group."))
        else:
            await message.answer(_("Only the secretariat or a chat administrator can change "
                                   "the group's settings."))
        return
    if group is None:
        if request is None:
            await message.answer(_("Give the group a name: /setup NAME, or /setup NAME | "
                                   "Africa/Lubumbashi to set its time zone too."))
            return
        admins = await chat_admins_as_people(bot, session, message.chat.id)
        group = await register_group(
            session, message.chat.id, request,
            default_timezone=settings.default_timezone,
            # The group speaks the language of whoever registers it (a French secretariat makes a
            # French group), else the deployment's default; the card offers a one-tap change.
            default_language=pick_locale(person.language, user.language_code,
                                         settings.default_language),
            secretariat=[person, *[a for a in admins if a.id != person.id]],
        )
        intro = _("This chat is now a working group. Members join with /join.")
    else:
        if request is not None:
            await update_group(session, group, name=request.name, timezone=request.timezone)
        intro = ""
    card = await settings_card(session, group, locale)
    await message.answer(f"{intro}\n\n{card}" if intro else card,
                         reply_markup=settings_keyboard(language=group.language))


@router.callback_query(GroupSettingsCb.filter())
async def settings_pressed(
    query: CallbackQuery, callback_data: GroupSettingsCb, bot: Bot, session: AsyncSession,
    group: WorkingGroup | None, membership: Membership | None, locale: str,
) -> None:
    if group is None or not isinstance(query.message, Message):
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    if not (is_secretariat(membership)
            or await is_chat_admin(bot, query.message.chat.id, query.from_user.id)):
        await query.answer(_("Only the secretariat or a chat administrator can change the "
                             "group's settings."), show_alert=True)
        return
    field, value = callback_data.field, callback_data.value
    if field == "back":  # back to the card: a value here can only be forged
        value = ""
    if field not in {"level", "language", "back"}:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    if field != "back" and not value:
        await query.message.edit_reply_markup(reply_markup=settings_keyboard(field))
        await query.answer()
        return
    if value:
        try:
            await update_group(session, group, **{field: value})
        except GroupError:  # only a forged or outdated payload carries an unknown value
            await query.answer(_("This button is not valid any more."), show_alert=True)
            return
    await edit_in_place(query.message, await settings_card(session, group, locale),
                        settings_keyboard(language=group.language))
    await query.answer(_("Saved.") if value else None)

