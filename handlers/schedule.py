"""/schedule WHEN | TITLE | PLACE, and /schedule without arguments: a guided flow asking for each
field, with buttons where they help (kind, repetition, end of series, duration), questions
answered by reply (date, title, place) and a summary to check before saving.

The one-line command, the guided flow and the check of a date read from words share one
conversation state (`Guided`, with its steps and buttons in handlers/schedule_steps.py)."""

from __future__ import annotations

from datetime import datetime

from aiogram import F
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    Message,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.formatting import escape
from bot.i18n import _
from bot.services import calendar as cal
from bot.services import reminders
from bot.services.dates import ISO_RE, DateError, parse_when
from bot.services.groups import get_membership, is_secretariat
from bot.services.recurrence import (
    Recurrence,
    RecurrenceError,
    looks_recurring,
    parse_recurrence,
    to_local,
)
from handlers.calendar import (
    card_keyboard,
    card_text,
    error_text,
    now_of,
    reader_zone,
)
from handlers.common import RouterTemplate, ask, require_registered
from handlers.schedule_steps import (
    DURATIONS,
    ENDS,
    NO_PLACE,
    REPEATS,
    Guided,
    GuidedCb,
    ask_duration,
    ask_end,
    ask_place,
    ask_repeat,
    ask_title,
    ask_when,
    confirm,
    rule_for,
    start_guided,
    step_back,
)
from storage.models import Membership, Person, WorkingGroup

router = RouterTemplate("schedule")

# --- /schedule --------------------------------------------------------------------------------


def _split_args(args: str) -> tuple[str, str, str]:
    parts = [p.strip() for p in args.split("|")]
    while len(parts) < 3:
        parts.append("")
    return parts[0], parts[1], " | ".join(parts[2:]).strip(" |")


async def _read_when(text: str, locale: str, zone: str, now: datetime
                     ) -> tuple[datetime, str | None]:
    """(first local start, rule or None); raises DateError or RecurrenceError."""
    if looks_recurring(text):
        rec: Recurrence = parse_recurrence(text, zone, now)
        return rec.first_local, rec.rule
    instant = parse_when(text, locale, zone, now)
    return to_local(instant, zone), None


@router.message(Command("schedule"))
async def schedule(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, membership: Membership | None, locale: str, ticker: Ticker,
    state: FSMContext,
) -> None:
    if not await require_registered(message, group):
        return
    if not is_secretariat(membership):
        await message.answer(_("Only the secretariat can schedule meetings."))
        return
    if not command.args or not command.args.strip():
        await message.answer(_(
            "Schedule a meeting with /schedule WHEN | TITLE | PLACE, for example:\n"
            "/schedule 2026-12-03 10:00 | Monthly meeting | Town hall\n"
            "/schedule tomorrow 15:00 | Field visit | Mine site\n"
            "/schedule every first tuesday 10:00 | Monthly meeting | Online\n"
            "Dates are read in the group's time zone ({zone}). Or answer my questions:"
        ).format(zone=escape(group.timezone)))
        await start_guided(message, state)
        return
    when_text, title, place = _split_args(command.args)
    now = now_of(ticker)
    try:
        first_local, rule = await _read_when(when_text, locale, group.timezone, now)
        if not ISO_RE.match(when_text):  # read from words: echoed back in full before saving
            title = cal.clean_text(title, cal.TITLE_MAX, "title_long")
            if not title:
                raise cal.CalendarError("title_empty")
            place = cal.clean_text(place, cal.PLACE_MAX, "place_long")
            await state.clear()
            await state.update_data(origin="command", title=title, place=place, rule=rule,
                                    start=first_local.isoformat())
            await confirm(message, state, group, locale)
            return
        meeting = await cal.create_meeting(session, group, title=title, start_local=first_local,
                                           rule=rule, place=place, created_by=person)
    except (DateError, RecurrenceError, cal.CalendarError) as err:
        await message.answer(error_text(err.code, **err.params))
        return
    await _scheduled(message, session, group, person, meeting, locale, now)


