"""/language: choose the language the bot speaks to you; the same choice is offered, with one
tap, at a person's first private contact (Telegram's apps have no Swahili or Lingala, so the
app's language says little about what a person reads)."""

from __future__ import annotations

from aiogram import F
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import LANGUAGE_NAMES, N_, CatalogI18n, _, current_locale, translate
from bot.services.people import ProfileError, set_language
from handlers.common import RouterTemplate
from storage.models import Person

router = RouterTemplate("language")

CHOOSE = N_("Choose your language")


class LanguageCb(CallbackData, prefix="lang"):
    code: str
    first: bool = False  # offered at first contact: the answer says what to do next


def language_rows(make_data) -> list[list[InlineKeyboardButton]]:
    """Language buttons, two per row; `make_data(code)` gives each button's callback data."""
    buttons = [
        InlineKeyboardButton(text=name, callback_data=make_data(code))
        for code, name in LANGUAGE_NAMES.items()
    ]
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


def language_keyboard(first: bool = False) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=language_rows(lambda code: LanguageCb(code=code, first=first).pack())
    )


def never_chose(person: Person | None) -> bool:
    """A person who never chose a language (one who chose English has "en" stored)."""
    return person is None or person.language is None


def offer_text() -> str:
    """"Choose your language" in the reader's language first, then in the others (English only
    for someone who reads it already: every app offers that), whatever the app's language."""
    reader = current_locale()
    codes = [reader, *(c for c in LANGUAGE_NAMES if c not in {reader, "en"})]
    return " / ".join(dict.fromkeys(translate(CHOOSE, code) for code in codes))


def _never_chose_filter(message: Message, person: Person | None = None) -> bool:
    return never_chose(person)


@router.message(StateFilter(None), F.chat.type == "private", F.text, ~F.text.startswith("/"),
                _never_chose_filter)
async def offer_before_answering(message: Message) -> None:
    """Someone who never chose writes privately (often a first question): the five languages
    are offered, then the message is handled as usual (the question still gets its answer)."""
    await message.answer(offer_text(), reply_markup=language_keyboard(first=True))
    raise SkipHandler


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
        if callback_data.first:
            text += "\n" + _("You can change it at any time with /language. Send /help to see "
                             "what I can do.")
        if callback_data.first and isinstance(query.message, Message) \
                and query.message.chat.type == "private":
            # The offer came with a greeting or an answer: that text stays, the buttons go.
            await query.message.edit_reply_markup(reply_markup=None)
            await query.message.answer(text)
            await query.answer()
        elif isinstance(query.message, Message) and query.message.chat.type == "private":
            await query.message.edit_text(text)
            await query.answer()
        else:
            await query.answer(text, show_alert=True)
