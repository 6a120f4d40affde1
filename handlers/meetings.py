"""Buttons of a meeting card: RSVP, next date, .ics, reschedule, edit and cancel one date or the
whole series (secretariat), attendance marking; /attendance.

Longer than 400 lines: the card's buttons and the prompts they open (a new date, checked before
it is saved when read from words; a new title and place) share the card's context helpers, and
splitting them would cut one conversation in two modules."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.formatting import escape, format_number, format_when
from bot.i18n import _
from bot.services import calendar as cal
from bot.services import ics, reminders
from bot.services.dates import ISO_RE, DateError, parse_when
from bot.services.groups import get_membership, is_secretariat
from bot.services.people import claim_private_chat_hint
from bot.telegram_text import split_html
from handlers.calendar import (
    MeetingCb,
    card_keyboard,
    card_text,
    error_text,
    now_of,
    reader_zone,
    scope_keyboard,
)
from handlers.common import (
    RouterTemplate,
    ask,
    edit_in_place,
    private_link_keyboard,
    require_registered,
)
from storage.calendar_tables import Meeting
from storage.models import Person, WorkingGroup

router = RouterTemplate("meetings")


class CalendarEdit(StatesGroup):
    when = State()
    confirm = State()  # a new date read from words, shown in full to check
    text = State()


class MovedCb(CallbackData, prefix="mv"):
    v: str  # "save" or "change"


# --- buttons ----------------------------------------------------------------------------------


async def _button_context(
    query: CallbackQuery, data: MeetingCb, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None,
) -> tuple[WorkingGroup, Meeting] | None:
    """The meeting's group and the meeting, after checking the presser may touch it."""
    message = query.message
    if person is None or message is None:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return None
    meeting = await cal.meeting_by_id(session, data.m)
    if message.chat.type != "private":
        if group is None or meeting is None or meeting.group_id != group.id:
            await query.answer(_("This meeting does not belong to this group."), show_alert=True)
            return None
        return group, meeting
    if meeting is None:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return None
    owner = await session.get(WorkingGroup, meeting.group_id)
    if owner is None or not await cal.is_member(session, owner, person):
        await query.answer(_("You are not a member of this working group."), show_alert=True)
        return None
    return owner, meeting


async def _secretariat_of(session: AsyncSession, group: WorkingGroup, person: Person) -> bool:

    return is_secretariat(await get_membership(session, group, person))


async def _refresh(
    query: CallbackQuery, session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence,
    person: Person, locale: str, now: datetime,
) -> None:
    text = await card_text(session, group, occ, locale, reader_zone(person, group), now)
    await edit_in_place(query.message, text, card_keyboard(occ, now))


@router.callback_query(MeetingCb.filter())
async def meeting_button(
    query: CallbackQuery, callback_data: MeetingCb, session: AsyncSession,
    person: Person | None, group: WorkingGroup | None, locale: str, ticker: Ticker,
    state: FSMContext,
) -> None:
    context = await _button_context(query, callback_data, session, person, group)
    if context is None:
        return
    group, meeting = context
    now = now_of(ticker)
    action = callback_data.a
    try:
        occ = await cal.get_occurrence(session, meeting, callback_data.o)
    except cal.CalendarError as err:
        await query.answer(error_text(err.code, **err.params), show_alert=True)
        return
    if action == "r":
        await _rsvp(query, session, group, occ, person, callback_data.v, locale, now)
    elif action == "ics":
        data = await ics.meeting_ics(session, meeting, now)
        await query.message.answer_document(BufferedInputFile(data, ics.filename(meeting.title)))
        await query.answer()
    elif action == "nx":
        following = await cal.next_occurrences(session, meeting, occ.start + timedelta(seconds=1),
                                               1)
        if not following:
            await query.answer(_("No later date in this series."), show_alert=True)
            return
        await _refresh(query, session, group, following[0], person, locale, now)
        await query.answer()
    elif action == "bk":
        await _refresh(query, session, group, occ, person, locale, now)
        await query.answer()
    elif not await _secretariat_of(session, group, person):
        await query.answer(_("Only the secretariat can change meetings."), show_alert=True)
    elif action in ("rs", "ed", "cx") and not callback_data.v:
        await query.message.edit_reply_markup(reply_markup=scope_keyboard(action, occ))
        await query.answer()
    elif action == "cx":
        await _cancel(query, session, group, occ, callback_data.v == "all", person, locale, now)
    elif action in ("rs", "ed"):
        await state.set_state(CalendarEdit.when if action == "rs" else CalendarEdit.text)
        await state.update_data(meeting=meeting.id, occ=occ.key, all=callback_data.v == "all")
        prompt = (_("Send the new date and time, for example: 2026-12-03 10:00")
                  if action == "rs" else
                  _("Send the new TITLE | PLACE (leave a part empty to keep it, for example: "
                    "| Town hall)"))
        await ask(query.message, prompt, query.from_user)
        await query.answer()
    elif action == "at":
        await _attendance_keyboard(query, session, group, occ, now)
    elif action == "am":
        await _mark(query, session, group, occ, callback_data.v, now)
    else:
        await query.answer(_("This button is not valid any more."), show_alert=True)