async def _scheduled(message: Message, session: AsyncSession, group: WorkingGroup,
                     person: Person | None, meeting, locale: str, now: datetime) -> None:
    await reminders.sync_meeting(session, meeting, now)
    occ = (await cal.next_occurrences(session, meeting, now, 1))[0]
    zone = reader_zone(person, group)
    text = _("Scheduled meeting #{number}.").format(number=meeting.number) + "\n\n" + \
        await card_text(session, group, occ, locale, zone, now)
    await message.answer(text, reply_markup=card_keyboard(occ, now))


# --- the guided flow's buttons and answers ---------------------------------------------------


async def _allowed(query: CallbackQuery, session: AsyncSession, group: WorkingGroup | None,
                   person: Person | None) -> bool:
    if group is None or person is None or not is_secretariat(
            await get_membership(session, group, person)):
        await query.answer(_("Only the secretariat can schedule meetings."), show_alert=True)
        return False
    return True


@router.callback_query(GuidedCb.filter(F.step == "stop"))
async def stop(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(_("Stopped. Nothing was scheduled."))
    await query.answer()


@router.callback_query(GuidedCb.filter(F.step == "back"))
async def back_button(query: CallbackQuery, callback_data: GuidedCb, session: AsyncSession,
                      group: WorkingGroup | None, person: Person | None,
                      state: FSMContext) -> None:
    if not await _allowed(query, session, group, person):
        return
    steps = {"repeat": Guided.repeat, "end": Guided.end, "duration": Guided.duration,
             "confirm": Guided.confirm}
    wanted = steps.get(callback_data.v)
    if wanted is None or await state.get_state() != wanted.state:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    await step_back(query.message, state, group, query.from_user)


@router.message(Command("back"), StateFilter(Guided))
async def back_command(message: Message, state: FSMContext, group: WorkingGroup | None) -> None:
    if group is None:
        await state.clear()
        return
    await step_back(message, state, group, message.from_user)


@router.callback_query(GuidedCb.filter(F.step == "confirm"))
async def confirm_button(
    query: CallbackQuery, callback_data: GuidedCb, session: AsyncSession,
    group: WorkingGroup | None, person: Person | None, state: FSMContext, ticker: Ticker,
    locale: str,
) -> None:
    if not await _allowed(query, session, group, person):
        return
    if await state.get_state() != Guided.confirm.state:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    data = await state.get_data()
    if callback_data.v == "change":
        await state.update_data(back_to_summary=True)
        await state.set_state(Guided.when if data["origin"] == "guided" else Guided.again)
        await ask(query.message, _("Send the date and time again, for example: 2026-12-03 "
                                   "10:00"), query.from_user)
    elif data["origin"] == "guided":
        await _finish(query.message, session, group, person, state, ticker, locale,
                      data.get("place", ""))
    else:
        now = now_of(ticker)
        try:
            meeting = await cal.create_meeting(
                session, group, title=data["title"], place=data["place"], rule=data["rule"],
                start_local=datetime.fromisoformat(data["start"]), created_by=person)
        except cal.CalendarError as err:
            await state.clear()
            await query.message.answer(error_text(err.code, **err.params))
            return
        await state.clear()
        await _scheduled(query.message, session, group, person, meeting, locale, now)


@router.message(Guided.again, F.text, ~F.text.startswith("/"))
async def date_again(message: Message, state: FSMContext, group: WorkingGroup | None,
                     locale: str, ticker: Ticker) -> None:
    if group is None:
        await state.clear()
        return
    try:
        first_local, rule = await _read_when(message.text, locale, group.timezone,
                                             now_of(ticker))
    except (DateError, RecurrenceError) as err:
        await ask(message, error_text(err.code, **err.params))
        return
    await state.update_data(start=first_local.isoformat(), rule=rule)
    await confirm(message, state, group, locale)


@router.callback_query(GuidedCb.filter())
async def guided_button(
    query: CallbackQuery, callback_data: GuidedCb, session: AsyncSession,
    group: WorkingGroup | None, person: Person | None, state: FSMContext, ticker: Ticker,
    locale: str,
) -> None:
    if not await _allowed(query, session, group, person):
        return
    current = await state.get_state()
    step, value = callback_data.step, callback_data.v
    expected = {"kind": Guided.kind, "repeat": Guided.repeat, "end": Guided.end,
                "duration": Guided.duration}
    if step not in expected or current != expected[step].state:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.message.edit_reply_markup(reply_markup=None)
    await query.answer()
    if step == "kind" and value in cal.KINDS:
        await state.update_data(kind=value)
        await ask_repeat(query.message, state)
    elif step == "repeat" and value in REPEATS:
        await state.update_data(repeat=value)
        await ask_when(query.message, state, group, query.from_user)
    elif step == "end" and value in ENDS:
        await state.update_data(end=value)
        await ask_duration(query.message, state)
    elif step == "duration" and value.isdecimal() and int(value) in DURATIONS:
        await state.update_data(duration=int(value))
        await ask_title(query.message, state, query.from_user)
    else:
        await query.message.answer(_("This button is not valid any more."))


@router.message(Command("cancel"), StateFilter(Guided))
async def cancel_guided(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Stopped. Nothing was scheduled."))


# The text steps are answered by replying to the bot's prompt (see handlers.common.ask): in a
# group where the bot keeps Telegram's privacy mode, nothing else reaches it.
@router.message(Guided.when, F.text, ~F.text.startswith("/"))
async def guided_when(message: Message, state: FSMContext, group: WorkingGroup | None,
                      locale: str, ticker: Ticker) -> None:
    if group is None:
        await state.clear()
        return
    try:
        instant = parse_when(message.text, locale, group.timezone, ticker.clock())
    except DateError as err:
        await ask(message, error_text(err.code, **err.params))
        return
    await state.update_data(start=to_local(instant, group.timezone).isoformat())
    data = await state.get_data()
    if data.get("back_to_summary"):
        await confirm(message, state, group, locale)
        return
    if data.get("repeat", "once") == "once":
        await state.update_data(end="none")
        await ask_duration(message, state)
        return
    await ask_end(message, state)


@router.message(Guided.title, F.text, ~F.text.startswith("/"))
async def guided_title(message: Message, state: FSMContext) -> None:
    title = " ".join(message.text.split())
    if len(title) > cal.TITLE_MAX:
        await ask(message, error_text("title_long", max=cal.TITLE_MAX))
        return
    await state.update_data(title=title)
    await ask_place(message, state)


@router.message(Guided.place, F.text, ~F.text.startswith("/"))
async def guided_place(message: Message, session: AsyncSession, group: WorkingGroup | None,
                       person: Person | None, state: FSMContext, ticker: Ticker,
                       locale: str) -> None:
    place = message.text.strip()
    try:
        place = "" if place in NO_PLACE else cal.clean_text(place, cal.PLACE_MAX, "place_long")
    except cal.CalendarError as err:
        await ask(message, error_text(err.code, **err.params))
        return
    await state.update_data(origin="guided", place=place)
    if group is not None:
        await confirm(message, state, group, locale)


async def _finish(message: Message, session: AsyncSession, group: WorkingGroup | None,
                  person: Person | None, state: FSMContext, ticker: Ticker, locale: str,
                  place: str) -> None:
    data = await state.get_data()
    if group is None or "start" not in data or "title" not in data:
        await state.clear()
        await message.answer(_("Stopped. Nothing was scheduled."))
        return
    now = ticker.clock()
    first = datetime.fromisoformat(data["start"])
    try:
        meeting = await cal.create_meeting(
            session, group, title=data["title"], start_local=first, place=place,
            rule=rule_for(data["repeat"], first, data.get("end", "none")),
            kind=data["kind"], duration_minutes=data["duration"], created_by=person)
    except cal.CalendarError as err:
        await ask(message, error_text(err.code, **err.params))
        return
    await state.clear()
    await reminders.sync_meeting(session, meeting, now)
    coming = await cal.next_occurrences(session, meeting, now, 1)
    if not coming:
        await message.answer(error_text("past"))
        return
    zone = reminders.person_zone(person, group)
    text = _("Scheduled meeting #{number}.").format(number=meeting.number) + "\n\n" + \
        await card_text(session, group, coming[0], locale, zone, now)
    await message.answer(text, reply_markup=card_keyboard(coming[0], now))
