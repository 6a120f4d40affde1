"""/calendar, /meeting N and /ics in the private chat: the meetings of all the person's groups,
each labelled with its group (a community leader checks dates without writing in the group).
Meeting numbers are per group, so a private /meeting N that more than one group has asks which
group is meant. The cards' buttons are those of handlers/meetings.py (they carry internal ids
and check membership in a private chat)."""

from __future__ import annotations

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
from bot.formatting import escape, format_number, format_when
from bot.i18n import _
from bot.services import calendar as cal
from bot.services import ics
from bot.services.groups import groups_of
from handlers.calendar import card_keyboard, card_text, error_text, now_of, reader_zone
from handlers.common import RouterTemplate, RowId, answer_parts
from storage.calendar_tables import Meeting
from storage.models import Person, WorkingGroup

router = RouterTemplate("my_calendar")
SHOWN = 10  # meetings listed at most; each group's own /calendar pages through the rest
PRIVATE = F.chat.type == "private"


class PickGroupCb(CallbackData, prefix="mg"):
    m: RowId  # the meeting's internal id (the number alone is ambiguous)


async def _my_groups(message: Message, session: AsyncSession, person: Person | None
                     ) -> list[WorkingGroup]:
    groups = [g for g, _m in await groups_of(session, person)] if person is not None else []
    if not groups:
        await message.answer(_("You are not a member of any working group yet. Send /join in "
                               "your group's chat."))
    return groups


def _label(group: WorkingGroup) -> str:
    return f"[{escape(group.name)}]"


# --- /calendar ------------------------------------------------------------------------------


@router.message(Command("calendar"), PRIVATE)
async def my_calendar(
    message: Message, session: AsyncSession, person: Person | None, locale: str, ticker: Ticker,
) -> None:
    groups = await _my_groups(message, session, person)
    if not groups:
        return
    now = now_of(ticker)
    coming: list[tuple[WorkingGroup, cal.Occurrence]] = []
    more = False
    for group in groups:
        items, group_more = await cal.upcoming(session, group, now, limit=SHOWN)
        coming += [(group, occ) for occ in items]
        more = more or group_more
    if not coming:
        await message.answer(_("No meetings coming up in your working groups."))
        return
    coming.sort(key=lambda pair: (pair[1].start, pair[0].name))
    more = more or len(coming) > SHOWN
    lines = [_("Coming meetings of your working groups:")]
    tallies = await cal.counts_of(session, [occ for _group, occ in coming[:SHOWN]])
    for group, occ in coming[:SHOWN]:
        tally = tallies[(occ.meeting.id, occ.key)]
        line = (f"\n{_label(group)} <b>{escape(occ.title)}</b> - /meeting {occ.meeting.number}"
                + (" 🔁" if occ.meeting.rrule else "")
                + "\n🗓 " + format_when(occ.start, locale, reader_zone(person, group)))
        if occ.place:
            line += "\n📍 " + escape(occ.place)
        line += "\n" + _("Going: {going} · Maybe: {maybe} · Not going: {no}").format(
            going=format_number(tally.going, locale), maybe=format_number(tally.maybe, locale),
            no=format_number(tally.no, locale))
        lines.append(line)
    if more:
        lines.append("\n" + _("More dates: send /calendar in your group's chat."))
    await answer_parts(message, "\n".join(lines))


# --- /meeting N -----------------------------------------------------------------------------


async def _send_card(message: Message, session: AsyncSession, person: Person | None,
                     group: WorkingGroup, meeting: Meeting, locale: str, ticker: Ticker) -> None:
    now = now_of(ticker)
    try:
        occ = await cal.current_occurrence(session, meeting, now)
    except cal.CalendarError as err:
        await message.answer(error_text(err.code, **err.params))
        return
    text = await card_text(session, group, occ, locale, reader_zone(person, group), now)
    await message.answer(f"<b>{escape(group.name)}</b>\n{text}",
                         reply_markup=card_keyboard(occ, now))


@router.message(Command("meeting"), PRIVATE)
async def my_meeting(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    locale: str, ticker: Ticker,
) -> None:
    arg = (command.args or "").strip().lstrip("#")
    if not arg.isdecimal() or len(arg) > 9:
        await message.answer(_("Usage: /meeting N, where N is the number shown in /calendar."))
        return
    groups = await _my_groups(message, session, person)
    if not groups:
        return
    found = sorted(await cal.meetings_numbered(session, groups, int(arg)),
                   key=lambda pair: pair[0].name.casefold())
    if not found:
        await message.answer(_("None of your working groups has a meeting #{number}.").format(
            number=int(arg)))
        return
    if len(found) == 1:
        group, meeting = found[0]
        await _send_card(message, session, person, group, meeting, locale, ticker)
        return
    keyboard = InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=f"{group.name}: {meeting.title}"[:60],
                              callback_data=PickGroupCb(m=meeting.id).pack())]
        for group, meeting in found])
    await message.answer(_("Several of your groups have a meeting #{number}. Which group?")
                         .format(number=int(arg)), reply_markup=keyboard)


@router.callback_query(PickGroupCb.filter())
async def picked_group(
    query: CallbackQuery, callback_data: PickGroupCb, session: AsyncSession,
    person: Person | None, locale: str, ticker: Ticker,
) -> None:
    meeting = await session.get(Meeting, callback_data.m)
    group = await session.get(WorkingGroup, meeting.group_id) if meeting is not None else None
    if group is None or person is None or query.message is None \
            or query.message.chat.type != "private":
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    if not await cal.is_member(session, group, person):
        await query.answer(_("You are not a member of this working group."), show_alert=True)
        return
    await query.answer()
    await _send_card(query.message, session, person, group, meeting, locale, ticker)


# --- /ics -------------------------------------------------------------------------------------


@router.message(Command("ics"), PRIVATE)
async def my_calendar_files(
    message: Message, session: AsyncSession, person: Person | None, ticker: Ticker,
) -> None:
    groups = await _my_groups(message, session, person)
    for group in groups:  # one file per group: each opens as its own calendar
        data = await ics.group_ics(session, group, now_of(ticker))
        await message.answer_document(
            BufferedInputFile(data, ics.filename(group.name)),
            caption=_("The calendar of {group}: open it with your calendar app.").format(
                group=escape(group.name)))