async def _rsvp(
    query: CallbackQuery, session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence,
    person: Person, answer: str, locale: str, now: datetime,
) -> None:
    try:
        await cal.set_rsvp(session, occ, person, answer, now)
    except cal.CalendarError as err:
        await query.answer(error_text(err.code, **err.params), show_alert=True)
        return
    await reminders.sync_answer(session, occ, person, answer, now)
    labels = {"going": _("You are going."), "maybe": _("You might come."),
              "no": _("You are not going.")}
    if query.message.chat.type == "private":
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(labels[answer])
    else:
        await _refresh(query, session, group, occ, person, locale, now)
        if answer != "no" and not await cal.is_muted(session, person) \
                and await claim_private_chat_hint(session, person, now):
            await _private_chat_hint(query, person)
    await query.answer(labels[answer])


async def _private_chat_hint(query: CallbackQuery, person: Person) -> None:
    """Tell someone who answered in the group, and whom the bot cannot write to privately, that
    reminders come in the private chat, with a button that opens it (once per person)."""
    mention = f'<a href="tg://user?id={person.telegram_id}">{escape(person.full_name)}</a>'
    keyboard = await private_link_keyboard(query.bot, "💬 " + _("Open the private chat"),
                                           "reminders")
    await query.message.answer(
        mention + ", " + _("meeting reminders come in a private chat with me, and you have not "
                           "opened it yet. Press the button below, then Start, to receive them."),
        reply_markup=keyboard)


async def _cancel(
    query: CallbackQuery, session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence,
    whole: bool, person: Person, locale: str, now: datetime,
) -> None:
    meeting = occ.meeting
    try:
        if whole or meeting.rrule is None:
            people = await _series_attendees(session, meeting, now)
            await cal.cancel_series(session, meeting, now)
            change = "cancelled_series" if meeting.rrule else "cancelled"
            await reminders.notify_change(session, meeting, change, now, people=people,
                                          old_start=occ.start)
        else:
            await cal.cancel_occurrence(session, occ, now)
            await reminders.notify_change(session, meeting, "cancelled", now, occurrence=occ,
                                          old_start=occ.start)
    except cal.CalendarError as err:
        await query.answer(error_text(err.code, **err.params), show_alert=True)
        return
    await reminders.sync_meeting(session, meeting, now)
    refreshed = await cal.get_occurrence(session, meeting, occ.key)
    await _refresh(query, session, group, refreshed, person, locale, now)
    await query.answer(_("Cancelled. Those who said going or maybe are told privately."))


async def _series_attendees(session: AsyncSession, meeting: Meeting, now: datetime
                            ) -> list[Person]:
    seen: dict[int, Person] = {}
    for occ in await cal.next_occurrences(session, meeting, now, 50):
        for p in await cal.attendees(session, meeting, occ.key):
            seen.setdefault(p.id, p)
    return list(seen.values())


async def _edit_started(message: Message, session: AsyncSession, person: Person | None,
                        state: FSMContext, ticker: Ticker):
    """The state data, group, occurrence and now of an edit in progress; None (and the state
    cleared) when the meeting or the right to edit it is gone."""
    data = await state.get_data()
    context = await _edit_context(message, session, person, data)
    if context is None:
        await state.clear()
        return None
    group, occ = context
    return data, group, occ, now_of(ticker)


