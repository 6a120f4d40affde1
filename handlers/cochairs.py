"""/cochairs (upcoming co-chairs, queue per slot, history), /cochairs set N @a @b (override),
/cochairs mark @user, /cochairs away N, /cochairs pairs and /cochairs days (policy); the
invitation's accept and decline buttons; the outbox renderers of invitations and
announcements."""

from __future__ import annotations

from datetime import datetime

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.delivery.worker import Rendered, renderer
from bot.formatting import colon, escape, fill
from bot.i18n import N_, translate
from bot.services import calendar as cal
from bot.services import cochairs, reminders, words
from bot.services.groups import get_membership, is_secretariat
from bot.services.people import find_by_username
from bot.telegram_text import split_html
from handlers.calendar import now_of
from handlers.common import RouterTemplate, RowId, pillar_label, require_registered
from storage.agenda_tables import CochairTurn
from storage.calendar_tables import Meeting
from storage.models import OutboxMessage, Person, WorkingGroup

router = RouterTemplate("cochairs")


class CochairCb(CallbackData, prefix="cc"):
    a: str  # y (accept) or n (decline)
    t: RowId  # turn id


def error_text(code: str, locale: str, **params: object) -> str:
    texts = {
        "gone": N_("This button is not valid any more."),
        "answered": N_("You have already answered this invitation."),
        "override_count": N_("Name one to four different members: /cochairs set N @a @b"),
        "not_member": N_("{name} is not a member of this group."),
        "no_meeting": N_("There is no coming meeting."),
        "not_found": N_("There is no meeting #{number} in this group."),
        "not_secretariat": N_("Only the secretariat can do that."),
        "unknown_user": N_("I do not know {name}. They must write to me or in this group "
                           "first."),
        "usage": N_("Usage: /cochairs, /cochairs set N @a @b, /cochairs mark @user, "
                    "/cochairs away N, /cochairs pairs company civil_society+community or "
                    "/cochairs days 14"),
        "slots_count": N_("Name one to four co-chair seats, each a pillar or pillars joined "
                          "with +: /cochairs pairs company civil_society+community"),
        "pillar": N_("Unknown pillar \"{pillar}\". Use: {pillars}"),
        "days_range": N_("The number of days must be between 1 and 60."),
    }
    return fill(translate(texts.get(code, N_("That did not work.")), locale), **params)


def _name(person: Person) -> str:
    return escape(person.full_name or (f"@{person.username}" if person.username else "?"))


def _slot_label(pillars: list[str]) -> str:
    return " / ".join(pillar_label(p) for p in pillars)


async def _next_occurrence(session: AsyncSession, group: WorkingGroup, now: datetime,
                           number: str | None) -> cal.Occurrence:
    if number is None:
        coming, _more = await cal.upcoming(session, group, now, limit=1)
    else:
        meeting = await cal.get_meeting(session, int(number), group)
        coming = await cal.next_occurrences(session, meeting, now, 1)
    if not coming:
        raise cochairs.CochairError("no_meeting")
    return coming[0]


async def overview(session: AsyncSession, group: WorkingGroup, locale: str, now: datetime
                   ) -> str:
    slots, days = await cochairs.policy(session, group)
    lines = ["<b>" + translate("Co-chairs", locale) + "</b>"]
    coming, _more = await cal.upcoming(session, group, now, limit=3)
    for occ in coming:
        people = await cochairs.confirmed(session, occ)
        names = ", ".join(_name(p) for p in people) or translate("not confirmed yet", locale)
        lines.append(reminders.describe(occ, locale, group.timezone).split("\n")[1]
                     + f" (#{occ.meeting.number}){colon(locale)}" + names)
    lines += ["", "<b>" + translate("Queue", locale) + "</b>"]
    for pillars in slots:
        queue = await cochairs.queue(session, group, pillars)
        order = ", ".join(_name(s.person) for s in queue) or translate("nobody eligible yet",
                                                                      locale)
        lines.append(f"{_slot_label(pillars)}{colon(locale)}{order}")
    lines += ["", "<b>" + translate("Turns so far", locale) + "</b>"]
    history = await cochairs.history(session, group)
    lines += ([f"{_name(p)}{colon(locale)}{n}" for p, n in history]
              or [translate("none yet", locale)])
    lines += ["", translate("Invitations go out {days} days before each meeting. Say you are "
                            "willing to co-chair in /profile.", locale, days=days)]
    return "\n".join(lines)


@router.message(Command("cochairs"))
async def cochairs_command(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str, ticker: Ticker,
) -> None:
    if not await require_registered(message, group):
        return
    now = now_of(ticker)
    args = (command.args or "").split()
    try:
        if not args:
            for part in split_html(await overview(session, group, locale, now)):
                await message.answer(part)
            return
        await _subcommand(message, session, person, group, locale, now, args)
    except cochairs.CochairError as err:
        params = dict(err.params)
        if err.code == "pillar":  # the words this reader can type
            params["pillars"] = words.pillar_words(locale)
        await message.answer(error_text(err.code, locale, **params))
    except cal.CalendarError as err:
        await message.answer(error_text(err.code, locale, **err.params))


def _number(value: str) -> str:
    number = value.lstrip("#")
    if not number.isdecimal() or len(number) > 9:
        raise cochairs.CochairError("usage")
    return number


