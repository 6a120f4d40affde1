"""/decision, /action @owner DUE TEXT, /actions, /actions mine, /summary; the owner's done and
new-date buttons; the outbox renderers of owner reminders and the weekly overdue digest."""

from __future__ import annotations

from datetime import date, datetime

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape, fill, format_day
from bot.i18n import N_, translate
from bot.services import actions, reminders
from bot.services.groups import groups_of
from bot.services.people import find_by_username
from bot.telegram_text import split_html
from handlers.calendar import now_of
from handlers.common import RouterTemplate, RowId, require_registered, require_secretariat
from storage.agenda_tables import ActionItem
from storage.models import OutboxMessage, Person, WorkingGroup

router = RouterTemplate("actions")


class ActionCb(CallbackData, prefix="ac"):
    a: str  # done, p7, p14
    i: RowId  # action item id


def error_text(code: str, locale: str, **params: object) -> str:
    texts = {
        "text_empty": N_("Write the text after the command: /decision TEXT or "
                         "/action @owner DUE TEXT"),
        "text_long": N_("That text is too long: at most {max} characters."),
        "no_meeting": N_("This group has had no meeting yet to record it against."),
        "bad_date": N_("I could not read the due date. Examples: /action @amani 2026-12-15 "
                       "Send the report, or /action @amani tomorrow Call the police chief."),
        "past_date": N_("That due date has already passed."),
        "far_date": N_("That due date is too far ahead: at most three years."),
        "owner_unknown": N_("I do not know {name}. They must write to me or in this group "
                            "first."),
        "owner_not_member": N_("{name} is not a member of this group."),
        "usage": N_("Usage: /action @owner DUE TEXT, for example /action @amani 2026-12-15 "
                    "Send the report"),
        "gone": N_("This button is not valid any more."),
        "already_done": N_("This action item is already done."),
        "not_secretariat": N_("Only the secretariat can do that."),
        "item_not_found": N_("There is no agenda item #{number} in this group."),
    }
    return fill(translate(texts.get(code, N_("That did not work.")), locale), **params)


def split_item(args: str) -> tuple[int | None, str]:
    """A leading `#N` names the agenda item a decision or action is recorded for."""
    head, _sep, rest = args.strip().partition(" ")
    number = head[1:]
    if head.startswith("#") and number.isdecimal() and len(number) <= 9:
        return int(number), rest
    return None, args


def _name(person: Person) -> str:
    return escape(person.full_name or (f"@{person.username}" if person.username else "?"))


def _day(day: date, locale: str) -> str:
    return format_day(day, locale)


def item_line(item: ActionItem, owner: Person, locale: str) -> str:
    return translate("#{number} {owner}: {text} (due {due})", locale, number=item.id,
                     owner=_name(owner), text=escape(item.text), due=_day(item.due, locale))


def owner_keyboard(item: ActionItem, locale: str) -> InlineKeyboardMarkup:
    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=label, callback_data=ActionCb(a=action, i=item.id).pack())

    return InlineKeyboardMarkup(inline_keyboard=[
        [button("✅ " + translate("Done", locale), "done")],
        [button(translate("New date: +1 week", locale), "p7"),
         button(translate("New date: +2 weeks", locale), "p14")],
    ])


@router.message(Command("decision"))
async def decision(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str, ticker: Ticker,
) -> None:
    if not await require_secretariat(message, session, group, person,
                                     error_text("not_secretariat", locale)):
        return
    item_id, text = split_item(command.args or "")
    try:
        made = await actions.record_decision(session, group, person, text, now_of(ticker),
                                             item_id)
    except actions.ActionError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    await message.answer(translate("Decision #{number} recorded: {text}", locale,
                                   number=made.id, text=escape(made.text)))


@router.message(Command("action"))
async def action(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str, ticker: Ticker,
) -> None:
    if not await require_secretariat(message, session, group, person,
                                     error_text("not_secretariat", locale)):
        return
    item_id, args = split_item(command.args or "")
    words = args.split()
    if len(words) < 3 or not words[0].startswith("@"):
        await message.answer(error_text("usage", locale))
        return
    now = now_of(ticker)
    try:
        owner = await find_by_username(session, words[0])
        if owner is None:
            raise actions.ActionError("owner_unknown", name=words[0])
        due, text = actions.split_due(words[1:], locale, group.timezone, now)
        item = await actions.record_action(session, group, person, owner, due, text, now,
                                           item_id)
    except actions.ActionError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    await message.answer(translate("Action item recorded: {line}", locale,
                                   line=item_line(item, owner, locale)))


