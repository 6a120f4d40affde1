"""Anonymous concern reports, the reporter's side: /report (the flow); /status CODE is in
handlers/report_status.py, the texts and keyboards in handlers/report_texts.py and the draft's
logic in bot/services/report_drafts.py.

Reports are only taken in a private chat. Nothing identifying the reporter reaches the report
tables; the conversation state (language, draft, ids of the messages to delete) lives in the FSM
storage only until the report is filed, and the person row the context middleware keeps for a
user who only uses these commands is dropped again after each update.

Longer than 400 lines: every step of the one sealed conversation is here (a second /report
asking before it discards a draft, voice notes and photos at each free-text step), so that no
step can be reached without the draft's cipher.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import LANGUAGES, Settings
from bot.i18n import LANGUAGE_NAMES, CatalogI18n, _, current_locale
from bot.services.groups import get_group_by_code, groups_of
from bot.services.report_crypto import new_receipt
from bot.services.report_drafts import emergency_groups, group_choice, previous_step
from bot.services.reports import (
    WHEN_MAX,
    WHERE_MAX,
    Counters,
    ReportError,
    add_part,
    check_draft,
    check_report_allowed,
    clean_line,
    emergency_contacts,
    submit,
    take_report_quota,
)
from bot.unread_answers import unread
from handlers.common import private_link_keyboard
from handlers.prompts import is_cancel_word
from handlers.report_conversation import (
    STEP_STATES,
    WIPE_MAX,
    ReporterRouter,
    ReportForm,
    StatusForm,
    wipe_range,
)
from handlers.report_conversation import collect as _collect
from handlers.report_conversation import put_secret as _put_secret
from handlers.report_conversation import read_draft as _draft
from handlers.report_conversation import read_secret as _secret
from handlers.report_conversation import say as _say
from handlers.report_conversation import track as _track
from handlers.report_conversation import user_id_of as _user_id
from handlers.report_conversation import wipe as _wipe
from handlers.report_texts import (  # noqa: F401  (re-exported for the other report modules)
    CATEGORY_LABELS,
    STATUS_LABELS,
    ReportCb,
    category_label,
    emergency_text,
    group_button,
    load_cipher,
    nav,
    receipt_text,
    report_error_text,
    status_label,
    step_prompt,
    summary_text,
    unavailable_text,
)
from handlers.report_texts import btn as _btn
from handlers.report_texts import day_text as _day
from handlers.report_texts import kb as _kb
from storage.models import Person, WorkingGroup

router = ReporterRouter("reports")


# -- starting --------------------------------------------------------------------------------------
@router.message(Command("report"), F.chat.type != "private")
async def report_in_group(message: Message, bot: Bot, group: WorkingGroup | None) -> None:
    payload = f"report_{group.code}" if group is not None else "report"
    keyboard = await private_link_keyboard(bot, _("Report a concern privately"), payload)
    await message.answer(
        _("Concerns are reported in a private chat with me, never in this group. Press the "
          "button: nobody here will see what you write, and the secretariat will not learn "
          "who you are."), reply_markup=keyboard)
    try:  # do not leave "/report" under someone's name in the group
        await message.delete()
    except TelegramAPIError:
        pass


@router.message(CommandStart(deep_link=True, magic=F.args.startswith("report")),
                F.chat.type == "private")
@router.message(Command("report"), F.chat.type == "private")
async def report_start(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
    command: CommandObject, person: Person | None, report_counters: Counters,
) -> None:
    # Only the deep link carries a group code; words after /report are never used.
    link = command.args or "" if command.command == "start" else ""
    code = link.removeprefix("report").removeprefix("_")[:16]
    current = await state.get_state()
    if current is not None and current.startswith("ReportForm:") and current != \
            ReportForm.language.state:
        # a draft is under way: never discard it without asking
        await _track(state, message.message_id)
        await _say(message, state, _("You have a report in progress. Continue it, or start "
                                     "again? Starting again deletes what you wrote."),
                   _kb([_btn(_("Continue my report"), "resume")],
                       [_btn(_("Start again"), "restart", code)]))
        return
    await _begin(message, state, session, settings, code, person, report_counters,
                 _user_id(message))


async def _begin(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                 code: str, person: Person | None, report_counters: Counters,
                 user_id: int) -> None:
    await state.clear()
    await _track(state, message.message_id)
    cipher = load_cipher(settings)
    if cipher is None:
        await message.answer(unavailable_text())
        return
    try:
        await check_report_allowed(report_counters, user_id, datetime.now(UTC))
    except ReportError as err:
        await message.answer(report_error_text(err.code, **err.params))
        return
    if code:
        group = await get_group_by_code(session, code[:16])
        if group is None:
            await state.clear()
            await message.answer(_("This report link is not valid. Ask your working group for "
                                   "its report link."))
            return
        await _put_secret(state, group_id=group.id)
    elif person is not None:
        candidates = [g.id for g, _m in await groups_of(session, person)]
        await _put_secret(state, candidates=candidates)
    await state.set_state(ReportForm.language)
    rows = [[_btn(LANGUAGE_NAMES[c], "lang", c)] for c in ("sw", "fr", "ln", "en", "es")]
    await _say(message, state, _("Choose the language of your report:"),
               _kb(*rows, [_btn(_("Stop"), "cancel")]))


@router.callback_query(ReportCb.filter(F.action.in_({"resume", "restart"})),
                       StateFilter(*STEP_STATES.values(), ReportForm.group))
async def draft_kept_or_restarted(
    query: CallbackQuery, callback_data: ReportCb, state: FSMContext, session: AsyncSession,
    settings: Settings, person: Person | None, report_counters: Counters, bot: Bot,
) -> None:
    message = query.message
    if not isinstance(message, Message) or len(callback_data.value) > 16:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if callback_data.action == "restart":
        await _wipe(bot, message.chat.id, state)
        await _begin(message, state, session, settings, callback_data.value, person,
                     report_counters, query.from_user.id)
        return
    current = await state.get_state()
    step = next((s for s, st in STEP_STATES.items() if st.state == current), None)
    if step is None:  # choosing the group: its buttons are still above
        await _say(message, state, _("Please answer as asked above, with a button or in text, "
                                     "or press Stop."))
        return
    await _show(message, state, step, session)


@router.message(StateFilter(ReportForm, StatusForm), F.chat.type == "private",
                F.text.func(is_cancel_word))
async def cancel_word(message: Message, state: FSMContext, bot: Bot) -> None:
    """"cancel" alone, in any of the five languages, stops like /cancel (before the steps
    that take text, which would keep it as the place or the time; /status leaves it to this
    router)."""
    await cancel_command(message, state, bot)


@router.callback_query(ReportCb.filter(F.action == "lang"), ReportForm.language)
async def language_chosen(
    query: CallbackQuery, callback_data: ReportCb, state: FSMContext, session: AsyncSession,
    i18n: CatalogI18n,
) -> None:
    if callback_data.value not in LANGUAGES or not isinstance(query.message, Message):
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.answer()
    await _put_secret(state, language=callback_data.value)
    with i18n.use_locale(callback_data.value):
        await query.message.edit_reply_markup(reply_markup=None)
        data = await _secret(state)
        if data.get("group_id") is None:
            candidates = data.get("candidates") or []
            if not candidates:
                await state.clear()
                await query.message.answer(_(
                    "I don't know which working group to send your report to. Open the report "
                    "link that your working group shared (the button under /report in its "
                    "chat)."))
                return
            if len(candidates) > 1:
                await _ask_group(query.message, state, session, candidates)
                return
            await _put_secret(state, group_id=candidates[0], candidates=[])
        await _show(query.message, state, "notice")


async def _ask_group(message: Message, state: FSMContext, session: AsyncSession,
                     candidates: list[int]) -> None:
    """The reporter chooses the one group whose secretariat will read the report, each shown
    with the day it was registered (a look-alike group is new). There is no "I don't know":
    a report sent to several groups would tell each of them which groups its reporter is in."""
    await state.set_state(ReportForm.group)
    rows = []
    for group_id in candidates:
        group = await session.get(WorkingGroup, group_id)
        if group is not None:
            rows.append([_btn(group_button(group, current_locale()), "group", str(group.id))])
    await _say(message, state, _("Which working group is your report for? Only its "
                                 "secretariat will read it. Check the name and since when the "
                                 "group exists; if in doubt, use the report link that your "
                                 "group shared."),
               _kb(*rows, [_btn(_("Stop"), "cancel")]))


@router.callback_query(ReportCb.filter(F.action == "group"), ReportForm.group)
async def group_chosen(query: CallbackQuery, callback_data: ReportCb, state: FSMContext) -> None:
    chosen = group_choice(await _secret(state), callback_data.value)
    if not isinstance(query.message, Message) or chosen is None:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await _put_secret(state, group_id=chosen, candidates=[])
    await _show(query.message, state, "notice")


# -- the steps --------------------------------------------------------------------------------
async def _show(message: Message, state: FSMContext, step: str,
                session: AsyncSession | None = None) -> None:
    """Send the prompt of a step and enter its state."""
    await state.set_state(STEP_STATES[step])
    if step == "summary":
        draft = await _draft(state)
        group = await session.get(WorkingGroup, draft.group_id) \
            if session is not None and draft.group_id else None
        await _say(message, state, summary_text(draft, group, current_locale()),
                   _kb([_btn(_("Send the report"), "submit")], nav()))
        return
    await _say(message, state, *step_prompt(step))


async def _next(query: CallbackQuery, state: FSMContext, step: str,
                session: AsyncSession | None = None) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await unread(query.message.edit_reply_markup(reply_markup=None))
        await _show(query.message, state, step, session)


@router.callback_query(ReportCb.filter(F.action == "go"), ReportForm.notice)
async def notice_read(query: CallbackQuery, state: FSMContext) -> None:
    await _next(query, state, "category")


@router.callback_query(ReportCb.filter(F.action == "cat"), ReportForm.category)
async def category_chosen(query: CallbackQuery, callback_data: ReportCb,
                          state: FSMContext) -> None:
    if callback_data.value not in CATEGORY_LABELS:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await _put_secret(state, category=callback_data.value)
    await _next(query, state, "danger")


@router.callback_query(ReportCb.filter(F.action == "danger"), ReportForm.danger)
async def danger_chosen(query: CallbackQuery, callback_data: ReportCb, state: FSMContext,
                        session: AsyncSession) -> None:
    if callback_data.value not in ("yes", "no") or not isinstance(query.message, Message):
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    urgent = callback_data.value == "yes"
    await _put_secret(state, urgent=urgent)
    if urgent:
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)
        await _say(query.message, state, await _emergency_text(session, state))
        await _show(query.message, state, "where")
        return
    await _next(query, state, "where")


async def _emergency_text(session: AsyncSession, state: FSMContext) -> str:
    return emergency_text(await emergency_contacts(session, emergency_groups(await _draft(state))))


async def _save_line(message: Message, state: FSMContext, field: str, limit: int,
                     next_step: str) -> None:
    """Keep one line of the draft (encrypted), then go on to `next_step`."""
    await _track(state, message.message_id)
    try:
        await _put_secret(state, **{field: clean_line(message.text, limit, field)})
    except ReportError as err:
        await _say(message, state, report_error_text(err.code, **err.params))
        return
    await _show(message, state, next_step)


@router.message(ReportForm.where, F.chat.type == "private", F.text, ~F.text.startswith("/"))
async def where_sent(message: Message, state: FSMContext) -> None:
    await _save_line(message, state, "where", WHERE_MAX, "when")


@router.message(ReportForm.when, F.chat.type == "private", F.text, ~F.text.startswith("/"))
async def when_sent(message: Message, state: FSMContext) -> None:
    await _save_line(message, state, "when", WHEN_MAX, "what")


@router.message(StateFilter(ReportForm.where, ReportForm.when), F.chat.type == "private",
                F.voice | F.photo)
async def where_or_when_recorded(message: Message, state: FSMContext) -> None:
    """A voice note or a photo answers "where" or "when" too: it joins the report's
    attachments, and the line points to it (as the case view numbers them)."""
    await _track(state, message.message_id)
    field = "where" if await state.get_state() == ReportForm.where.state else "when"
    kind, value = ("voice", message.voice.file_id) if message.voice is not None else (
        "photo", message.photo[-1].file_id if message.photo else "")
    parts = (await _secret(state)).get("parts", [])
    try:
        parts = add_part(parts, kind, value)
    except ReportError as err:
        await _say(message, state, report_error_text(err.code, **err.params))
        return
    number = sum(1 for p in parts if p.get("kind") in ("photo", "voice"))
    mark = "🎤" if kind == "voice" else "📷"
    await _put_secret(state, parts=parts, **{field: f"{mark} #{number}"})
    await _show(message, state, "what" if field == "when" else "when")


@router.callback_query(ReportCb.filter(F.action == "when"), ReportForm.when)
async def when_chosen(query: CallbackQuery, callback_data: ReportCb, state: FSMContext) -> None:
    today = datetime.now(UTC).date()
    choices = {
        "today": _day(today, current_locale()),
        "yesterday": _day(today - timedelta(days=1), current_locale()),
        "unknown": _("not remembered"),
    }
    if callback_data.value not in choices:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    try:
        await _put_secret(state, when=choices[callback_data.value])
    except ReportError:
        await query.answer(unavailable_text()[:200], show_alert=True)
        return
    await _next(query, state, "what")


@router.message(ReportForm.what, F.chat.type == "private", ~F.text.startswith("/"))
async def what_sent(message: Message, state: FSMContext) -> None:
    await _collect(message, state, "done")


@router.callback_query(ReportCb.filter(F.action == "done"), ReportForm.what)
async def what_done(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    if not (await _secret(state)).get("parts"):
        await query.answer(_("Tell me first what happened: send a message, a voice note or a "
                             "photo."), show_alert=True)
        return
    await _next(query, state, "summary", session)


@router.callback_query(ReportCb.filter(F.action == "back"), StateFilter(*STEP_STATES.values()))
async def back_pressed(query: CallbackQuery, state: FSMContext) -> None:
    current = await state.get_state()
    step = next((s for s, st in STEP_STATES.items() if st.state == current), None)
    await _next(query, state, previous_step(
        step if isinstance(query.message, Message) else None))


async def _stopped_text(state: FSMContext) -> str:
    """What stopping says: a draft is dropped, but stopping while looking up a report sent
    earlier (/status) leaves that report as it was."""
    if (await state.get_state() or "").startswith(StatusForm.__name__):
        return _("Stopped. Your report is kept as it was and nothing was added to it; I "
                 "deleted our messages about it.")
    return _("Stopped. Nothing was kept, and I deleted our messages about it. You can start "
             "again with /report.")


@router.callback_query(ReportCb.filter(F.action == "cancel"),
                       StateFilter(ReportForm, StatusForm))
async def cancel_pressed(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        text = await _stopped_text(state)
        await _wipe(bot, query.message.chat.id, state)
        await state.clear()
        await query.message.answer(text)


@router.message(Command("cancel"), StateFilter(ReportForm, StatusForm))
async def cancel_command(message: Message, state: FSMContext, bot: Bot) -> None:
    text = await _stopped_text(state)
    await _track(state, message.message_id)
    await _wipe(bot, message.chat.id, state)
    await state.clear()
    await message.answer(text)


# -- submitting -----------------------------------------------------------------------------------
@router.callback_query(ReportCb.filter(F.action == "submit"), ReportForm.summary)
async def submit_pressed(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings,
    report_counters: Counters,
) -> None:
    message = query.message
    cipher = load_cipher(settings)
    if not isinstance(message, Message) or cipher is None:
        await query.answer(unavailable_text()[:200], show_alert=True)
        return
    draft = await _draft(state)
    receipt, now = new_receipt(), datetime.now(UTC)
    try:
        check_draft(draft)
        await take_report_quota(report_counters, query.from_user.id, now)  # not in the database
        await submit(session, cipher, draft, now, receipt)
    except ReportError as err:
        await query.answer()
        await message.answer(report_error_text(err.code, **err.params))
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    first = min((await _secret(state)).get("messages") or [message.message_id])
    await state.clear()  # nothing of the report stays under the reporter's key
    # The button carries what deleting needs: the first message of the report (the receipt is
    # the last) and the language, so nothing has to be kept for it.
    await message.answer(receipt_text(receipt), reply_markup=_kb(
        [_btn(_("Delete the report from this chat"), "wipe", f"{draft.language}.{first}")]))


@router.callback_query(ReportCb.filter(F.action == "wipe"))
async def wipe_pressed(query: CallbackQuery, callback_data: ReportCb, state: FSMContext,
                       bot: Bot, i18n: CatalogI18n) -> None:
    message = query.message
    language, _sep, first = callback_data.value.partition(".")
    if not isinstance(message, Message) or message.chat.type != "private" or (
            not first.isdecimal() or not 0 < message.message_id - int(first) <= WIPE_MAX):
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.answer()
    deleted = await wipe_range(bot, message.chat.id, int(first), message.message_id)
    await state.clear()
    with i18n.use_locale(language if language in LANGUAGES else current_locale()):
        await message.answer(_("Done: I deleted {count} messages of the report from this chat. "
                               "To leave no trace at all, delete the whole chat too."
                               ).format(count=deleted))


@router.message(StateFilter(ReportForm, StatusForm), F.chat.type == "private",
                ~F.text.startswith("/"))
async def unexpected_in_flow(message: Message, state: FSMContext) -> None:
    await _track(state, message.message_id)
    await _say(message, state, _("Please answer as asked above, with a button or in text, "
                                 "or press Stop."))