@router.message(Command("cancel"), StateFilter(CalendarEdit))
async def cancel_edit(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Cancelled. Nothing was changed."))


# Answered by replying to the bot's prompt (see handlers.common.ask): in a group where the bot
# keeps Telegram's privacy mode, nothing else reaches it.
@router.message(CalendarEdit.when, F.text, ~F.text.startswith("/"))
async def reschedule_text(
    message: Message, session: AsyncSession, person: Person | None, locale: str, ticker: Ticker,
    state: FSMContext,
) -> None:
    started = await _edit_started(message, session, person, state, ticker)
    if started is None:
        return
    data, group, occ, now = started
    try:
        new_start = parse_when(message.text, locale, occ.meeting.timezone, now)
    except DateError as err:
        await ask(message, error_text(err.code, **err.params))
        return
    if not ISO_RE.match(message.text):  # read from words: shown in full before it is saved
        await state.update_data(new_start=new_start.isoformat())
        await state.set_state(CalendarEdit.confirm)
        when = format_when(new_start, locale, occ.meeting.timezone, "full")
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="✅ " + _("Save"), callback_data=MovedCb(v="save").pack()),
            InlineKeyboardButton(text="✏️ " + _("Change the date"),
                                 callback_data=MovedCb(v="change").pack())]])
        await message.answer(_("Please check before I save:") + f"\n🗓 <b>{escape(when)}</b>",
                             reply_markup=keyboard)
        return
    await _move(message, session, person, locale, state, data, group, occ, now, new_start)


@router.callback_query(MovedCb.filter(), CalendarEdit.confirm)
async def reschedule_checked(
    query: CallbackQuery, callback_data: MovedCb, session: AsyncSession, person: Person | None,
    locale: str, ticker: Ticker, state: FSMContext,
) -> None:
    await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    started = await _edit_started(query.message, session, person, state, ticker)
    if started is None:
        return
    data, group, occ, now = started
    if callback_data.v != "save":
        await state.set_state(CalendarEdit.when)
        await ask(query.message, _("Send the date and time again, for example: 2026-12-03 "
                                   "10:00"), query.from_user)
        return
    new_start = datetime.fromisoformat(data["new_start"])
    await _move(query.message, session, person, locale, state, data, group, occ, now, new_start)


async def _move(message: Message, session: AsyncSession, person: Person | None, locale: str,
                state: FSMContext, data: dict, group: WorkingGroup, occ: cal.Occurrence,
                now: datetime, new_start: datetime) -> None:
    meeting = occ.meeting
    try:
        if data.get("all") and meeting.rrule:
            people = await _series_attendees(session, meeting, now)
            successor = await cal.reschedule_series(session, meeting, new_start, now)
            await reminders.notify_change(session, meeting, "rescheduled", now, people=people)
            for changed in {meeting.id: meeting, successor.id: successor}.values():
                await reminders.sync_meeting(session, changed, now)
            shown = (await cal.next_occurrences(session, successor, now, 1))[0]
        else:
            people = await cal.attendees(session, meeting, occ.key)
            shown = await cal.reschedule_occurrence(session, occ, new_start, now)
            await reminders.notify_change(session, meeting, "rescheduled", now, occurrence=shown,
                                          old_start=occ.start, people=people)
            await reminders.sync_meeting(session, meeting, now)
    except cal.CalendarError as err:
        await state.set_state(CalendarEdit.when)
        await ask(message, error_text(err.code, **err.params))
        return
    await state.clear()
    text = _("Moved. Those who said going or maybe are told privately.") + "\n\n" + \
        await card_text(session, group, shown, locale, reader_zone(person, group), now)
    await message.answer(text, reply_markup=card_keyboard(shown, now))


