"""The steps of the guided /schedule: its states and buttons, each question as it is asked going
forward or after Back, and the summary to check before saving. The handlers that answer them are
in handlers/schedule.py."""

from __future__ import annotations

import calendar as month_calendar
from datetime import datetime

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, User

from bot.formatting import escape, format_when
from bot.i18n import _
from bot.services.recurrence import WEEKDAY_CODES, localize
from handlers.calendar import kind_choices
from handlers.common import ask
from storage.models import WorkingGroup

DURATIONS = (60, 120, 180, 240, 480)
REPEATS = ("once", "weekly", "biweekly", "monthly_date", "monthly_weekday", "quarterly")
ENDS = ("none", "6", "12")
NO_PLACE = ("-", "–", "—")  # a dash, as people type it (phones turn "-" into en or em dashes)


class GuidedCb(CallbackData, prefix="gs2"):
    step: str
    v: str = ""


class Guided(StatesGroup):
    confirm = State()  # a date read from words, or the guided flow's summary, shown to check
    again = State()  # the date typed again after "Change" on a /schedule command
    kind = State()
    repeat = State()
    when = State()
    end = State()
    duration = State()
    title = State()
    place = State()


def buttons(step: str, choices: list[tuple[str, str]], per_row: int = 2,
             back: bool = True) -> InlineKeyboardMarkup:
    """The choices, then Back (to the previous step, except on the first) and Stop."""
    rows: list[list[InlineKeyboardButton]] = []
    for value, label in choices:
        button = InlineKeyboardButton(text=label, callback_data=GuidedCb(step=step, v=value).pack())
        if rows and len(rows[-1]) < per_row:
            rows[-1].append(button)
        else:
            rows.append([button])
    last = [InlineKeyboardButton(text=_("Stop"), callback_data=GuidedCb(step="stop").pack())]
    if back:
        last.insert(0, InlineKeyboardButton(text="⬅️ " + _("Back"),
                                            callback_data=GuidedCb(step="back", v=step).pack()))
    rows.append(last)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def repeat_labels() -> dict[str, str]:
    return {
        "once": _("Once"),
        "weekly": _("Every week"),
        "biweekly": _("Every two weeks"),
        "monthly_date": _("Monthly, same date"),
        "monthly_weekday": _("Monthly, same weekday"),
        "quarterly": _("Every three months"),
    }


def duration_label(minutes: int) -> str:
    return _("{hours} h").format(hours=minutes // 60)


def rule_for(repeat: str, first: datetime, end: str) -> str | None:
    """The RRULE of a repetition chosen with buttons, anchored on the first meeting's date."""
    weekday = WEEKDAY_CODES[first.weekday()]
    if repeat == "once":
        return None
    if repeat == "weekly":
        rule = f"FREQ=WEEKLY;BYDAY={weekday}"
    elif repeat == "biweekly":
        rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday}"
    elif repeat == "monthly_date":
        rule = f"FREQ=MONTHLY;BYMONTHDAY={first.day}"
    elif repeat == "monthly_weekday":
        days_in_month = month_calendar.monthrange(first.year, first.month)[1]
        nth = -1 if first.day + 7 > days_in_month else (first.day - 1) // 7 + 1
        rule = f"FREQ=MONTHLY;BYDAY={nth:+d}{weekday}"
    else:
        rule = f"FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY={first.day}"
    if end in ("6", "12"):
        rule += f";COUNT={end}"
    return rule


async def start_guided(message: Message, state: FSMContext) -> None:
    await state.clear()
    await ask_kind(message, state)


# --- the steps, asked going forward or after Back ---------------------------------------------


def back_hint() -> str:
    return _("/back goes to the previous step.")


async def ask_kind(message: Message, state: FSMContext) -> None:
    await state.set_state(Guided.kind)
    await message.answer(_("Let's schedule a meeting. What kind is it?"),
                         reply_markup=buttons("kind", list(kind_choices().items()), back=False))


async def ask_repeat(message: Message, state: FSMContext) -> None:
    await state.set_state(Guided.repeat)
    await message.answer(_("Does it repeat?"), reply_markup=buttons(
        "repeat", list(repeat_labels().items())))


