"""From a concern report to a meeting's agenda, and its outcome back to the reporter (the
secretariat's side, private chat only): the anonymised summary with its warnings, the choice of a
coming meeting, the outcome text and whether the reporter sees it. The services are in
bot/services/concerns.py; the buttons that start both flows are on the /case card."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.delivery.scheduler import Ticker
from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape, format_when
from bot.i18n import LANGUAGE_NAMES, _, translate
from bot.services import concerns, reminders
from bot.services.report_crypto import ReportUnreadable
from bot.services.reports import ReportError, case_for, read_content
from bot.telegram_text import split_html
from handlers.calendar import now_of
from handlers.case_texts import case_error_text, cb, parts_lines, unreadable_text
from handlers.common import EpochSecond, RouterTemplate, RowId
from handlers.report_texts import day_text, load_cipher, unavailable_text
from storage.models import OutboxMessage, Person, WorkingGroup
from storage.report_tables import ReportCase

router = RouterTemplate("case_agenda")


class ConcernForm(StatesGroup):
    summary = State()
    outcome = State()


class ConcernCb(CallbackData, prefix="cc"):
    a: str  # send, edit, cancel, meet, show, hide
    c: RowId  # case
    m: RowId = 0  # meeting
    o: EpochSecond = 0  # occurrence (epoch second of its original start)


def _button(text: str, action: str, case: int, meeting: int = 0, occ: int = 0
            ) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=ConcernCb(
        a=action, c=case, m=meeting, o=occ).pack())


def error_text(code: str, **params: object) -> str:
    texts = {
        "summary_empty": _("Please send the summary as text."),
        "summary_long": _("That is too long for an agenda item: at most {max} characters."),
        "outcome_empty": _("Please send the outcome as text."),
        "outcome_long": _("That is too long: at most {max} characters."),
        "no_group": _("The reporter did not choose a group: this case cannot go on an agenda."),
        "agenda_closed": _("That meeting's agenda is closed or the meeting has passed. Choose "
                           "another one."),
        "not_discussed": _("No meeting has had this case on its agenda yet: the outcome can be "
                           "written once it has been discussed."),
        "no_outcome": _("Write the outcome first."),
        "already": _("That is already done."),
        "gone": _("This button is not valid any more."),
    }
    if code in texts:
        return texts[code].format(**params)
    return case_error_text(code, **params)


WARNING_LABELS = {
    "phone": lambda: _("a phone number"),
    "date": lambda: _("dates or days"),
    "number": lambda: _("numbers"),
    "name": lambda: _("names or other capitalised words"),
    "place": lambda: _("places"),
    "shared": lambda: _("words taken from the report itself"),
}


def warnings_text(found: list[concerns.Hint]) -> str:
    lines = [_("⚠️ This summary may identify the reporter. Check:")]
    for warning in found:
        lines.append("• " + WARNING_LABELS[warning.kind]() + ": " + escape(", ".join(
            warning.words)))
    lines.append(_("Replace them with general words (\"a village\", \"last month\"), or send "
                   "it anyway if they are safe."))
    return "\n".join(lines)


async def _case(query_or_message, session: AsyncSession, settings: Settings,
                person: Person | None, number: int) -> ReportCase | None:
    """The case for this secretariat member, or None after telling them why not."""
    cipher = load_cipher(settings)
    answer = query_or_message.answer
    if cipher is None:
        await answer(unavailable_text()[:200])
        return None
    try:
        return await case_for(session, cipher, person, number)
    except ReportError as err:
        text = case_error_text(err.code, **err.params)
        if isinstance(query_or_message, CallbackQuery):
            await query_or_message.answer(text[:200], show_alert=True)
        else:
            await answer(text)
        return None


# -- started from the /case card ------------------------------------------------------------------
async def ask_summary(message: Message, state: FSMContext, case: ReportCase,
                      settings: Settings) -> None:
    """Show the case's own text beside the prompt for the anonymised summary."""
    cipher = load_cipher(settings)
    if cipher is None:
        await message.answer(unavailable_text())
        return
    try:
        content = read_content(cipher, case)
    except ReportUnreadable:
        await message.answer(unreadable_text())
        return
    await state.set_state(ConcernForm.summary)
    await state.update_data(case=case.id)
    lines = [_("<b>Case #{number}, as reported</b> (for you only)").format(number=case.id),
             _("Where: {place}").format(place=escape(content.get("where", ""))),
             _("When: {time}").format(time=escape(content.get("when", ""))), ""]
    lines += parts_lines(content.get("parts", []))
    for chunk in split_html("\n".join(lines)):
        await message.answer(chunk)
    await message.answer(_(
        "Write the agenda item the working group will see, at most {max} characters: what "
        "happened in general words, without names, places, dates or details that could point "
        "to the reporter. The case number is never shown in the group. Or /cancel.").format(
        max=concerns.SUMMARY_MAX))