@router.message(CalendarEdit.text, F.text, ~F.text.startswith("/"))
async def edit_text(
    message: Message, session: AsyncSession, person: Person | None, locale: str, ticker: Ticker,
    state: FSMContext,
) -> None:
    started = await _edit_started(message, session, person, state, ticker)
    if started is None:
        return
    data, group, occ, now = started
    title, _sep, place = message.text.partition("|")
    try:
        await cal.edit(session, occ.meeting, now, title=title.strip() or None,
                       place=place.strip() if _sep and place.strip() else None,
                       occurrence=None if data.get("all") else occ)
    except cal.CalendarError as err:
        await ask(message, error_text(err.code, **err.params))
        return
    await state.clear()
    occ = await cal.get_occurrence(session, occ.meeting, occ.key)
    await reminders.notify_change(session, occ.meeting, "edited", now,
                                  occurrence=None if data.get("all") else occ)
    text = _("Saved. Those who said going or maybe are told privately.") + "\n\n" + \
        await card_text(session, group, occ, locale, reader_zone(person, group), now)
    await message.answer(text, reply_markup=card_keyboard(occ, now))


async def _edit_context(
    message: Message, session: AsyncSession, person: Person | None, data: dict
) -> tuple[WorkingGroup, cal.Occurrence] | None:
    meeting = await session.get(Meeting, data.get("meeting", 0))
    group = await session.get(WorkingGroup, meeting.group_id) if meeting else None
    if meeting is None or group is None or person is None \
            or not await _secretariat_of(session, group, person):
        await message.answer(_("Only the secretariat can change meetings."))
        return None
    try:
        return group, await cal.get_occurrence(session, meeting, data.get("occ", 0))
    except cal.CalendarError as err:
        await message.answer(error_text(err.code, **err.params))
        return None


# --- attendance -----------------------------------------------------------------------------


async def _attendance_keyboard(
    query: CallbackQuery, session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence,
    now: datetime,
) -> None:
    if occ.start > now:
        await query.answer(error_text("not_started"), show_alert=True)
        return
    marked = await cal.attendance_of(session, occ.meeting, occ.key)
    rows = []
    for member in await cal.member_people(session, group):
        here = marked.get(member.id)
        mark = "✅" if here else ("✖️" if here is False else "▫️")
        rows.append([InlineKeyboardButton(
            text=f"{mark} {member.full_name}"[:60],
            callback_data=MeetingCb(a="am", m=occ.meeting.id, o=occ.key,
                                    v=str(member.id)).pack())])
    rows.append([InlineKeyboardButton(
        text=_("Done"), callback_data=MeetingCb(a="bk", m=occ.meeting.id, o=occ.key).pack())])
    await query.message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
    await query.answer(_("Press a name to mark them present or absent."))


async def _mark(
    query: CallbackQuery, session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence,
    value: str, now: datetime,
) -> None:
    member = await session.get(Person, int(value)) if value.isdecimal() else None
    if member is None:
        await query.answer(error_text("not_member"), show_alert=True)
        return
    current = (await cal.attendance_of(session, occ.meeting, occ.key)).get(member.id)
    try:
        await cal.mark_attendance(session, group, occ, member, not current, now)
    except cal.CalendarError as err:
        await query.answer(error_text(err.code, **err.params), show_alert=True)
        return
    await _attendance_keyboard(query, session, group, occ, now)


@router.message(Command("attendance"))
async def attendance(
    message: Message, session: AsyncSession, group: WorkingGroup | None, locale: str,
) -> None:
    if not await require_registered(message, group):
        return
    rates = await cal.attendance_rates(session, group)
    if not any(rate.total for rate in rates):
        await message.answer(_("No attendance has been marked yet. After a meeting, the "
                               "secretariat opens its card (/meeting N) and presses "
                               "Attendance."))
        return
    lines = [_("Attendance in <b>{group}</b>:").format(group=escape(group.name))]
    for rate in sorted(rates, key=lambda r: (-(r.attended / r.total if r.total else 0),
                                              r.person.full_name)):
        percent = format_number(round(100 * rate.attended / rate.total), locale) \
            if rate.total else "-"
        lines.append(_("• {name}: {attended} of {total} ({percent}%)").format(
            name=escape(rate.person.full_name), attended=rate.attended, total=rate.total,
            percent=percent))
    for chunk in split_html("\n".join(lines)):
        await message.answer(chunk)
