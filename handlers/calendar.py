"""/calendar, /meeting N, /ics; the texts and keyboards shared by the calendar handlers; the
outbox renderers of reminders and change notices. The card's buttons live in
handlers/meetings.py, /schedule and its guided flow in handlers/schedule.py, /settings and
/mute in handlers/calendar_settings.py."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape, fill, format_number, format_when
from bot.i18n import _, current_locale, translate
from bot.services import calendar as cal
from bot.services import ics, reminders
from handlers.common import (
    EpochSecond,
    RouterTemplate,
    RowId,
    answer_parts,
    pillar_label,
    require_registered,
)
from storage.models import OutboxMessage, Person, WorkingGroup

log = logging.getLogger(__name__)
router = RouterTemplate("calendar")
CACHED_KEYBOARDS = 4096  # meeting cards (a meeting, a date, a state, a language) kept built
PAGE = 5


class MeetingCb(CallbackData, prefix="mt"):
    a: str  # action
    m: RowId  # meeting id
    o: EpochSecond = 0  # occurrence key (epoch of its original start)
    v: str = ""


# --- texts ------------------------------------------------------------------------------------


def error_text(code: str, **params: object) -> str:
    texts = {
        "not_found": _("There is no meeting #{number} in this group."),
        "no_occurrence": _("Meeting #{number} has no such date."),
        "already_cancelled": _("This meeting is already cancelled."),
        "past": _("That moment has already passed. Give a date and time in the future, for "
                  "example: /schedule 2026-12-03 10:00 | Monthly meeting | Town hall"),
        "over": _("This meeting is over; answers are closed."),
        "title_empty": _("The meeting needs a title: /schedule WHEN | TITLE | PLACE"),
        "title_long": _("That title is too long: at most {max} characters."),
        "place_long": _("That place is too long: at most {max} characters."),
        "kind": _("Unknown kind of meeting."),
        "duration": _("The duration must be between 5 minutes and 7 days."),
        "answer": _("Unknown answer."),
        "not_started": _("Attendance can be marked once the meeting has started."),
        "not_member": _("That person is not a member of this group."),
        "quorum_number": _("The minimum number of participants must be between 0 and 1000."),
        "quorum_pillar": _("Unknown pillar \"{pillar}\". Use: {pillars}"),
        "unreadable": _("I could not read that date. Examples that work: 2026-12-03 10:00, "
                        "3 December 10:00, tomorrow 15:00, every first tuesday 10:00."),
        "no_time": _("Please give a time too, for example: 2026-12-03 10:00 or tomorrow 15:00."),
        "too_far": _("That date is too far ahead: at most three years."),
        "ambiguous_saa": _("By saa {hour}, do you mean {swahili} or {clock}? Write it as {swahili} "
                           "or {clock}, or with the part of the day: asubuhi, mchana, jioni or "
                           "usiku."),
        "no_day": _("Which day? Give the day too, for example: next tuesday 10:00 or 2026-12-08 "
                    "10:00."),
        "offsets_empty": _("Give one to five delays, for example: /settings reminders 3d 1d 2h"),
        "offsets_many": _("At most {max} reminders."),
        "offset_bad": _("I could not read \"{value}\". Use numbers with m, h, d or w, for "
                        "example: 3d 1d 2h"),
        "offset_range": _("\"{value}\" is out of range: from 1 minute to 60 days."),
    }
    recurrence_texts = {
        "bad_time": _("That time does not exist. Use hours 0-23 and minutes 0-59."),
        "bad_end": _("Give the end of the series as a date: until 2027-06-30."),
        "bad_start": _("Give the start of the series as a date: from 2027-01-05."),
        "bad_count": _("The number of meetings must be between 1 and 500."),
        "bad_interval": _("The interval must be between 1 and 52."),
        "bad_monthday": _("A day of the month is between 1 and 31."),
        "series_no_time": _("Please give a time too, for example: every first tuesday 10:00."),
        "end_before_start": _("The series would end before its first meeting."),
        "series_empty": _("That series has no meeting in the future."),
    }
    recurrence_texts["ambiguous_saa"] = texts["ambiguous_saa"]
    if code in recurrence_texts:
        text = recurrence_texts[code]
    else:
        text = texts.get(code, _(
            "I could not read that repetition. Examples that work: every tuesday 10:00, every 2 "
            "weeks on monday 09:30, every first tuesday 10:00, every last thursday 15:00, every "
            "month on the 15th 10:00, quarterly on the 15th 10:00 until 2027-12-31."))
    return fill(text, **params)


def kind_choices() -> dict[str, str]:
    return {
        "meeting": _("Meeting"),
        "workshop": _("Workshop"),
        "training": _("Training"),
        "field_visit": _("Field visit"),
    }


def reader_zone(person: Person | None, group: WorkingGroup) -> str:
    return reminders.person_zone(person, group)


def now_of(ticker: Ticker) -> datetime:
    return ticker.clock()


def tally_line(tally: cal.RsvpCounts, locale: str) -> str:
    """The answers to an occurrence, numbers in the reader's locale (1,234 / 1 234)."""
    return _("Going: {going} · Maybe: {maybe} · Not going: {no}").format(
        going=format_number(tally.going, locale), maybe=format_number(tally.maybe, locale),
        no=format_number(tally.no, locale))


