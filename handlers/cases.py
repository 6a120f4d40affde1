"""Concern reports, the secretariat's side: /reports, /case N, /reportstats, /reportsettings,
and the notices the secretariat gets through the outbox (never with content, never in a group).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import ClientDecodeError, TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
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
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import LANGUAGES, Settings
from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape
from bot.i18n import LANGUAGE_NAMES, _, pick_locale, translate
from bot.services.groups import is_secretariat
from bot.services.report_crypto import ReportCipher, ReportUnreadable
from bot.services.reports import (
    CATEGORIES,
    KIND_DIGEST,
    KIND_REMINDER,
    KIND_RETENTION,
    KIND_URGENT,
    STATUSES,
    MonthlyStats,
    ReportError,
    acknowledge,
    add_note,
    case_for,
    closing_soon,
    group_counts,
    group_settings,
    history,
    mark_seen,
    monthly_stats,
    read_body,
    read_content,
    secretariat_groups,
    set_status,
    suppressed,
    today_of,
    update_settings,
    visible_cases,
)
from bot.telegram_text import split_html
from handlers.common import RouterTemplate, RowId, require_registered
from handlers.reports import _day, category_label, load_cipher, status_label, unavailable_text
from storage.models import Membership, OutboxMessage, Person, WorkingGroup
from storage.report_tables import ReportCase, ReportEvent

log = logging.getLogger(__name__)
router = RouterTemplate("cases")

LIST_MAX = 30


class CaseCb(CallbackData, prefix="cs"):
    action: str  # open, ack, status, set, note, reply, stats
    case: RowId
    value: str = ""


class CaseForm(StatesGroup):
    note = State()
    reply = State()


def case_error_text(code: str, **params: object) -> str:
    texts = {
        "no_case": _("There is no case {number} among the cases of your groups."),
        "status": _("Unknown status."),
        "same_status": _("The case already has that status."),
        "already_acknowledged": _("This case was already acknowledged."),
        "note_empty": _("Please send the text."),
        "note_long": _("That is too long: at most {max} characters."),
        "emergency_long": _("That is too long: at most {max} characters."),
        "retention_range": _("Give a number of days between {min} and {max}."),
        "ack_range": _("Give a number of days between {min} and {max}."),
    }
    return texts.get(code, _("That did not work.")).format(**params)


def unreadable_text() -> str:
    return _("This case cannot be read: it was encrypted with another report key than the one "
             "configured now (WGBOT_REPORT_KEY or the key file). Restore the original key.")


def not_secretariat_text() -> str:
    return _("Only the secretariat of a working group can see its concern reports.")


async def _private_only(message: Message) -> bool:
    if message.chat.type != "private":
        await message.answer(_("Concern reports are only shown in a private chat with me."))
        return False
    return True


def _cb(text: str, action: str, case: int, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=CaseCb(action=action, case=case,
                                                                value=value).pack())


# -- /reports -------------------------------------------------------------------------------
@router.message(Command("reports"))
async def reports_list(message: Message, session: AsyncSession, person: Person | None,
                       settings: Settings, locale: str) -> None:
    if not await _private_only(message):
        return
    cipher = load_cipher(settings)
    if cipher is None:
        await message.answer(unavailable_text())
        return
    if person is None or not await secretariat_groups(session, person):
        await message.answer(not_secretariat_text())
        return
    cases = await visible_cases(session, cipher, person)
    if not cases:
        await message.answer(_("No open concern reports in your groups."))
        return
    today = datetime.now(UTC).date()
    lines = [_("<b>Open concern reports</b> (newest last)"), ""]
    for case in cases[-LIST_MAX:]:
        lines.append(await _case_line(session, case, locale, today))
    lines += ["", _("Open one with /case NUMBER or a button.")]
    buttons = [_cb(f"#{c.id}", "open", c.id) for c in cases[-LIST_MAX:]]
    rows = [buttons[i:i + 5] for i in range(0, len(buttons), 5)]
    chunks = split_html("\n".join(lines))
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        await message.answer(chunk, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
                             if last else None)


async def _case_line(session: AsyncSession, case: ReportCase, locale: str, today: date) -> str:
    group = await session.get(WorkingGroup, case.group_id) if case.group_id else None
    parts = [f"<b>#{case.id}</b>", category_label(case.category, locale)]
    if case.urgent:
        parts.append(_("URGENT"))
    parts += [status_label(case.status, locale), LANGUAGE_NAMES.get(case.language, case.language),
              _("{days} d old").format(days=(today - case.submitted_on).days)]
    if case.acknowledged_on is None:
        due = _("acknowledge by {day}").format(day=_day(case.ack_due_on, locale))
        parts.append(f"<b>{due} !</b>" if case.ack_due_on < today else due)
    if case.reporter_update:
        parts.append(_("new information"))
    parts.append(escape(group.name) if group else _("group not chosen by the reporter"))
    return " · ".join(parts)


# -- /case N --------------------------------------------------------------------------------
@router.message(Command("case"))
async def case_command(message: Message, command: CommandObject, session: AsyncSession,
                       person: Person | None, settings: Settings, locale: str, bot: Bot) -> None:
    if not await _private_only(message):
        return
    args = (command.args or "").strip().lstrip("#")
    if not args.isdecimal() or len(args) > 9:
        await message.answer(_("Send /case followed by the case number, for example /case 12."))
        return
    await _open_case(message.chat.id, int(args), session, person, settings, locale, bot,
                     message.answer)


async def _open_case(chat_id: int, number: int, session: AsyncSession, person: Person | None,
                     settings: Settings, locale: str, bot: Bot,
                     answer: Callable[..., Awaitable[Any]]) -> None:
    cipher = load_cipher(settings)
    if cipher is None:
        await answer(unavailable_text())
        return
    try:
        case = await case_for(session, cipher, person, number)
    except ReportError as err:
        await answer(case_error_text(err.code, **err.params))
        return
    try:
        content = read_content(cipher, case)
    except ReportUnreadable:
        await answer(unreadable_text())
        return
    await mark_seen(session, case)
    card = await case_card(session, cipher, case, content, locale)
    chunks = split_html(card)
    for chunk in chunks[:-1]:
        await answer(chunk)
    await _send_attachments(bot, chat_id, case, content)
    await answer(chunks[-1], reply_markup=case_keyboard(case))


async def case_card(session: AsyncSession, cipher: ReportCipher, case: ReportCase,
                    content: dict, locale: str) -> str:
    today = datetime.now(UTC).date()
    lines = [
        _("<b>Case #{number}</b>").format(number=case.id),
        await _case_line(session, case, locale, today),
        _("Submitted on {day}").format(day=_day(case.submitted_on, locale)),
        _("Where: {place}").format(place=escape(content.get("where", ""))),
        _("When: {time}").format(time=escape(content.get("when", ""))),
        "", _("<b>What happened</b>"),
    ]
    lines += _parts_lines(content.get("parts", []))
    lines += ["", _("<b>History</b>")]
    for event, actor in await history(session, case):
        lines.append(_event_line(cipher, event, actor, locale))
    return "\n".join(lines)


def _parts_lines(parts: list[dict]) -> list[str]:
    lines, attachment = [], 0
    for part in parts:
        if part.get("kind") == "text":
            lines.append(escape(part.get("value", "")))
        else:
            attachment += 1
            label = _("voice note") if part.get("kind") == "voice" else _("photo")
            lines.append(_("[{kind} {number}, sent below]").format(kind=label, number=attachment))
    return lines


def _event_line(cipher: ReportCipher, event: ReportEvent, actor: Person | None,
                locale: str) -> str:
    who = escape(actor.full_name) if actor is not None else (
        _("the reporter") if event.kind in ("info", "submitted") else _("a former member"))
    day = _day(event.on_day, locale)
    if event.kind in ("submitted", "acknowledged", "status"):
        return _("{day} · {who}: status {status}").format(
            day=day, who=who, status=status_label(event.status or "", locale))
    try:
        body = read_body(cipher, event)
    except ReportUnreadable:
        return _("{day} · {who}: (cannot be read with the current key)").format(day=day, who=who)
    if event.kind == "info":
        text = "\n".join(_parts_lines(body.get("parts", [])))
        return _("{day} · {who} added:").format(day=day, who=who) + "\n" + text
    label = _("reply to the reporter") if event.kind == "reply" else _("internal note")
    return _("{day} · {who}, {kind}:").format(day=day, who=who, kind=label) + \
        f"\n<i>{escape(body.get('text', ''))}</i>"


async def _send_attachments(bot: Bot, chat_id: int, case: ReportCase, content: dict) -> None:
    """Re-send photos and voice notes by file id: never forwarded (forwarding names the
    sender)."""
    number = 0
    for part in content.get("parts", []):
        if part.get("kind") not in ("photo", "voice"):
            continue
        number += 1
        caption = _("Case #{case}, attachment {number}").format(case=case.id, number=number)
        try:
            if part["kind"] == "photo":
                await bot.send_photo(chat_id, part["value"], caption=caption)
            else:
                await bot.send_voice(chat_id, part["value"], caption=caption)
        except (TelegramAPIError, ClientDecodeError) as exc:
            log.warning("case attachment could not be re-sent: %s", type(exc).__name__)
            await bot.send_message(chat_id, _("Attachment {number} could not be sent (Telegram "
                                              "refused it).").format(number=number))


def case_keyboard(case: ReportCase) -> InlineKeyboardMarkup:
    rows = []
    if case.acknowledged_on is None:
        rows.append([_cb(_("Acknowledge"), "ack", case.id)])
    rows.append([_cb(_("Set status"), "status", case.id)])
    rows.append([_cb(_("Add an internal note"), "note", case.id),
                 _cb(_("Reply to the reporter"), "reply", case.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def status_keyboard(case: ReportCase, locale: str) -> InlineKeyboardMarkup:
    rows = [[_cb(status_label(s, locale), "set", case.id, s)] for s in STATUSES
            if s != case.status]
    rows.append([_cb(_("Back"), "open", case.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@router.callback_query(CaseCb.filter())
async def case_pressed(query: CallbackQuery, callback_data: CaseCb, session: AsyncSession,
                       person: Person | None, settings: Settings, locale: str, bot: Bot,
                       state: FSMContext) -> None:
    message = query.message
    if not isinstance(message, Message) or message.chat.type != "private":
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    if callback_data.action == "stats":
        await _stats_pressed(query, message, callback_data, session, person, bot, locale)
        return
    cipher = load_cipher(settings)
    if cipher is None:
        await query.answer(unavailable_text()[:200], show_alert=True)
        return
    try:
        case = await case_for(session, cipher, person, callback_data.case)
    except ReportError as err:
        await query.answer(case_error_text(err.code, **err.params)[:200], show_alert=True)
        return
    action, now = callback_data.action, datetime.now(UTC)
    assert person is not None  # case_for refuses None
    try:
        if action == "open":
            await query.answer()
            await _open_case(message.chat.id, case.id, session, person, settings, locale, bot,
                             message.answer)
        elif action == "ack":
            await acknowledge(session, case, person, now)
            await query.answer(_("Acknowledged."))
            await message.edit_reply_markup(reply_markup=case_keyboard(case))
        elif action == "status":
            await query.answer()
            await message.edit_reply_markup(reply_markup=status_keyboard(case, locale))
        elif action == "set":
            await set_status(session, case, callback_data.value, person, now)
            await query.answer(_("Status: {status}").format(
                status=status_label(case.status, locale)))
            await message.edit_reply_markup(reply_markup=case_keyboard(case))
        elif action in ("note", "reply"):
            await query.answer()
            await state.set_state(CaseForm.note if action == "note" else CaseForm.reply)
            await state.update_data(case=case.id)
            prompt = _("Send the internal note for case #{number} (the reporter never sees "
                       "it), or /cancel.") if action == "note" else _(
                "Send your reply to the reporter of case #{number}. They read it with their "
                "receipt code; do not ask for their name or contacts. Or /cancel.")
            await message.answer(prompt.format(number=case.id))
        else:
            await query.answer(_("This button is not valid any more."), show_alert=True)
    except ReportError as err:
        await query.answer(case_error_text(err.code, **err.params)[:200], show_alert=True)


@router.message(Command("cancel"), StateFilter(CaseForm))
async def cancel_note(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Cancelled."))


@router.message(StateFilter(CaseForm), F.chat.type == "private", ~F.text.startswith("/"))
async def note_sent(message: Message, state: FSMContext, session: AsyncSession,
                    person: Person | None, settings: Settings) -> None:
    reply = await state.get_state() == CaseForm.reply.state
    case_id = (await state.get_data()).get("case")
    cipher = load_cipher(settings)
    if cipher is None:
        await message.answer(unavailable_text())
        return
    if not message.text:
        await message.answer(case_error_text("note_empty"))
        return
    try:
        case = await case_for(session, cipher, person, int(case_id or 0))
        assert person is not None
        await add_note(session, cipher, case, person, message.text, datetime.now(UTC),
                       reply=reply)
    except ReportError as err:
        await message.answer(case_error_text(err.code, **err.params))
        if err.code == "no_case":
            await state.clear()
        return
    await state.clear()
    if reply:
        text = _("Reply saved. The reporter reads it with /status and their code.")
        if case.notify_to is not None:
            text += " " + _("They asked to be told of answers: they will get a notice without "
                            "content.")
    else:
        text = _("Note saved in the history of case #{number}.").format(number=case.id)
    await message.answer(text)


# -- /reportstats ---------------------------------------------------------------------------
@router.message(Command("reportstats"))
async def stats_command(message: Message, session: AsyncSession, person: Person | None,
                        bot: Bot, locale: str) -> None:
    if not await _private_only(message):
        return
    groups = await secretariat_groups(session, person) if person is not None else []
    if not groups:
        await message.answer(not_secretariat_text())
        return
    if len(groups) == 1:
        await send_stats(bot, message.chat.id, session, groups[0], locale)
        return
    rows = [[_cb(g.name, "stats", g.id)] for g in groups]
    await message.answer(_("Statistics of which group?"),
                         reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def _stats_pressed(query: CallbackQuery, message: Message, callback_data: CaseCb,
                         session: AsyncSession, person: Person | None, bot: Bot,
                         locale: str) -> None:
    groups = await secretariat_groups(session, person) if person is not None else []
    group = next((g for g in groups if g.id == callback_data.case), None)
    if group is None:
        await query.answer(not_secretariat_text()[:200], show_alert=True)
        return
    await query.answer()
    await send_stats(bot, message.chat.id, session, group, locale)


def stats_text(stats: MonthlyStats, group: WorkingGroup, locale: str) -> str:
    lines = [_("<b>Concern reports of {group}, per month</b>").format(group=escape(group.name)),
             _("Counts below 3 are shown as \"&lt;3\" so that nobody can be recognised.")]
    if not stats.months:
        return "\n".join([*lines, "", _("No reports in the last twelve months.")])
    for month in stats.months:
        total = sum(stats.by_category[month].values())
        lines += ["", _("<b>{month}</b>: {total} in all").format(
            month=month, total=escape(suppressed(total) or "0"))]
        for category in CATEGORIES:
            shown = suppressed(stats.by_category[month][category])
            if shown:
                lines.append(f"  {category_label(category, locale)}: {escape(shown)}")
        statuses = [f"{status_label(s, locale)}: {escape(shown)}" for s in STATUSES
                    if (shown := suppressed(stats.by_status[month][s]))]
        lines.append("  " + _("Status: {status}").format(status="; ".join(statuses)))
    return "\n".join(lines)


def stats_chart(stats: MonthlyStats, group: WorkingGroup, locale: str) -> bytes:
    """A stacked bar chart per month and category; counts below 3 are left out."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    bottoms = [0] * len(stats.months)
    for category in CATEGORIES:
        values = [stats.by_category[m][category] for m in stats.months]
        values = [v if v >= 3 else 0 for v in values]
        if any(values):
            axes.bar(stats.months, values, bottom=bottoms,
                     label=translate(_label_id(category), locale))
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_title(translate("Concern reports per month: {group}", locale, group=group.name))
    axes.set_ylabel(translate("reports (counts below 3 not shown)", locale))
    if any(bottoms):
        axes.legend(fontsize="small")
    axes.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _label_id(category: str) -> str:
    from handlers.reports import CATEGORY_LABELS

    return CATEGORY_LABELS[category]