async def _subcommand(
    message: Message, session: AsyncSession, person: Person | None, group: WorkingGroup,
    locale: str, now: datetime, args: list[str],
) -> None:
    action = args[0].lower()
    if action == "away" and len(args) == 2 and person is not None:
        occ = await _next_occurrence(session, group, now, _number(args[1]))
        await cochairs.set_unavailable(session, occ, person)
        await message.answer(translate("Noted: you are not available to co-chair on that date. "
                                       "You keep your place in the queue.", locale))
        return
    if action not in ("set", "mark", "pairs", "days"):
        raise cochairs.CochairError("usage")
    if person is None or not is_secretariat(await get_membership(session, group, person)):
        raise cochairs.CochairError("not_secretariat")
    if action in ("pairs", "days"):
        await _policy(message, session, group, locale, action, args[1:])
        return
    mentions = args[2:] if action == "set" else args[1:]
    if not mentions or not all(m.startswith("@") for m in mentions):
        raise cochairs.CochairError("usage")
    people = []
    for mention in mentions:
        found = await find_by_username(session, mention)
        if found is None:
            raise cochairs.CochairError("unknown_user", name=mention)
        people.append(found)
    if action == "mark":
        for target in people:
            if not await cal.is_member(session, group, target):
                raise cochairs.CochairError("not_member", name=target.full_name)
            await cochairs.mark(session, group, target)
        await message.answer(translate("Marked as eligible to co-chair: {names}", locale,
                                       names=", ".join(_name(p) for p in people)))
        return
    occ = await _next_occurrence(session, group, now, _number(args[1]))
    await cochairs.override(session, group, occ, people, person, now)
    await message.answer(translate("Co-chairs of {meeting} set by the secretariat: {names}",
                                   locale, meeting=escape(occ.title),
                                   names=", ".join(_name(p) for p in people)))


async def _policy(message: Message, session: AsyncSession, group: WorkingGroup, locale: str,
                  action: str, values: list[str]) -> None:
    if action == "days":
        if len(values) != 1 or not values[0].isdecimal() or len(values[0]) > 3:
            raise cochairs.CochairError("days_range")
        await cochairs.set_policy(session, group, days=int(values[0]))
    else:
        await cochairs.set_policy(session, group, slots=[  # pillar words of any language
            [words.pillar_code(w) for w in v.lower().split("+")] for v in values])
    slots, days = await cochairs.policy(session, group)
    await message.answer(translate("Co-chair seats: {seats}. Invitations {days} days before.",
                                   locale, seats="; ".join(_slot_label(s) for s in slots),
                                   days=days))


@router.callback_query(CochairCb.filter(F.a.in_({"y", "n"})))
async def invitation_answer(
    query: CallbackQuery, callback_data: CochairCb, session: AsyncSession,
    person: Person | None, locale: str, ticker: Ticker,
) -> None:
    if person is None:
        await query.answer(error_text("gone", locale), show_alert=True)
        return
    try:
        turn = await cochairs.answer(session, callback_data.t, person, callback_data.a == "y",
                                     now_of(ticker))
    except cochairs.CochairError as err:
        await query.answer(error_text(err.code, locale), show_alert=True)
        return
    text = (translate("Thank you: you will co-chair this meeting.", locale)
            if turn.status == "accepted" else
            translate("Thank you for answering: the turn passes to the next member; you keep "
                      "your place in the queue.", locale))
    await query.answer()
    if query.message is not None:
        await query.message.answer(text)


@renderer("cochair_invite")
async def render_invite(session: AsyncSession, row: OutboxMessage, now: datetime
                        ) -> Rendered | None:
    turn = await session.get(CochairTurn, row.payload["turn"])
    if turn is None or turn.status != "invited":
        return None
    meeting = await session.get(Meeting, turn.meeting_id)
    group = await session.get(WorkingGroup, turn.group_id)
    person = await session.get(Person, turn.person_id)
    if meeting is None or group is None or person is None or meeting.cancelled_at is not None:
        return None
    try:
        occ = await cal.get_occurrence(session, meeting, turn.occurrence)
    except cal.CalendarError:
        return None
    if occ.cancelled or occ.start <= now:
        return None
    locale = reminders.person_locale(person, group)
    text = "\n".join([
        translate("Would you co-chair this meeting of {group}? Please answer within 48 hours; "
                  "without an answer the turn passes to the next member.", locale,
                  group=escape(group.name)),
        "", reminders.describe(occ, locale, reminders.person_zone(person, group)),
    ])
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="✅ " + translate("Yes, I accept", locale),
                             callback_data=CochairCb(a="y", t=turn.id).pack()),
        InlineKeyboardButton(text="✖️ " + translate("Not this time", locale),
                             callback_data=CochairCb(a="n", t=turn.id).pack()),
    ]])
    return Rendered(text, keyboard)


@renderer("cochair_announce")
async def render_announcement(session: AsyncSession, row: OutboxMessage, now: datetime
                              ) -> Rendered | None:
    meeting = await session.get(Meeting, row.payload["meeting"])
    if meeting is None or meeting.cancelled_at is not None:
        return None
    group = await session.get(WorkingGroup, meeting.group_id)
    try:
        occ = await cal.get_occurrence(session, meeting, row.payload["occurrence"])
    except cal.CalendarError:
        return None
    people = await cochairs.confirmed(session, occ)
    if group is None or occ.cancelled or occ.start <= now or not people:
        return None
    locale = group.language
    text = "\n".join([
        "🤝 " + translate("Co-chairs confirmed: {names}", locale,
                          names=", ".join(_name(p) for p in people)),
        "", reminders.describe(occ, locale, group.timezone),
    ])
    return Rendered(text)
