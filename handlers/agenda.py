"""/propose, /agenda, /decline, /merge, /discussed, /agendadeadline; the secretariat's review
buttons. The outbox renderers (review requests, decline notices, the deadline reminder, the
published agenda) are in handlers/agenda_notices.py."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.formatting import escape, fill, format_when
from bot.i18n import N_, translate
from bot.services import agenda, cochairs, reminders
from bot.services import calendar as cal
from bot.services.groups import groups_of
from bot.telegram_text import split_html
from bot.unread_answers import unread
from handlers.calendar import now_of
from handlers.common import (
    RouterTemplate,
    RowId,
    edit_in_place,
    require_registered,
    require_secretariat,
)
from storage.agenda_tables import AgendaItem
from storage.calendar_tables import Meeting
from storage.models import Person, WorkingGroup

router = RouterTemplate("agenda")


class AgendaCb(CallbackData, prefix="ag"):
    a: str  # action: named, anon, or a review action of bot.agenda.ACTIONS
    i: RowId  # item id


def error_text(code: str, locale: str, **params: object) -> str:
    texts = {
        "no_meeting": N_("There is no coming meeting to add an agenda item to."),
        "not_found": N_("There is no meeting #{number} in this group."),
        "text_empty": N_("Write the item after the command: /propose TEXT"),
        "text_long": N_("That text is too long: at most {max} characters."),
        "not_member": N_("You are not a member of this working group."),
        "gone": N_("This button is not valid any more."),
        "not_secretariat": N_("Only the secretariat can do that."),
        "not_accepted": N_("Only accepted items can be moved."),
        "edge": N_("The item cannot move further."),
        "already": N_("That is already done."),
        "no_next": N_("There is no later meeting to move this item to."),
        "item_not_found": N_("There is no accepted agenda item #{number} in this group."),
        "merge_target": N_("Item #{number} cannot take this one: choose another item of the "
                           "same meeting that is pending or accepted."),
        "deadline_range": N_("The deadline must be between 1 and 720 hours before the meeting."),
    }
    return fill(translate(texts.get(code, N_("That did not work.")), locale), **params)


def _name(person: Person | None, locale: str) -> str:
    if person is None:
        return translate("a former member", locale)
    return escape(person.full_name or (f"@{person.username}" if person.username else "?"))


async def agenda_text(
    session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence, locale: str, zone: str,
    *, published: bool = False,
) -> str:
    """The numbered agenda of one occurrence; anonymous items never name their proposer."""
    title = ("📋 " + translate("Agenda", locale)) if published else (
        "📋 " + translate("Agenda so far", locale))
    lines = [f"<b>{title}</b>", reminders.describe(occ, locale, zone)]
    chairs = await cochairs.confirmed(session, occ)
    if chairs:
        lines.append("🤝 " + translate("Co-chairs: {names}", locale, names=", ".join(
            _name(p, locale) for p in chairs)))
    lines.append("")
    accepted = await agenda.items(session, occ.meeting.id, occ.key)
    main = [i for i in accepted if i.section == "main"]
    aob = [i for i in accepted if i.section == "aob"]
    if not accepted:
        lines.append(translate("No items yet. Propose one with /propose TEXT", locale))
    for number, item in enumerate(main, start=1):
        lines.append(f"{number}. {escape(item.text)}" + await _by(session, item, locale))
    if aob:
        lines += ["", "<b>" + translate("Any other business", locale) + "</b>"]
        for item in aob:
            lines.append(f"• {escape(item.text)}" + await _by(session, item, locale))
    return "\n".join(lines)


async def _by(session: AsyncSession, item: AgendaItem, locale: str) -> str:
    if item.from_concern:  # a neutral mark: never the case number, nothing of the reporter
        return " — " + translate("from a concern raised with the secretariat", locale)
    if item.anonymous:
        return ""
    proposer = await session.get(Person, item.proposer_id) if item.proposer_id else None
    return " — " + translate("proposed by {name}", locale, name=_name(proposer, locale))


def review_keyboard(item: AgendaItem, locale: str) -> InlineKeyboardMarkup | None:
    """Accept (or, late, any other business / next meeting) while pending, Decline while not
    declined, and the moves; nothing left to press once declined or merged."""
    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=label, callback_data=AgendaCb(a=action, i=item.id).pack())

    if item.status not in ("pending", "accepted"):
        return None
    first = [button("✅ " + translate("Accept", locale), "accept")]
    if item.late:
        first = [button(translate("Any other business", locale), "aob"),
                 button(translate("Next meeting", locale), "next")]
    if item.status != "pending":
        first = []
    return InlineKeyboardMarkup(inline_keyboard=[
        first + [button("✖️ " + translate("Decline", locale), "decline")],
        [button("▲ " + translate("Move up", locale), "up"),
         button("▼ " + translate("Move down", locale), "down")],
    ])


async def review_text(session: AsyncSession, item: AgendaItem, locale: str) -> str | None:
    meeting = await session.get(Meeting, item.meeting_id)
    group = await session.get(WorkingGroup, item.group_id)
    if meeting is None or group is None:
        return None
    try:
        occ = await cal.get_occurrence(session, meeting, item.occurrence)
    except cal.CalendarError:
        return None
    who = translate("anonymous", locale) if item.anonymous else _name(
        await session.get(Person, item.proposer_id) if item.proposer_id else None, locale)
    lines = [
        translate("Agenda proposal #{number} for {group}", locale, number=item.id,
                  group=escape(group.name)),
        reminders.describe(occ, locale, group.timezone), "",
        f"«{escape(item.text)}»",
        translate("Proposed by: {name}", locale, name=who),
    ]
    if item.late and item.status == "pending":
        lines.append("⚠️ " + translate("Late: the deadline has passed. Put it under any other "
                                       "business or on the next meeting?", locale))
    if item.status in ("pending", "accepted"):
        lines.append(translate("To decline with a reason: /decline {number} REASON", locale,
                               number=item.id))
    return "\n".join(lines)


# --- /propose ---------------------------------------------------------------------------------


def _split_target(args: str) -> tuple[int | None, str]:
    """`#N TEXT` chooses meeting N; anything else is the text for the next meeting."""
    head, _, rest = args.strip().partition(" ")
    if head.startswith("#") and head[1:].isdecimal() and len(head) <= 10:
        return int(head[1:]), rest
    return None, args


async def _private_group(
    session: AsyncSession, person: Person, args: str
) -> tuple[WorkingGroup | None, str]:
    mine = await groups_of(session, person)
    if len(mine) == 1:
        return mine[0][0], args
    head, _, rest = args.strip().partition(" ")
    for group, _membership in mine:
        if group.code.lower() == head.lower():
            return group, rest
    return None, args


@router.message(Command("propose"))
async def propose(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str, ticker: Ticker,
) -> None:
    now = now_of(ticker)
    args = command.args or ""
    private = message.chat.type == "private"
    if person is None:
        return
    if private:
        group, args = await _private_group(session, person, args)
        if group is None:
            mine = await groups_of(session, person)
            if not mine:
                await message.answer(error_text("not_member", locale))
            else:
                codes = ", ".join(escape(g.code) for g, _m in mine)
                await message.answer(translate(
                    "You belong to several groups: write the group's code first, "
                    "/propose CODE TEXT. Codes: {codes}", locale, codes=codes))
            return
    elif not await require_registered(message, group):
        return
    meeting_id, text = _split_target(args)
    try:
        where = await agenda.target(session, group, now, meeting_id)
        item = await agenda.propose(session, where, person, text, now, draft=private)
    except agenda.AgendaError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    if private:
        await unread(message.answer(
            translate("Should your name be shown with this item?", locale),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
                InlineKeyboardButton(text=translate("Show my name", locale),
                                     callback_data=AgendaCb(a="named", i=item.id).pack()),
                InlineKeyboardButton(text=translate("Anonymous", locale),
                                     callback_data=AgendaCb(a="anon", i=item.id).pack()),
            ]])))
        return
    await unread(message.answer(_received(item, locale) + "\n" + translate(
        "To propose without your name, send /propose to me in a private chat.", locale)))


def _received(item: AgendaItem, locale: str) -> str:
    text = translate("Thank you: proposal #{number} goes to the secretariat for review.",
                     locale, number=item.id)
    if item.late:
        text += "\n" + translate("The deadline has passed: the secretariat will put it under "
                                 "any other business or on the next meeting.", locale)
    return text


@router.callback_query(AgendaCb.filter(F.a.in_({"named", "anon"})))
async def choose_name(
    query: CallbackQuery, callback_data: AgendaCb, session: AsyncSession,
    person: Person | None, locale: str, ticker: Ticker,
) -> None:
    if person is None:
        await query.answer(error_text("gone", locale), show_alert=True)
        return
    try:
        item = await agenda.finish_draft(session, callback_data.i, person,
                                         callback_data.a == "anon", now_of(ticker))
    except agenda.AgendaError as err:
        await query.answer(error_text(err.code, locale), show_alert=True)
        return
    if query.message is not None:
        await query.message.edit_text(_received(item, locale))
    await query.answer()


# --- review -----------------------------------------------------------------------------------


@router.callback_query(AgendaCb.filter(F.a.in_(set(agenda.ACTIONS))))
async def review(
    query: CallbackQuery, callback_data: AgendaCb, session: AsyncSession,
    person: Person | None, locale: str, ticker: Ticker,
) -> None:
    now = now_of(ticker)
    try:
        item, group = await agenda.item_for_secretariat(session, callback_data.i, person)
        item = await agenda.review(session, item, group, callback_data.a, now)
    except agenda.AgendaError as err:
        await query.answer(error_text(err.code, locale, **err.params), show_alert=True)
        return
    done = {
        "accept": N_("Accepted."), "decline": N_("Declined; the proposer is told."),
        "up": N_("Moved up."), "down": N_("Moved down."),
        "aob": N_("Put under any other business."), "next": N_("Moved to the next meeting."),
    }[callback_data.a]
    await query.answer(translate(done, locale))
    if query.message is None:
        return
    # One message per proposal, edited in place: what was done and the agenda as it now stands,
    # with the buttons that still apply (no new message per press).
    meeting = await session.get(Meeting, item.meeting_id)
    occ = await cal.get_occurrence(session, meeting, item.occurrence)
    head = await review_text(session, item, locale) or ""
    text = f"{head}\n\n<b>{translate(done, locale)}</b>\n\n" + await agenda_text(
        session, group, occ, locale, group.timezone)
    await edit_in_place(query.message, split_html(text)[0], review_keyboard(item, locale))


@router.message(Command("merge"))
async def merge(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    locale: str, ticker: Ticker,
) -> None:
    numbers = [n.lstrip("#") for n in (command.args or "").split()]
    if len(numbers) != 2 or not all(n.isdecimal() and len(n) <= 9 for n in numbers):
        await message.answer(translate("Usage: /merge N M, to fold item N into item M", locale))
        return
    try:
        item, group = await agenda.item_for_secretariat(session, int(numbers[0]), person)
        target = await agenda.merge(session, item, group, int(numbers[1]), now_of(ticker))
    except agenda.AgendaError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    await message.answer(translate("Merged into #{number}: {text}", locale, number=target.id,
                                   text=escape(target.text)))


# --- /agenda, /discussed, /agendadeadline -----------------------------------------------------


@router.message(Command("agenda"))
async def show_agenda(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str, ticker: Ticker,
) -> None:
    if not await require_registered(message, group):
        return
    arg = (command.args or "").strip().lstrip("#")
    if arg and (not arg.isdecimal() or len(arg) > 9):
        await message.answer(translate("Usage: /agenda or /agenda N", locale))
        return
    try:
        where = await agenda.target(session, group, now_of(ticker), int(arg) if arg else None)
    except agenda.AgendaError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    text = await agenda_text(session, group, where.occ, locale,
                             reminders.person_zone(person, group))
    text += "\n\n" + translate("Proposals close on {when}.", locale, when=format_when(
        where.deadline, locale, reminders.person_zone(person, group)))
    for part in split_html(text):
        await message.answer(part)


@router.message(Command("discussed"))
async def discussed(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str,
) -> None:
    if not await require_secretariat(message, session, group, person,
                                     error_text("not_secretariat", locale)):
        return
    numbers = [n.lstrip("#") for n in (command.args or "").split()]
    if not numbers or not all(n.isdecimal() and len(n) <= 9 for n in numbers):
        await message.answer(translate("Usage: /discussed N [N...], with the numbers of the "
                                       "items", locale))
        return
    try:
        for number in numbers:
            await agenda.mark_discussed(session, group, int(number))
    except agenda.AgendaError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    await message.answer(translate("Marked as discussed. Items not discussed move to the next "
                                   "meeting of the series.", locale))


@router.message(Command("agendadeadline"))
async def agenda_deadline(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str,
) -> None:
    if not await require_secretariat(message, session, group, person,
                                     error_text("not_secretariat", locale)):
        return
    arg = (command.args or "").strip().lower().removesuffix("h")
    if not arg.isdecimal() or len(arg) > 5:
        await message.answer(translate("Usage: /agendadeadline HOURS, for example "
                                       "/agendadeadline 48", locale))
        return
    try:
        await agenda.set_deadline_hours(session, group, int(arg))
    except agenda.AgendaError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    await message.answer(translate("Proposals now close {hours} hours before each meeting.",
                                   locale, hours=int(arg)))