async def send_stats(bot: Bot, chat_id: int, session: AsyncSession, group: WorkingGroup,
                     locale: str) -> None:
    stats = await monthly_stats(session, group.id, datetime.now(UTC).date())
    for chunk in split_html(stats_text(stats, group, locale)):
        await bot.send_message(chat_id, chunk)
    if not stats.months:
        return
    png = stats_chart(stats, group, locale)
    try:
        await bot.send_photo(chat_id, BufferedInputFile(png, "reportstats.png"))
    except (TelegramAPIError, ClientDecodeError) as exc:
        log.warning("the statistics chart could not be sent: %s", type(exc).__name__)
        await bot.send_message(chat_id, _("The chart could not be sent."))


# -- /reportsettings (in the group chat, secretariat) ---------------------------------------
@router.message(Command("reportsettings"))
async def settings_command(message: Message, command: CommandObject, session: AsyncSession,
                           group: WorkingGroup | None, membership: Membership | None) -> None:
    if not await require_registered(message, group):
        return
    assert group is not None
    if not is_secretariat(membership):
        await message.answer(_("Only the secretariat can change the report settings."))
        return
    field, _sep, value = (command.args or "").strip().partition(" ")
    try:
        if field == "emergency":
            await update_settings(session, group, emergency=value)
        elif field in ("retention", "ack"):
            days = int(value) if value.strip().isdecimal() else -1
            key = "retention_days" if field == "retention" else "ack_days"
            await update_settings(session, group, **{key: days})
        elif field:
            await message.answer(settings_help())
            return
    except ReportError as err:
        await message.answer(case_error_text(err.code, **err.params))
        return
    current = await group_settings(session, group.id)
    await message.answer("\n".join([
        _("<b>Concern reports in {group}</b>").format(group=escape(group.name)),
        _("Emergency contacts: {contacts}").format(
            contacts=escape(current.emergency_contacts) or _("none yet")),
        _("Closed cases are deleted after {days} days.").format(days=current.retention_days),
        _("Reports must be acknowledged within {days} days.").format(days=current.ack_days),
        "", settings_help(),
    ]))