async def card_text(
    session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence, locale: str, zone: str,
    now: datetime,
) -> str:
    lines = [reminders.describe(occ, locale, zone)]
    if occ.meeting.rrule:
        lines.append("🔁 " + _("Repeats: {rule}").format(
            rule=reminders.describe_rule(occ.meeting.rrule, locale)))
    if occ.moved:
        lines.append(_("Moved from {when}").format(when=format_when(occ.original, locale, zone)))
    if occ.meeting.cancelled_at is not None or occ.cancelled:
        lines.append("❌ " + _("Cancelled"))
    elif occ.end <= now:
        lines.append(_("This meeting is over."))
    tally = await cal.counts(session, occ.meeting, occ.key)
    lines.append("")
    lines.append(tally_line(tally, locale))
    status = await cal.quorum(session, group, occ)
    if status.required:
        if status.met:
            lines.append("✅ " + _("Quorum met"))
        else:
            parts = []
            if status.minimum and status.confirmed < status.minimum:
                parts.append(_("{confirmed} of {minimum} confirmed").format(
                    confirmed=status.confirmed, minimum=status.minimum))
            if status.missing_pillars:
                parts.append(_("no one yet from: {pillars}").format(
                    pillars=", ".join(pillar_label(p) for p in status.missing_pillars)))
            lines.append("⚠️ " + _("Quorum not met: {details}").format(details="; ".join(parts)))
    return "\n".join(lines)


def rsvp_row(m: int, o: int) -> list[InlineKeyboardButton]:
    """Going, maybe, not going: the answers to date `o` of meeting `m`."""
    return [
        InlineKeyboardButton(text="✅ " + _("Going"),
                             callback_data=MeetingCb(a="r", m=m, o=o, v="going").pack()),
        InlineKeyboardButton(text="❔ " + _("Maybe"),
                             callback_data=MeetingCb(a="r", m=m, o=o, v="maybe").pack()),
        InlineKeyboardButton(text="✖️ " + _("Not going"),
                             callback_data=MeetingCb(a="r", m=m, o=o, v="no").pack()),
    ]


def card_keyboard(occ: cal.Occurrence, now: datetime) -> InlineKeyboardMarkup:
    """The buttons under a meeting card: the answers while it has not ended, the calendar file,
    the next date of a series, the secretariat's changes before it starts, attendance once it
    has started (only the file once it is cancelled)."""
    live = occ.meeting.cancelled_at is None and not occ.cancelled
    return _card_keyboard(occ.meeting.id, occ.key, live and occ.end > now,
                          bool(occ.meeting.rrule) and live, live and occ.start > now,
                          live and occ.start <= now, current_locale())