async def ask_outcome(message: Message, state: FSMContext, case: ReportCase) -> None:
    await state.set_state(ConcernForm.outcome)
    await state.update_data(case=case.id)
    language = LANGUAGE_NAMES.get(case.language, case.language)
    await message.answer(_(
        "Write what the working group agreed, in words the reporter understands. They will "
        "read: \"Discussed by the working group on DATE; agreed:\" in {language}, then your "
        "text exactly as you write it (it is not translated). Nothing is shown before you "
        "choose to. Or /cancel.").format(language=language))


@router.message(Command("cancel"), StateFilter(ConcernForm))
async def cancel(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Cancelled."))


@router.message(StateFilter(ConcernForm.summary), F.chat.type == "private",
                ~F.text.startswith("/"))
async def summary_sent(message: Message, state: FSMContext, session: AsyncSession,
                       person: Person | None, settings: Settings, ticker: Ticker,
                       locale: str) -> None:
    data = await state.get_data()
    case = await _case(message, session, settings, person, int(data.get("case") or 0))
    if case is None:
        await state.clear()
        return
    try:
        summary = concerns.clean_summary(message.text)
    except concerns.ConcernError as err:
        await message.answer(error_text(err.code, **err.params))
        return
    await state.update_data(summary=summary)
    cipher = load_cipher(settings)
    assert cipher is not None  # checked by _case
    found = concerns.anonymity_warnings(summary, concerns.case_text(read_content(cipher, case)))
    if found:
        await message.answer(warnings_text(found), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[_button(_("Send anyway"), "send", case.id)],
                             [_button(_("Edit"), "edit", case.id),
                              _button(_("Cancel"), "cancel", case.id)]]))
        return
    await _offer_meetings(message, session, case, ticker, person, locale)


