"""/language: choose the language the bot speaks to you."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import LANGUAGE_NAMES, CatalogI18n, _
from bot.services.people import ProfileError, set_language
from handlers.common import RouterTemplate
from storage.models import Person

router = RouterTemplate("language")


class LanguageCb(CallbackData, prefix="lang"):
    code: str


def language_rows(make_data) -> list[list[InlineKeyboardButton]]:
    """Language buttons, two per row; `make_data(code)` gives each button's callback data."""
    buttons = [
        InlineKeyboardButton(text=name, callback_data=make_data(code))
        for code, name in LANGUAGE_NAMES.items()
    ]
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=language_rows(lambda code: LanguageCb(code=code).pack())
    )


@router.message(Command("language"))
async def choose_language(message: Message) -> None:
    await message.answer(_("Choose your language:"), reply_markup=language_keyboard())


@router.callback_query(LanguageCb.filter())
async def language_chosen(
    query: CallbackQuery, callback_data: LanguageCb, session: AsyncSession,
    person: Person | None, i18n: CatalogI18n,
) -> None:
    if person is None:
        await query.answer()
        return
    try:
        await set_language(session, person, callback_data.code)
    except ProfileError:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    with i18n.use_locale(callback_data.code):
        text = _("From now on I will write to you in {language}.").format(
            language=LANGUAGE_NAMES[callback_data.code])
        if isinstance(query.message, Message) and query.message.chat.type == "private":
            await query.message.edit_text(text)
            await query.answer()
        else:
            await query.answer(text, show_alert=True)
