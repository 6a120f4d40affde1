"""/profile in a private chat: pillar, organisation, language, time zone, co-chair willingness."""

from __future__ import annotations

from aiogram import Bot, F
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.formatting import escape, format_zone
from bot.i18n import LANGUAGE_NAMES, CatalogI18n, _
from bot.services.people import (
    ORGANISATION_MAX,
    ProfileError,
    set_language,
    set_organisation,
    set_pillar,
    set_timezone,
    toggle_cochair,
)
from handlers.common import RouterTemplate, pillar_label, private_link_keyboard
from handlers.language import language_rows
from handlers.prompts import (
    PromptCb,
    ask_answer_or_question,
    ask_for,
    is_cancel_word,
    looks_like_question,
    question_hint,
)
from storage.models import Person, Pillar

router = RouterTemplate("profile")


class ProfileCb(CallbackData, prefix="pf"):
    action: str  # pillar, org, lang, tz, cochair, done, back
    value: str = ""


class ProfileForm(StatesGroup):
    organisation = State()
    timezone = State()
    question = State()  # the organisation's name looked like a question


def profile_card(person: Person, locale: str) -> str:
    yes_no = _("yes") if person.willing_cochair else _("no")
    zone = format_zone(person.timezone, locale) if person.timezone else _("your group's")
    language = LANGUAGE_NAMES.get(person.language or "", _("not chosen"))
    return "\n".join([
        _("<b>Your profile</b>"),
        _("Pillar: {pillar}").format(pillar=pillar_label(person.pillar)),
        _("Organisation: {organisation}").format(
            organisation=escape(person.organisation) if person.organisation else "-"),
        _("Language: {language}").format(language=language),
        _("Time zone: {zone}").format(zone=zone),
        _("Willing to co-chair meetings: {answer}").format(answer=yes_no),
    ])


def _button(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=ProfileCb(action=action, value=value).pack()
    )