@router.message(Command("actions"))
async def list_actions(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    group: WorkingGroup | None, locale: str,
) -> None:
    mine = (command.args or "").strip().lower() == "mine"
    if mine and message.chat.type != "private":
        await message.answer(translate("Send /actions mine to me in a private chat.", locale))
        return
    if mine:
        rows = await actions.open_items(session, owner=person) if person else []
        title = translate("Your open action items", locale)
    else:
        if not await require_registered(message, group):
            return
        rows = await actions.open_items(session, group)
        title = translate("Open action items", locale)
    # /actions mine gathers every group's items: each is labelled with its group.
    names = {g.id: g.name for g, _m in await groups_of(session, person)} \
        if mine and person is not None else {}

    def line(item: ActionItem, owner: Person) -> str:
        label = names.get(item.group_id)
        return (f"[{escape(label)}] " if label else "") + item_line(item, owner, locale)

    lines = [f"<b>{title}</b>"] + [line(i, p) for i, p in rows]
    if not rows:
        lines.append(translate("None.", locale))
    for part in split_html("\n".join(lines)):
        await message.answer(part)
    if mine:
        for item, owner in rows:
            await message.answer(line(item, owner), reply_markup=owner_keyboard(item, locale))


@router.message(Command("summary"))
async def summary(
    message: Message, session: AsyncSession, person: Person | None, group: WorkingGroup | None,
    locale: str, ticker: Ticker,
) -> None:
    if not await require_secretariat(message, session, group, person,
                                     error_text("not_secretariat", locale)):
        return
    try:
        found = await actions.summary(session, group, now_of(ticker))
    except actions.ActionError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    locale = group.language
    lines = ["<b>" + translate("Summary of the meeting", locale) + "</b>",
             reminders.describe(found.occ, locale, group.timezone), "",
             "<b>" + translate("Decisions", locale) + "</b>"]
    lines += [f"{n}. {escape(d.text)}" for n, d in enumerate(found.decisions, start=1)] or [
        translate("None.", locale)]
    lines += ["", "<b>" + translate("Action items", locale) + "</b>"]
    lines += [item_line(i, p, locale) for i, p in found.actions] or [translate("None.", locale)]
    if found.next_occ is not None:
        lines += ["", "<b>" + translate("Next meeting", locale) + "</b>",
                  reminders.describe(found.next_occ, locale, group.timezone)]
    for part in split_html("\n".join(lines)):
        await message.answer(part)


@router.callback_query(ActionCb.filter(F.a.in_({"done", "p7", "p14"})))
async def owner_answer(
    query: CallbackQuery, callback_data: ActionCb, session: AsyncSession,
    person: Person | None, locale: str, ticker: Ticker,
) -> None:
    now = now_of(ticker)
    try:
        item = await actions.owned_item(session, callback_data.i, person)
        if callback_data.a == "done":
            await actions.mark_done(session, item, now)
            text = translate("Well done: #{number} is marked done.", locale, number=item.id)
        else:
            due = await actions.postpone(session, item, int(callback_data.a[1:]), now)
            text = translate("New due date of #{number}: {due}", locale, number=item.id,
                             due=_day(due, locale))
    except actions.ActionError as err:
        await query.answer(error_text(err.code, locale), show_alert=True)
        return
    await query.answer()
    if query.message is not None:
        await query.message.answer(text)


@renderer("action_reminder")
async def render_reminder(session: AsyncSession, row: OutboxMessage, now: datetime
                          ) -> Rendered | None:
    item = await session.get(ActionItem, row.payload["item"])
    if item is None or item.status != "open" or item.due.isoformat() != row.payload["due"]:
        return None
    group = await session.get(WorkingGroup, item.group_id)
    owner = await session.get(Person, item.owner_id)
    if group is None or owner is None:
        return None
    locale = reminders.person_locale(owner, group)
    head = (translate("⏰ Due tomorrow, for {group}:", locale, group=escape(group.name))
            if row.payload["when"] == "before" else
            translate("⏰ Due today, for {group}:", locale, group=escape(group.name)))
    return Rendered(head + "\n" + item_line(item, owner, locale), owner_keyboard(item, locale))


@renderer("action_digest")
async def render_digest(session: AsyncSession, row: OutboxMessage, now: datetime
                        ) -> Rendered | None:
    group = await session.get(WorkingGroup, row.payload["group"])
    person = await session.get(Person, row.payload["person"])
    if group is None or person is None:
        return None
    late = await actions.overdue(session, group, now)
    if not late:
        return None
    locale = reminders.person_locale(person, group)
    lines = [translate("Overdue action items of {group} this week:", locale,
                       group=escape(group.name))]
    lines += [item_line(i, p, locale) for i, p in late]
    return Rendered("\n".join(lines))