async def _offer_meetings(message: Message, session: AsyncSession, case: ReportCase,
                          ticker: Ticker, person: Person | None, locale: str) -> None:
    try:
        group = await concerns.case_group(session, case)
    except concerns.ConcernError as err:
        await message.answer(error_text(err.code))
        return
    targets = await concerns.open_meetings(session, group, now_of(ticker))
    if not targets:
        await message.answer(_("No coming meeting of {group} takes agenda items now. Schedule "
                               "one, then try again; your summary is kept until you "
                               "/cancel.").format(group=escape(group.name)))
        return
    zone = reminders.person_zone(person, group) if person else group.timezone
    rows = [[_button(f"{t.occ.title} · {format_when(t.occ.start, locale, zone)}", "meet",
                     case.id, t.occ.meeting.id, t.occ.key)] for t in targets]
    rows.append([_button(_("Cancel"), "cancel", case.id)])
    await message.answer(_("On the agenda of which meeting?"),
                         reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


@router.callback_query(ConcernCb.filter())
async def pressed(query: CallbackQuery, callback_data: ConcernCb, state: FSMContext,
                  session: AsyncSession, person: Person | None, settings: Settings,
                  ticker: Ticker, locale: str) -> None:
    message = query.message
    if not isinstance(message, Message) or message.chat.type != "private":
        await query.answer(error_text("gone"), show_alert=True)
        return
    case = await _case(query, session, settings, person, callback_data.c)
    if case is None:
        return
    assert person is not None  # case_for refuses None
    action, data = callback_data.a, await state.get_data()
    if action in ("send", "edit", "meet", "cancel") and (
            await state.get_state() != ConcernForm.summary.state or data.get("case") != case.id):
        await query.answer(error_text("gone"), show_alert=True)
        return
    try:
        if action == "cancel":
            await state.clear()
            await query.answer(_("Cancelled."))
            await message.edit_reply_markup(reply_markup=None)
        elif action == "edit":
            await query.answer()
            await message.answer(_("Send the new summary, or /cancel."))
        elif action == "send":
            await query.answer()
            await _offer_meetings(message, session, case, ticker, person, locale)
        elif action == "meet":
            await _put(query, message, state, session, settings, case, person, callback_data,
                       ticker, locale)
        elif action in ("show", "hide"):
            await concerns.show_outcome(session, case, person, action == "show", now_of(ticker))
            await query.answer(_("The reporter now sees the outcome with /status.")
                               if action == "show" else _("The outcome is hidden again."))
            await message.edit_reply_markup(reply_markup=_outcome_keyboard(case))
        else:
            await query.answer(error_text("gone"), show_alert=True)
    except concerns.ConcernError as err:
        await query.answer(error_text(err.code, **err.params)[:200], show_alert=True)


async def _put(query: CallbackQuery, message: Message, state: FSMContext, session: AsyncSession,
               settings: Settings, case: ReportCase, person: Person, callback_data: ConcernCb,
               ticker: Ticker, locale: str) -> None:
    cipher = load_cipher(settings)
    assert cipher is not None
    summary = (await state.get_data()).get("summary")
    if not summary:
        await query.answer(error_text("gone"), show_alert=True)
        return
    item = await concerns.put_on_agenda(session, cipher, case, person, callback_data.m,
                                        callback_data.o, summary, now_of(ticker))
    await state.clear()
    await query.answer()  # the commit happens before this reaches Telegram
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_(
        "Added to the agenda as item #{item}, marked only as coming from a concern raised "
        "with the secretariat. Record decisions and actions for it with /decision #{item} "
        "TEXT and /action #{item} @owner DUE TEXT.").format(item=item.id))


@router.message(StateFilter(ConcernForm.outcome), F.chat.type == "private",
                ~F.text.startswith("/"))
async def outcome_sent(message: Message, state: FSMContext, session: AsyncSession,
                       person: Person | None, settings: Settings, ticker: Ticker) -> None:
    case = await _case(message, session, settings, person,
                       int((await state.get_data()).get("case") or 0))
    if case is None:
        await state.clear()
        return
    cipher = load_cipher(settings)
    assert cipher is not None and person is not None
    try:
        outcome = await concerns.set_outcome(session, cipher, case, person, message.text or "",
                                             now_of(ticker))
    except concerns.ConcernError as err:
        await message.answer(error_text(err.code, **err.params))
        if err.code in ("not_discussed", "no_group"):
            await state.clear()
        return
    await state.clear()
    preview = "\n".join([
        translate("Discussed by the working group on {day}; agreed:", case.language,
                  day=day_text(outcome.day, case.language)),
        f"<i>{escape(outcome.text)}</i>"])
    await message.answer(_("Outcome saved, not shown yet. The reporter would read:") + "\n\n"
                         + preview, reply_markup=_outcome_keyboard(case))


def _outcome_keyboard(case: ReportCase) -> InlineKeyboardMarkup:
    if case.outcome_shown_on is None:
        return InlineKeyboardMarkup(inline_keyboard=[[_button(_("Show to the reporter"),
                                                              "show", case.id)]])
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("Hide from the reporter"), "hide",
                                                          case.id)]])


@renderer(concerns.KIND_RESOLVE)
async def render_resolve(session: AsyncSession, row: OutboxMessage, now) -> Rendered | None:
    """To the secretariat, privately: every action linked to a case is done."""
    case = await session.get(ReportCase, row.payload["case"])
    person = await session.get(Person, row.payload["person"])
    if case is None or person is None or case.status in ("resolved", "closed"):
        return None
    group = await session.get(WorkingGroup, case.group_id) if case.group_id else None
    if group is None:
        return None
    locale = reminders.person_locale(person, group)
    text = translate("All action items recorded for case #{number} are done. If the concern "
                     "is settled, set its status to resolved and write the outcome for the "
                     "reporter.", locale, number=case.id)
    return Rendered(text, InlineKeyboardMarkup(inline_keyboard=[[
        cb(translate("Open case #{number}", locale, number=case.id), "open", case.id)]]))