def settings_help() -> str:
    return _("Change with /reportsettings emergency TEXT, /reportsettings retention DAYS or "
             "/reportsettings ack DAYS.")


# -- notices through the outbox -------------------------------------------------------------
async def _recipient(session: AsyncSession, row: OutboxMessage
                     ) -> tuple[Person, WorkingGroup, str] | None:
    person = (await session.exec(select(Person).where(
        Person.telegram_id == row.chat_id))).first()
    group = await session.get(WorkingGroup, int(row.payload.get("group_id", 0)))
    if person is None or group is None:
        return None
    from bot.services.groups import get_membership

    if not is_secretariat(await get_membership(session, group, person)):
        return None  # no longer in the secretariat
    locale = pick_locale(person.language, person.telegram_language, group.language)
    return person, group, locale if locale in LANGUAGES else "en"


def _cipher_or_none() -> ReportCipher | None:
    from bot.services.report_crypto import ReportKeyError, get_cipher

    try:
        return get_cipher()
    except ReportKeyError:
        return None


@renderer(KIND_DIGEST)
@renderer(KIND_URGENT)
@renderer(KIND_REMINDER)
async def render_notice(session: AsyncSession, row: OutboxMessage, now: datetime
                        ) -> Rendered | None:
    found = await _recipient(session, row)
    if found is None:
        return None
    _person, group, locale = found
    counts = await group_counts(session, _cipher_or_none(), group.id, today_of(now))
    name = escape(group.name)
    if row.kind == KIND_URGENT:
        head = translate("<b>Urgent concern report</b> for {group}: someone may be injured or "
                         "in danger. Read it now with /reports.", locale, group=name)
    elif row.kind == KIND_REMINDER:
        if not counts.overdue:
            return None
        head = translate("<b>Reminder</b>: {count} concern reports of {group} are past their "
                         "acknowledgement deadline.", locale, count=counts.overdue, group=name)
    else:
        if not counts.unacknowledged and not counts.updated:
            return None
        head = translate("<b>Concern reports</b> for {group}.", locale, group=name)
    body = translate("Waiting for acknowledgement: {waiting}. With new information from the "
                     "reporter: {updated}. Open /reports in this private chat.", locale,
                     waiting=counts.unacknowledged, updated=counts.updated)
    return Rendered(f"{head}\n{body}")


@renderer(KIND_RETENTION)
async def render_retention(session: AsyncSession, row: OutboxMessage, now: datetime
                           ) -> Rendered | None:
    found = await _recipient(session, row)
    if found is None:
        return None
    _person, group, locale = found
    soon = await closing_soon(session, _cipher_or_none(), group.id, today_of(now))
    if not soon:
        return None
    lines = [translate("<b>Closed concern reports of {group} will be deleted</b> at the end of "
                       "their retention period:", locale, group=escape(group.name))]
    lines += [translate("Case #{number}: on {day}", locale, number=case.id,
                        day=_day(day, locale)) for case, day in soon]
    lines.append(translate("Reopen a case (set another status) to keep it.", locale))
    return Rendered("\n".join(lines))
