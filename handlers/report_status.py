"""Anonymous concern reports, the reporter's follow-up: /status CODE shows what happened to a
report, takes more information and switches answer notices on or off."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import LANGUAGES, Settings
from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape
from bot.i18n import _, translate
from bot.services.concerns import visible_outcome
from bot.services.report_crypto import (
    ReportCipher,
    ReportKeyError,
    ReportUnreadable,
    get_cipher,
    parse_receipt,
)
from bot.services.reports import (
    KIND_REPLY,
    Counters,
    ReportError,
    add_reporter_info,
    case_by_receipt,
    history,
    read_body,
    reply_recipient,
    set_reply_notifications,
)
from bot.telegram_text import split_html
from handlers.common import private_link_keyboard
from handlers.prompts import is_cancel_word
from handlers.report_conversation import (
    ReporterRouter,
    StatusForm,
    collect,
    current_cipher,
    put_secret,
    read_secret,
    say,
    user_id_of,
    wipe,
)
from handlers.report_texts import (
    ReportCb,
    btn,
    category_label,
    day_text,
    kb,
    load_cipher,
    nav,
    report_error_text,
    status_label,
    unavailable_text,
)
from storage.models import OutboxMessage
from storage.report_tables import ReportCase

# Before the /report router, whose catch-all for the report states would take the messages
# written while adding information.
router = ReporterRouter("report_status")


# -- follow-up: /status CODE -----------------------------------------------------------------------
@router.message(Command("status"), F.chat.type != "private")
async def status_in_group(message: Message, bot: Bot) -> None:
    try:
        await message.delete()
    except TelegramAPIError:
        pass
    keyboard = await private_link_keyboard(bot, _("Check a report privately"), "status")
    await message.answer(_("Never type a receipt code in a group. Use /status in a private "
                           "chat with me."), reply_markup=keyboard)


@router.message(CommandStart(deep_link=True, magic=F.args == "status"), F.chat.type == "private")
async def status_link(message: Message) -> None:
    await message.answer(_("Send /status followed by your 16-digit receipt code."))


@router.message(Command("status"), F.chat.type == "private")
async def status_command(
    message: Message, command: CommandObject, state: FSMContext, session: AsyncSession,
    settings: Settings, report_counters: Counters,
) -> None:
    await state.clear()
    if not command.args:
        await message.answer(_("Send /status followed by your 16-digit receipt code."))
        return
    try:  # the code should not stay in the chat
        await message.delete()
    except TelegramAPIError:
        pass
    receipt = parse_receipt(command.args)
    if receipt is None:
        await message.answer(_("A receipt code has 16 digits, for example in four groups of "
                               "four. Check it and try again."))
        return
    cipher = load_cipher(settings)
    if cipher is None:
        await message.answer(unavailable_text())
        return
    try:
        case = await case_by_receipt(session, cipher, report_counters, receipt,
                                     user_id_of(message), datetime.now(UTC))
    except ReportError as err:
        await message.answer(report_error_text(err.code, **err.params))
        return
    await state.set_state(StatusForm.viewing)
    await put_secret(state, language=case.language, case=case.id)  # all of it sealed
    await _show_status(message, state, session, cipher, case, case.language)


async def status_card(
    session: AsyncSession, cipher: ReportCipher, case: ReportCase, locale: str,
) -> str:
    lines = [
        translate("<b>Your report</b>", locale),
        translate("About: {category}", locale, category=category_label(case.category, locale)),
        translate("Sent on: {day}", locale, day=day_text(case.submitted_on, locale)),
        translate("Status: {status}", locale, status=status_label(case.status, locale)),
        "", translate("<b>What happened since</b>", locale),
    ]
    for event, _actor in await history(session, case):
        day = day_text(event.on_day, locale)
        if event.kind in ("submitted", "acknowledged", "status"):
            lines.append(f"{day}: {status_label(event.status or '', locale)}")
        elif event.kind == "info":
            lines.append(translate("{day}: you added information", locale, day=day))
        elif event.kind == "reply":
            try:
                text = escape(read_body(cipher, event).get("text", ""))
            except ReportUnreadable:
                text = translate("(this answer cannot be read)", locale)
            lines.append(translate("{day}: the secretariat answered:", locale, day=day))
            lines.append(f"<i>{text}</i>")
    try:
        outcome = visible_outcome(cipher, case)
    except ReportUnreadable:
        outcome = None
    if outcome is not None:  # the bot's words in the reporter's language, theirs as written
        lines += ["", translate("<b>Outcome</b>", locale),
                  translate("Discussed by the working group on {day}; agreed:", locale,
                            day=day_text(outcome.day, locale)),
                  f"<i>{escape(outcome.text)}</i>",
                  translate("(the secretariat's own words, not translated)", locale)]
    return "\n".join(lines)


async def _show_status(message: Message, state: FSMContext, session: AsyncSession,
                       cipher: ReportCipher, case: ReportCase, locale: str) -> None:
    notify = _("Stop reply notifications") if case.notify_to is not None \
        else _("Tell me when there is an answer")
    keyboard = kb([btn(_("Add information"), "add")],
                   [btn(notify, "notify")],
                   [btn(_("Close and delete from this chat"), "close")])
    chunks = split_html(await status_card(session, cipher, case, locale))
    for index, chunk in enumerate(chunks):
        await say(message, state, chunk, keyboard if index == len(chunks) - 1 else None)


async def _status_case(state: FSMContext, session: AsyncSession) -> ReportCase | None:
    case_id = (await read_secret(state)).get("case")
    return await session.get(ReportCase, case_id) if isinstance(case_id, int) else None


@router.callback_query(ReportCb.filter(F.action == "add"), StatusForm.viewing)
async def add_pressed(query: CallbackQuery, state: FSMContext) -> None:
    if current_cipher() is None or not isinstance(query.message, Message):
        await query.answer(unavailable_text()[:200], show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await state.set_state(StatusForm.adding)
        await put_secret(state, parts=[])
        await say(query.message, state, _(
            "Send what you want to add: text messages, voice notes or photos. Press Done when "
            "you have finished."), kb([btn(_("Done"), "added")], nav(back=False)))


@router.message(StatusForm.adding, F.chat.type == "private", ~F.text.startswith("/"),
                ~F.text.func(is_cancel_word))  # the word "cancel" stops, in handlers/reports.py
async def adding_sent(message: Message, state: FSMContext) -> None:
    await collect(message, state, "added")


@router.callback_query(ReportCb.filter(F.action == "added"), StatusForm.adding)
async def added_done(query: CallbackQuery, state: FSMContext, session: AsyncSession,
                     settings: Settings) -> None:
    parts = (await read_secret(state)).get("parts", [])
    case = await _status_case(state, session)
    cipher = load_cipher(settings)
    if not parts:
        await query.answer(_("Send something first, or press Stop."), show_alert=True)
        return
    if case is None or cipher is None or not isinstance(query.message, Message):
        await query.answer(_("Send /status with your code again."), show_alert=True)
        return
    try:
        await add_reporter_info(session, cipher, case, parts, datetime.now(UTC))
    except ReportUnreadable:
        await query.answer(unavailable_text()[:200], show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.set_state(StatusForm.viewing)
    await put_secret(state, parts=[])
    await say(query.message, state, _("Added to your report. The secretariat will be told that "
                                       "there is new information (not who sent it)."))


@router.callback_query(ReportCb.filter(F.action == "notify"), StatusForm.viewing)
async def notify_pressed(query: CallbackQuery, state: FSMContext, session: AsyncSession,
                         settings: Settings) -> None:
    case = await _status_case(state, session)
    cipher = load_cipher(settings)
    if case is None or cipher is None or not isinstance(query.message, Message):
        await query.answer(_("Send /status with your code again."), show_alert=True)
        return
    await query.answer()
    if case.notify_to is not None:
        await set_reply_notifications(session, cipher, case, None)
        await say(query.message, state, _("Done: I no longer keep anything to notify you. "
                                           "Check for answers with /status and your code."))
        return
    await say(query.message, state, "\n\n".join([
        _("<b>Before you choose: what a notification costs</b>"),
        _("To write to you when there is an answer, I must keep your Telegram account number "
          "with this report, encrypted. Whoever held both the database and the bot's report "
          "key could then find out who you are, and your phone will show a message from me."),
        _("Without notifications nothing links the report to you: check for answers yourself "
          "with /status and your code."),
    ]), kb([btn(_("Yes, notify me"), "notify_yes")], [btn(_("No, I will check"), "notify_no")]))


@router.callback_query(ReportCb.filter(F.action.in_({"notify_yes", "notify_no"})),
                       StatusForm.viewing)
async def notify_chosen(query: CallbackQuery, callback_data: ReportCb, state: FSMContext,
                        session: AsyncSession, settings: Settings) -> None:
    case = await _status_case(state, session)
    cipher = load_cipher(settings)
    if case is None or cipher is None or not isinstance(query.message, Message):
        await query.answer(_("Send /status with your code again."), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.action == "notify_yes":
        await set_reply_notifications(session, cipher, case, query.message.chat.id)
        text = _("Done: I will tell you when there is an answer, without saying anything of the "
                 "report. You can stop it in /status.")
    else:
        text = _("Fine: nothing was kept. Check for answers with /status and your code.")
    await say(query.message, state, text)


# -- the reporter's notification, delivered through the outbox ----------------------------------
@renderer(KIND_REPLY)
async def render_reply(session: AsyncSession, row: OutboxMessage, now: datetime
                       ) -> Rendered | None:
    chat_id = reply_recipient(_cipher_or_none(), row)  # sealed in the row, opened only now
    if chat_id is None:
        return None
    language = row.payload.get("language")
    locale = language if language in LANGUAGES else "en"
    return Rendered(translate(
        "There is a new answer to a report. Send /status with your receipt code to read it.",
        locale), chat_id=chat_id)


def _cipher_or_none() -> ReportCipher | None:
    try:
        return get_cipher()
    except ReportKeyError:
        return None


@router.callback_query(ReportCb.filter(F.action == "close"), StateFilter(StatusForm))
async def close_pressed(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await wipe(bot, query.message.chat.id, state)
        await state.clear()
        await query.message.answer(_("Closed. Your report is kept; I deleted our messages "
                                     "about it from this chat."))