@lru_cache(maxsize=CACHED_KEYBOARDS)
def _card_keyboard(m: int, o: int, answers: bool, next_date: bool, changes: bool,
                   attendance: bool, locale: str) -> InlineKeyboardMarkup:
    """Built once per meeting, date, state and language (nine buttons and their callback data
    cost about 0.2 ms; an RSVP press rebuilds its card). `locale` is the language being used."""
    rows: list[list[InlineKeyboardButton]] = []
    if answers:
        rows.append(rsvp_row(m, o))
    nav = [InlineKeyboardButton(text="📅 " + _(".ics file"),
                                callback_data=MeetingCb(a="ics", m=m, o=o).pack())]
    if next_date:
        nav.append(InlineKeyboardButton(text=_("Next date") + " ▶",
                                        callback_data=MeetingCb(a="nx", m=m, o=o).pack()))
    rows.append(nav)
    if changes:
        rows.append([
            InlineKeyboardButton(text=_("Reschedule"),
                                 callback_data=MeetingCb(a="rs", m=m, o=o).pack()),
            InlineKeyboardButton(text=_("Edit"), callback_data=MeetingCb(a="ed", m=m, o=o).pack()),
            InlineKeyboardButton(text=_("Cancel"),
                                 callback_data=MeetingCb(a="cx", m=m, o=o).pack()),
        ])
    if attendance:
        rows.append([InlineKeyboardButton(text=_("Attendance"),
                                          callback_data=MeetingCb(a="at", m=m, o=o).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def scope_keyboard(action: str, occ: cal.Occurrence) -> InlineKeyboardMarkup:
    m, o = occ.meeting.id, occ.key
    labels = {
        "rs": (_("Move this date only"), _("Move the whole series")),
        "ed": (_("Edit this date only"), _("Edit the whole series")),
        "cx": (_("Cancel this date only"), _("Cancel the whole series")),
    }[action]
    rows = []
    if occ.meeting.rrule:
        rows.append([InlineKeyboardButton(
            text=labels[0], callback_data=MeetingCb(a=action, m=m, o=o, v="one").pack())])
        rows.append([InlineKeyboardButton(
            text=labels[1], callback_data=MeetingCb(a=action, m=m, o=o, v="all").pack())])
    else:
        label = _("Yes, cancel it") if action == "cx" else _("Continue")
        rows.append([InlineKeyboardButton(
            text=label, callback_data=MeetingCb(a=action, m=m, o=o, v="one").pack())])
    rows.append([InlineKeyboardButton(text=_("Back"),
                                      callback_data=MeetingCb(a="bk", m=m, o=o).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


# --- /calendar ------------------------------------------------------------------------------


async def calendar_page(
    session: AsyncSession, group: WorkingGroup, person: Person | None, locale: str,
    now: datetime, offset: int,
) -> tuple[str, InlineKeyboardMarkup | None]:
    items, more = await cal.upcoming(session, group, now, offset=offset, limit=PAGE)
    zone = reader_zone(person, group)
    if not items:
        text = _("No meetings coming up in {group}.").format(group=escape(group.name)) \
            if offset == 0 else _("No more meetings.")
        return text, None
    lines = [_("Coming meetings of <b>{group}</b>:").format(group=escape(group.name))]
    tallies = await cal.counts_of(session, items)
    for occ in items:
        tally = tallies[(occ.meeting.id, occ.key)]
        line = (f"\n<b>{escape(occ.title)}</b> - /meeting {occ.meeting.number}"
                + (" 🔁" if occ.meeting.rrule else "")
                + "\n🗓 " + format_when(occ.start, locale, zone))
        if occ.place:
            line += "\n📍 " + escape(occ.place)
        line += "\n" + tally_line(tally, locale)
        lines.append(line)
    keyboard = None
    if more:
        more_data = MeetingCb(a="more", m=0, o=offset + PAGE).pack()
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=_("More") + " ▶", callback_data=more_data)]])
    return "\n".join(lines), keyboard


@router.message(Command("calendar"))
async def show_calendar(
    message: Message, session: AsyncSession, person: Person | None, group: WorkingGroup | None,
    locale: str, ticker: Ticker,
) -> None:
    if not await require_registered(message, group):
        return
    text, keyboard = await calendar_page(session, group, person, locale, now_of(ticker), 0)
    await answer_parts(message, text, keyboard)


# --- /meeting N -----------------------------------------------------------------------------


@router.message(Command("meeting"))
async def show_meeting(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str, ticker: Ticker,
) -> None:
    if not await require_registered(message, group):
        return
    arg = (command.args or "").strip().lstrip("#")
    if not arg.isdecimal() or len(arg) > 9:
        await message.answer(_("Usage: /meeting N, where N is the number shown in /calendar."))
        return
    now = now_of(ticker)
    try:
        meeting = await cal.get_meeting(session, int(arg), group)
        occ = await cal.current_occurrence(session, meeting, now)
    except cal.CalendarError as err:
        await message.answer(error_text(err.code, **err.params))
        return
    text = await card_text(session, group, occ, locale, reader_zone(person, group), now)
    await message.answer(text, reply_markup=card_keyboard(occ, now))


# --- more ---------------------------------------------------------------------------------------

@router.callback_query(MeetingCb.filter(F.a == "more"))
async def more_meetings(
    query: CallbackQuery, callback_data: MeetingCb, session: AsyncSession,
    person: Person | None, group: WorkingGroup | None, locale: str, ticker: Ticker,
) -> None:
    if group is None or query.message is None or not 0 < callback_data.o <= 10_000:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    text, keyboard = await calendar_page(session, group, person, locale, now_of(ticker),
                                         callback_data.o)
    await answer_parts(query.message, text, keyboard)
    await query.answer()


# --- /ics -------------------------------------------------------------------------------------


@router.message(Command("ics"))
async def group_calendar_file(
    message: Message, session: AsyncSession, group: WorkingGroup | None, ticker: Ticker,
) -> None:
    if not await require_registered(message, group):
        return
    data = await ics.group_ics(session, group, now_of(ticker))
    await message.answer_document(
        BufferedInputFile(data, ics.filename(group.name)),
        caption=_("The calendar of {group}: open it with your calendar app.").format(
            group=escape(group.name)))


# --- outbox renderers ---------------------------------------------------------------------------


def _rsvp_keyboard(occ: cal.Occurrence, locale: str) -> InlineKeyboardMarkup:
    m, o = occ.meeting.id, occ.key
    labels = (("going", "✅ " + translate("Going", locale)),
              ("maybe", "❔ " + translate("Maybe", locale)),
              ("no", "✖️ " + translate("Not going", locale)))
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=label, callback_data=MeetingCb(a="r", m=m, o=o, v=v).pack())
        for v, label in labels
    ]])


@renderer(reminders.REMINDER)
async def render_reminder(session: AsyncSession, row: OutboxMessage, now: datetime
                          ) -> Rendered | None:
    notice = await reminders.reminder_notice(session, row, now)
    if notice is None:
        return None
    return Rendered(notice.text, reply_markup=_rsvp_keyboard(notice.occurrence, notice.locale))


@renderer(reminders.CHANGE)
async def render_change(session: AsyncSession, row: OutboxMessage, now: datetime
                        ) -> Rendered | None:
    notice = await reminders.change_notice(session, row, now)
    if notice is None:
        return None
    keyboard = None
    if notice.occurrence is not None and notice.occurrence.end > now:
        keyboard = _rsvp_keyboard(notice.occurrence, notice.locale)
    return Rendered(notice.text, reply_markup=keyboard)