async def ask_when(message: Message, state: FSMContext, group: WorkingGroup,
                    user: User | None) -> None:
    await state.set_state(Guided.when)
    await ask(message, _(
        "When is the first meeting? Send a date and time in the group's time zone ({zone}), "
        "for example: 2026-12-03 10:00 or tomorrow 15:00").format(zone=group.timezone)
        + "\n" + back_hint(), user)


async def ask_end(message: Message, state: FSMContext) -> None:
    await state.set_state(Guided.end)
    await message.answer(_("Until when?"), reply_markup=buttons("end", [
        ("none", _("No end")), ("6", _("6 meetings")), ("12", _("12 meetings"))], per_row=3))


async def ask_title(message: Message, state: FSMContext, user: User | None = None) -> None:
    await state.set_state(Guided.title)
    await ask(message, _("What is the title? For example: Monthly meeting") + "\n"
              + back_hint(), user)


async def ask_place(message: Message, state: FSMContext, user: User | None = None) -> None:
    await state.set_state(Guided.place)
    await ask(message, _("Where? Send the place or an online meeting link, or - if there is no "
                         "place yet.") + "\n" + back_hint(), user)


async def step_back(message: Message, state: FSMContext, group: WorkingGroup,
                     user: User | None) -> None:
    """Ask the step before the current one again; what was answered there is kept until it is
    answered anew."""
    current = await state.get_state()
    data = await state.get_data()
    await state.update_data(back_to_summary=False)
    if current == Guided.repeat.state:
        await ask_kind(message, state)
    elif current == Guided.when.state:
        await ask_repeat(message, state)
    elif current == Guided.end.state:
        await ask_when(message, state, group, user)
    elif current == Guided.duration.state:
        if data.get("repeat", "once") == "once":
            await ask_when(message, state, group, user)
        else:
            await ask_end(message, state)
    elif current == Guided.title.state:
        await ask_duration(message, state)
    elif current == Guided.place.state:
        await ask_title(message, state, user)
    elif current == Guided.confirm.state and data.get("origin") == "guided":
        await ask_place(message, state, user)
    elif current == Guided.again.state:
        await confirm(message, state, group, data.get("locale", "en"))
    else:  # the first step, or a summary of a one-line /schedule: nothing before it
        await message.answer(_("There is no step before this one."))


def full_when(start_local: datetime, group: WorkingGroup, locale: str) -> str:
    """A start typed in the group's zone, in full in the reader's language: weekday, day, month,
    year and time."""
    return format_when(localize(start_local, group.timezone), locale, group.timezone, "full")


async def confirm(message: Message, state: FSMContext, group: WorkingGroup,
                   locale: str) -> None:
    """Show what was understood, with Save / Change (and Stop in the guided flow)."""
    data = await state.get_data()
    when = full_when(datetime.fromisoformat(data["start"]), group, locale)
    lines = [_("Please check before I save:"), f"🗓 <b>{escape(when)}</b>"]
    if data["origin"] == "guided":
        lines.append(kind_choices().get(data["kind"], data["kind"]) + " · "
                     + repeat_labels().get(data["repeat"], "") + " · "
                     + duration_label(data["duration"]))
    elif data.get("rule"):
        lines.append(_("Repeats; this is the first meeting."))
    lines.append(f"<b>{escape(data['title'])}</b>")
    if data.get("place"):
        lines.append("📍 " + escape(data["place"]))
    await state.set_state(Guided.confirm)
    await state.update_data(locale=locale)
    await message.answer("\n".join(lines), reply_markup=buttons(
        "confirm", [("save", "✅ " + _("Save")), ("change", "✏️ " + _("Change the date"))],
        back=data["origin"] == "guided"))



async def ask_duration(message: Message, state: FSMContext) -> None:
    await state.set_state(Guided.duration)
    await message.answer(_("How long will it last?"), reply_markup=buttons(
        "duration", [(str(m), duration_label(m)) for m in DURATIONS], per_row=3))