def profile_keyboard(person: Person, view: str = "") -> InlineKeyboardMarkup:
    if view == "pillar":
        rows = [[_button(pillar_label(p.value), "pillar", p.value)] for p in Pillar]
        rows.append([_button(_("Back"), "back")])
    elif view == "lang":
        rows = language_rows(lambda code: ProfileCb(action="lang", value=code).pack())
        rows.append([_button(_("Back"), "back")])
    else:
        cochair = _("Co-chair: yes") if person.willing_cochair else _("Co-chair: no")
        rows = [
            [_button(_("Pillar"), "pillar"), _button(_("Organisation"), "org")],
            [_button(_("Language"), "lang"), _button(_("Time zone"), "tz")],
            [_button(cochair, "cochair")],
            [_button(_("Done"), "done")],
        ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show_profile(message: Message, person: Person, locale: str) -> None:
    await message.answer(profile_card(person, locale), reply_markup=profile_keyboard(person))


@router.message(CommandStart(deep_link=True, magic=F.args == "profile"), F.chat.type == "private")
@router.message(Command("profile"), F.chat.type == "private")
async def profile(message: Message, person: Person | None, locale: str, state: FSMContext) -> None:
    await state.clear()
    if person is not None:
        await show_profile(message, person, locale)


@router.message(Command("profile"))
async def profile_in_group(message: Message, bot: Bot) -> None:
    keyboard = await private_link_keyboard(bot, _("Set my profile"), "profile")
    await message.answer(_("Your profile is set in a private chat with me."), reply_markup=keyboard)


@router.message(Command("cancel"), StateFilter(ProfileForm))
@router.message(StateFilter(ProfileForm), F.text.func(is_cancel_word))
async def cancel(message: Message, state: FSMContext, person: Person | None, locale: str) -> None:
    await state.clear()
    await message.answer(_("Cancelled."))
    if person is not None:
        await show_profile(message, person, locale)


@router.callback_query(ProfileCb.filter(), F.message.chat.type == "private")
async def profile_pressed(
    query: CallbackQuery, callback_data: ProfileCb, session: AsyncSession,
    person: Person | None, locale: str, state: FSMContext, i18n: CatalogI18n,
) -> None:
    message = query.message
    if person is None or not isinstance(message, Message):
        await query.answer()
        return
    action, value = callback_data.action, callback_data.value
    setters = {"pillar": set_pillar, "lang": set_language}
    if action in setters and not value:
        await message.edit_reply_markup(reply_markup=profile_keyboard(person, action))
    elif action in setters:
        try:
            await setters[action](session, person, value)
        except ProfileError:
            await query.answer(_("This button is not valid any more."), show_alert=True)
            return
        locale = person.language if action == "lang" else locale
        with i18n.use_locale(locale):
            await message.edit_text(profile_card(person, locale),
                                    reply_markup=profile_keyboard(person))
    elif action == "cochair":
        await toggle_cochair(session, person)
        await message.edit_text(profile_card(person, locale), reply_markup=profile_keyboard(person))
    elif action == "back":
        await message.edit_reply_markup(reply_markup=profile_keyboard(person))
    elif action == "org":
        await state.set_state(ProfileForm.organisation)
        await ask_for(message, _("Send the name of your organisation (at most {max} "
                                 "characters).").format(max=ORGANISATION_MAX), "org")
    elif action == "tz":
        await state.set_state(ProfileForm.timezone)
        await ask_for(message, _("Send your time zone as an IANA name, for example "
                                 "Africa/Lubumbashi or America/Bogota."), "tz")
    elif action == "done":
        if message.reply_markup is not None:  # a second press finds nothing left to remove
            await message.edit_reply_markup(reply_markup=None)
    else:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.answer()


PROFILE_ERRORS = {
    "organisation_empty": lambda: _("Please send the organisation's name as text."),
    "organisation_long": lambda: _("That is too long: at most {max} characters.").format(
        max=ORGANISATION_MAX),
    "timezone": lambda: _("I don't know that time zone. Use an IANA name such as "
                          "Africa/Lubumbashi, Africa/Kinshasa or America/Bogota."),
}


async def _save_text(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None,
    locale: str, setter, text: str | None = None,
) -> None:
    if person is None:
        return
    try:
        await setter(session, person, message.text or "" if text is None else text)
    except ProfileError as err:
        await message.answer(PROFILE_ERRORS[err.code]())
        return
    await state.clear()
    await message.answer(_("Saved."))
    await show_profile(message, person, locale)


@router.message(ProfileForm.organisation, F.chat.type == "private", ~F.text.startswith("/"))
async def organisation_sent(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None, locale: str,
) -> None:
    if looks_like_question(message.text):  # "what should we do if ...?" is no organisation
        await state.set_state(ProfileForm.question)
        await state.update_data(organisation=(message.text or "")[:ORGANISATION_MAX + 1])
        await ask_answer_or_question(message, "org")
        return
    await _save_text(message, state, session, person, locale, set_organisation)


@router.message(ProfileForm.question, F.chat.type == "private", ~F.text.startswith("/"))
async def waiting_for_a_button(message: Message) -> None:
    await message.answer(_("Please answer with the buttons above."))


@router.callback_query(PromptCb.filter(F.kind.in_({"org", "tz"})), F.message.chat.type == "private")
async def prompt_pressed(query: CallbackQuery, callback_data: PromptCb, state: FSMContext,
                         session: AsyncSession, person: Person | None, locale: str) -> None:
    message, action, current = query.message, callback_data.action, await state.get_state()
    in_question = current == ProfileForm.question.state
    valid = isinstance(message, Message) and person is not None and (
        (action == "cancel" and current is not None and current.startswith("ProfileForm:"))
        or (action in ("answer", "question") and in_question))
    if not valid:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    assert isinstance(message, Message) and person is not None
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if action == "cancel":
        await state.clear()
        await message.answer(_("Cancelled."))
        await show_profile(message, person, locale)
    elif action == "question":
        await state.set_state(ProfileForm.organisation)
        await message.answer(question_hint())
    else:
        text = (await state.get_data()).get("organisation", "")
        await state.set_state(ProfileForm.organisation)
        await _save_text(message, state, session, person, locale, set_organisation, text)


@router.message(ProfileForm.timezone, F.chat.type == "private", ~F.text.startswith("/"))
async def timezone_sent(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None, locale: str,
) -> None:
    await _save_text(message, state, session, person, locale, set_timezone)
