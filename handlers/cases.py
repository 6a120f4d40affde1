"""Concern reports, the secretariat's side: /reports, /case N, /reportstats, /reportsettings.
Their texts and keyboards are in handlers/case_texts.py, the notices the secretariat gets
through the outbox in handlers/case_notices.py.

Longer than 400 lines: the reply to a reporter is kept here with the case buttons that open it,
because its preview (Send / Edit / Cancel, handlers/prompts.py) re-checks the same case access
at every step."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import ClientDecodeError, TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.formatting import escape
from bot.i18n import _
from bot.services.groups import is_secretariat
from bot.services.report_crypto import ReportUnreadable
from bot.services.report_drafts import DraftCipher, open_secret, seal_secret
from bot.services.reports import (
    ReportError,
    acknowledge,
    add_note,
    case_for,
    group_settings,
    mark_seen,
    monthly_stats,
    read_content,
    secretariat_groups,
    set_status,
    update_settings,
    visible_cases,
)
from bot.telegram_text import split_html
from handlers import case_agenda, case_notices
from handlers.case_texts import (
    CaseCb,
    case_card,
    case_error_text,
    case_keyboard,
    case_line,
    cb,
    not_secretariat_text,
    stats_chart,
    stats_text,
    status_keyboard,
    unreadable_text,
)
from handlers.common import RouterTemplate, answer_parts, require_registered
from handlers.prompts import (
    PromptCb,
    ask_answer_or_question,
    ask_for,
    cancelled_text,
    is_cancel_word,
    looks_like_question,
    preview_pressed,
    question_hint,
    show_preview,
)
from handlers.report_texts import load_cipher, status_label, unavailable_text
from storage.models import Membership, Person, WorkingGroup
from storage.report_tables import ReportCase

log = logging.getLogger(__name__)
router = RouterTemplate("cases")
del case_notices  # imported for its outbox renderers, which register themselves

LIST_MAX = 30


class CaseForm(StatesGroup):
    note = State()
    reply = State()
    question = State()  # the reply looked like a question: answer or question?
    preview = State()  # the reply is shown to its author; nothing goes before Send


async def _private_only(message: Message) -> bool:
    if message.chat.type != "private":
        await message.answer(_("Concern reports are only shown in a private chat with me."))
        return False
    return True


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
        lines.append(await case_line(session, case, locale, today))
    lines += ["", _("Open one with /case NUMBER or a button.")]
    buttons = [cb(f"#{c.id}", "open", c.id) for c in cases[-LIST_MAX:]]
    rows = [buttons[i:i + 5] for i in range(0, len(buttons), 5)]
    await answer_parts(message, "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


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
        elif action == "agenda":
            await query.answer()
            await case_agenda.ask_summary(message, state, case, settings)
        elif action == "outcome":
            await query.answer()
            await case_agenda.ask_outcome(message, state, case)
        elif action in ("note", "reply"):
            await query.answer()
            await state.set_state(CaseForm.note if action == "note" else CaseForm.reply)
            await state.set_data({"case": case.id})
            prompt = _("Send the internal note for case #{number} (the reporter never sees "
                       "it).") if action == "note" else _(
                "Send your reply to the reporter of case #{number}. They read it with their "
                "receipt code; do not ask for their name or contacts. You will see it before "
                "it is sent.")
            await ask_for(message, prompt.format(number=case.id), action)
        else:
            await query.answer(_("This button is not valid any more."), show_alert=True)
    except ReportError as err:
        await query.answer(case_error_text(err.code, **err.params)[:200], show_alert=True)


@router.message(Command("cancel"), StateFilter(CaseForm))
@router.message(StateFilter(CaseForm), F.text.func(is_cancel_word))
async def cancel_note(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(cancelled_text())


@router.message(StateFilter(CaseForm.note, CaseForm.reply), F.chat.type == "private",
                ~F.text.startswith("/"))
async def note_sent(message: Message, state: FSMContext, session: AsyncSession,
                    person: Person | None, settings: Settings,
                    draft_cipher: DraftCipher | None = None) -> None:
    reply = await state.get_state() == CaseForm.reply.state
    cipher = load_cipher(settings)
    if cipher is None:
        await message.answer(unavailable_text())
        return
    if not message.text:
        await message.answer(case_error_text("note_empty"))
        return
    if reply:  # shown first, sent only on Send; kept sealed meanwhile
        if draft_cipher is None:
            await message.answer(unavailable_text())
            return
        await state.update_data(seal_secret(await state.get_data(), draft_cipher,
                                            reply=message.text))
        if looks_like_question(message.text):
            await state.set_state(CaseForm.question)
            await ask_answer_or_question(message, "reply")
        else:
            await _preview_reply(message, state, draft_cipher)
        return
    case_id = (await state.get_data()).get("case")
    try:
        case = await case_for(session, cipher, person, int(case_id or 0))
        assert person is not None
        await add_note(session, cipher, case, person, message.text, datetime.now(UTC))
    except ReportError as err:
        await message.answer(case_error_text(err.code, **err.params))
        if err.code == "no_case":
            await state.clear()
        return
    await state.clear()
    await message.answer(_("Note saved in the history of case #{number}.").format(number=case.id))


@router.message(StateFilter(CaseForm.question, CaseForm.preview), F.chat.type == "private",
                ~F.text.startswith("/"))
async def waiting_for_a_button(message: Message) -> None:
    await message.answer(_("Please use the buttons above: Send, Edit or Cancel."))


async def _preview_reply(message: Message, state: FSMContext,
                         draft_cipher: DraftCipher | None) -> None:
    data = await state.get_data()
    text = open_secret(data, draft_cipher).get("reply", "")
    await state.set_state(CaseForm.preview)
    sent = await show_preview(message, _("Your reply to the reporter of case #{number}:").format(
        number=data.get("case")), text, "reply")
    await state.update_data(preview=sent.message_id)


@router.callback_query(PromptCb.filter(F.kind.in_({"reply", "note"})))
async def reply_prompt_pressed(query: CallbackQuery, callback_data: PromptCb,
                               state: FSMContext, session: AsyncSession,
                               person: Person | None, settings: Settings,
                               draft_cipher: DraftCipher | None = None) -> None:
    action, current = callback_data.action, await state.get_state()
    expected = {"cancel": None, "edit": CaseForm.preview.state,
                "send": CaseForm.preview.state, "answer": CaseForm.question.state,
                "question": CaseForm.question.state}
    data = await state.get_data()
    stale = (not isinstance(query.message, Message) or action not in expected
             or current is None or not current.startswith("CaseForm:")
             or (expected[action] is not None and current != expected[action])
             or (action in ("send", "edit") and data.get("preview") != query.message.message_id))
    message = await preview_pressed(query, state, action, not stale)
    if message is None:
        return
    if action == "edit":
        await state.set_state(CaseForm.reply)
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await ask_for(message, _("Send the new text of your reply."), "reply")
    elif action == "question":
        await state.set_state(CaseForm.reply)
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(question_hint())
    elif action == "answer":
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await _preview_reply(message, state, draft_cipher)
    else:
        await _send_reply(query, message, state, session, person, settings, draft_cipher)


async def _send_reply(query: CallbackQuery, message: Message, state: FSMContext,
                      session: AsyncSession, person: Person | None, settings: Settings,
                      draft_cipher: DraftCipher | None) -> None:
    cipher = load_cipher(settings)
    data = await state.get_data()
    text = open_secret(data, draft_cipher).get("reply")
    if cipher is None or not text:
        await query.answer(unavailable_text()[:200], show_alert=True)
        return
    try:
        case = await case_for(session, cipher, person, int(data.get("case") or 0))
        assert person is not None
        await add_note(session, cipher, case, person, text, datetime.now(UTC), reply=True)
    except ReportError as err:
        await query.answer(case_error_text(err.code, **err.params)[:200], show_alert=True)
        if err.code == "no_case":
            await state.clear()
        return
    await query.answer()  # commits first: a failed commit confirms nothing (bot/middleware.py)
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    confirmation = _("Reply saved. The reporter reads it with /status and their code.")
    if case.notify_to is not None:
        confirmation += " " + _("They asked to be told of answers: they will get a notice "
                                "without content.")
    await message.answer(confirmation)


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
    rows = [[cb(g.name, "stats", g.id)] for g in groups]
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
