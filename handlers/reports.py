"""Anonymous concern reports, the reporter's side: /report (the flow) and /status CODE.

Reports are only taken in a private chat. Nothing identifying the reporter reaches the report
tables; the conversation state (language, draft, ids of the messages to delete) lives in the FSM
storage only until the report is filed, and the person row the context middleware keeps for a
user who only uses these commands is dropped again after each update.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from babel.dates import format_date
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import LANGUAGES, Settings
from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape, fill
from bot.i18n import LANGUAGE_NAMES, N_, CatalogI18n, _, current_locale, translate
from bot.services.groups import get_group_by_code, groups_of
from bot.services.report_crypto import (
    ReportCipher,
    ReportKeyError,
    ReportUnreadable,
    format_receipt,
    get_cipher,
    new_receipt,
    parse_receipt,
)
from bot.services.reports import (
    KIND_REPLY,
    WHEN_MAX,
    WHERE_MAX,
    Draft,
    ReportError,
    add_part,
    add_reporter_info,
    case_by_receipt,
    check_draft,
    check_report_allowed,
    clean_line,
    emergency_contacts,
    history,
    read_body,
    set_reply_notifications,
    submit,
    take_report_quota,
)
from bot.telegram_text import split_html
from handlers.common import RouterTemplate, private_link_keyboard
from storage.database import Database
from storage.models import OutboxMessage, Person, WorkingGroup
from storage.report_tables import ReportCase

log = logging.getLogger(__name__)

CATEGORY_LABELS = {
    "public_security": N_("Conduct of public security forces"),
    "private_security": N_("Conduct of private security"),
    "land": N_("Land or resettlement"),
    "compensation": N_("Compensation"),
    "employment": N_("Employment"),
    "environment": N_("Environment"),
    "harassment": N_("Harassment or gender-based violence"),
    "other": N_("Other"),
}
STATUS_LABELS = {
    "received": N_("Received"),
    "acknowledged": N_("Acknowledged"),
    "under_review": N_("Under review"),
    "referred": N_("Referred"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
STEPS = ("notice", "category", "danger", "where", "when", "what", "summary")


def category_label(category: str, locale: str) -> str:
    msgid = CATEGORY_LABELS.get(category)
    return translate(msgid, locale) if msgid else escape(category)


def status_label(status: str, locale: str) -> str:
    msgid = STATUS_LABELS.get(status)
    return translate(msgid, locale) if msgid else escape(status)


class ReportCb(CallbackData, prefix="rp"):
    action: str
    value: str = ""


class ReportForm(StatesGroup):
    language = State()
    group = State()
    notice = State()
    category = State()
    danger = State()
    where = State()
    when = State()
    what = State()
    summary = State()


class StatusForm(StatesGroup):
    viewing = State()
    adding = State()


STEP_STATES = {
    "notice": ReportForm.notice, "category": ReportForm.category, "danger": ReportForm.danger,
    "where": ReportForm.where, "when": ReportForm.when, "what": ReportForm.what,
    "summary": ReportForm.summary,
}


# The cipher of the update being handled, for the draft kept in the conversation state: what a
# reporter has written sits there encrypted until it is filed (the FSM storage may be Redis).
_cipher: ContextVar[ReportCipher | None] = ContextVar("report_cipher", default=None)


def _quiet_cipher(settings: Settings) -> ReportCipher | None:
    try:
        return get_cipher(settings.data_dir)
    except ReportKeyError:
        return None


async def _secret(state: FSMContext) -> dict:
    """The encrypted part of the draft: place, time and what happened."""
    sealed, cipher = (await state.get_data()).get("secret"), _cipher.get()
    if not sealed or cipher is None:
        return {}
    try:
        value = cipher.decrypt(base64.b64decode(sealed), "draft")
    except (ReportUnreadable, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


async def _put_secret(state: FSMContext, **fields: object) -> None:
    cipher = _cipher.get()
    if cipher is None:
        raise ReportError("unavailable")
    merged = {**await _secret(state), **fields}
    sealed = base64.b64encode(cipher.encrypt(merged, "draft")).decode("ascii")
    await state.update_data(secret=sealed)


class _ReporterContext(BaseMiddleware):
    """Speaks the language chosen for the report. (Someone who only reports leaves no person
    row: the context middleware does not store unknown users of private chats.)"""

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject, data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        language = (await state.get_data()).get("language") if state is not None else None
        settings: Settings | None = data.get("settings")
        token = _cipher.set(None if settings is None else _quiet_cipher(settings))
        try:
            if language in LANGUAGES:
                data["locale"] = language
                with data["i18n"].use_locale(language):
                    result = await handler(event, data)
            else:
                result = await handler(event, data)
        finally:
            _cipher.reset(token)
        return result


class ReporterRouter(RouterTemplate):
    def build(self) -> Router:
        router = super().build()
        router.message.middleware(_ReporterContext())
        router.callback_query.middleware(_ReporterContext())
        return router


router = ReporterRouter("reports")


# -- small helpers -------------------------------------------------------------------------------
def _btn(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=ReportCb(action=action,
                                                                  value=value).pack())


def _nav(back: bool = True) -> list[InlineKeyboardButton]:
    row = [_btn(_("Back"), "back")] if back else []
    return [*row, _btn(_("Stop"), "cancel")]


def _kb(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


async def _track(state: FSMContext, *message_ids: int) -> None:
    data = await state.get_data()
    await state.update_data(messages=[*data.get("messages", []), *message_ids])


async def _say(target: Message, state: FSMContext, text: str,
               keyboard: InlineKeyboardMarkup | None = None) -> Message:
    sent = await target.answer(text, reply_markup=keyboard)
    await _track(state, sent.message_id)
    return sent


def _user_id(message: Message) -> int:
    return message.from_user.id if message.from_user is not None else message.chat.id


def unavailable_text() -> str:
    return _("Reports cannot be taken or read right now: the bot's report key is missing or "
             "invalid. Please tell the secretariat; nothing you wrote has been kept.")


def load_cipher(settings: Settings) -> ReportCipher | None:
    try:
        return get_cipher(settings.data_dir)
    except ReportKeyError as exc:
        log.error("concern reports unavailable: %s", exc)
        return None


def report_error_text(code: str, **params: object) -> str:
    texts = {
        "where_empty": _("Please write where it happened, as text."),
        "where_long": _("That is too long: at most {max} characters."),
        "when_empty": _("Please write when it happened, as text."),
        "when_long": _("That is too long: at most {max} characters."),
        "part_kind": _("Send text, voice notes or photos."),
        "parts_many": _("That is the most a report can hold ({max} messages). Press Done."),
        "text_long": _("That message is too long: at most {max} characters. Split it in "
                       "several messages."),
        "incomplete": _("Some answers are missing. Start again with /report."),
        "too_many_reports": _("You have sent {max} reports today, the most allowed in a day. "
                              "Please try again tomorrow. If someone is in danger, call the "
                              "emergency services now."),
        "too_many_codes": _("Too many wrong codes. For your protection, try again in an hour."),
        "wrong_code": _("No report has this code. Check the 16 digits and try again."),
        "unavailable": unavailable_text(),
        "key_changed": _("I cannot check this code now: the bot's report key has changed. "
                         "Please tell the secretariat."),
    }
    return fill(texts.get(code, _("That did not work.")), **params)


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
    command: CommandObject, person: Person | None,
) -> None:
    await state.clear()
    await _track(state, message.message_id)
    cipher = load_cipher(settings)
    if cipher is None:
        await message.answer(unavailable_text())
        return
    try:
        await check_report_allowed(session, cipher, _user_id(message), datetime.now(UTC))
    except ReportError as err:
        await message.answer(report_error_text(err.code, **err.params))
        return
    # Only the deep link carries a group code; words after /report are never used.
    link = command.args or "" if command.command == "start" else ""
    code = link.removeprefix("report").removeprefix("_")
    if code:
        group = await get_group_by_code(session, code[:16])
        if group is None:
            await state.clear()
            await message.answer(_("This report link is not valid. Ask your working group for "
                                   "its report link."))
            return
        await state.update_data(group_id=group.id)
    elif person is not None:
        candidates = [g.id for g, _m in await groups_of(session, person)]
        await state.update_data(candidates=candidates)
    await state.set_state(ReportForm.language)
    rows = [[_btn(LANGUAGE_NAMES[c], "lang", c)] for c in ("sw", "fr", "ln", "en", "es")]
    await _say(message, state, _("Choose the language of your report:"),
               _kb(*rows, [_btn(_("Stop"), "cancel")]))


@router.callback_query(ReportCb.filter(F.action == "lang"), ReportForm.language)
async def language_chosen(
    query: CallbackQuery, callback_data: ReportCb, state: FSMContext, session: AsyncSession,
    i18n: CatalogI18n,
) -> None:
    if callback_data.value not in LANGUAGES or not isinstance(query.message, Message):
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.answer()
    await state.update_data(language=callback_data.value)
    with i18n.use_locale(callback_data.value):
        await query.message.edit_reply_markup(reply_markup=None)
        data = await state.get_data()
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
            await state.update_data(group_id=candidates[0], candidates=[])
        await _show(query.message, state, "notice")


async def _ask_group(message: Message, state: FSMContext, session: AsyncSession,
                     candidates: list[int]) -> None:
    await state.set_state(ReportForm.group)
    rows = []
    for group_id in candidates:
        group = await session.get(WorkingGroup, group_id)
        if group is not None:
            rows.append([_btn(group.name, "group", str(group.id))])
    rows.append([_btn(_("I don't know which"), "group", "any")])
    await _say(message, state, _("Which working group is your report for? If you don't know, "
                                 "the secretariats of your groups will all be able to read it."),
               _kb(*rows, [_btn(_("Stop"), "cancel")]))


@router.callback_query(ReportCb.filter(F.action == "group"), ReportForm.group)
async def group_chosen(query: CallbackQuery, callback_data: ReportCb, state: FSMContext) -> None:
    candidates = (await state.get_data()).get("candidates") or []
    value = callback_data.value
    if not isinstance(query.message, Message) or (
            value != "any" and (not value.isdecimal() or int(value) not in candidates)):
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if value != "any":
        await state.update_data(group_id=int(value), candidates=[])
    await _show(query.message, state, "notice")


# -- the steps --------------------------------------------------------------------------------
def _notice_text() -> str:
    return "\n\n".join([
        _("<b>Before you start: your safety</b>"),
        _("What is kept: what you write, the place and time, voice notes and photos, all "
          "encrypted; the category; the day you report (not the hour)."),
        _("What is not kept: your name, your Telegram account, your username or your phone "
          "number. The secretariat never learns who you are."),
        _("At the end you get a receipt code. With it, and only with it, you can follow your "
          "report. I can then delete the messages of this report from this chat; you can also "
          "delete the whole chat (in Telegram: open the chat menu, then Delete chat)."),
        _("If someone is in danger now, call the emergency services or a person you trust first. "
          "I will show you the emergency contacts of your working group."),
    ])


async def _show(message: Message, state: FSMContext, step: str) -> None:
    """Send the prompt of a step and enter its state."""
    await state.set_state(STEP_STATES[step])
    if step == "notice":
        await _say(message, state, _notice_text(),
                   _kb([_btn(_("Continue"), "go")], _nav(back=False)))
    elif step == "category":
        rows = [[_btn(translate(label, _current()), "cat", key)]
                for key, label in CATEGORY_LABELS.items()]
        await _say(message, state, _("What is your concern about?"), _kb(*rows, _nav()))
    elif step == "danger":
        await _say(message, state, _("Is someone injured or in danger now?"),
                   _kb([_btn(_("Yes"), "danger", "yes"), _btn(_("No"), "danger", "no")],
                       _nav()))
    elif step == "where":
        await _say(message, state, _("Where did it happen? Write the place (village, site, "
                                     "road...)."), _kb(_nav()))
    elif step == "when":
        await _say(message, state, _("When did it happen? Write the date or time, or choose:"),
                   _kb([_btn(_("Today"), "when", "today"),
                        _btn(_("Yesterday"), "when", "yesterday")],
                       [_btn(_("I don't remember"), "when", "unknown")], _nav()))
    elif step == "what":
        await _say(message, state, _(
            "What happened? Send text messages, voice notes or photos, as many as you need. "
            "Press Done when you have finished. Do not send files: they can carry hidden "
            "details such as the place they were made."),
            _kb([_btn(_("Done"), "done")], _nav()))
    else:
        await _show_summary(message, state)


def _current() -> str:
    return current_locale()


async def _draft(state: FSMContext) -> Draft:
    data = await state.get_data()
    return Draft.from_dict({**data, **await _secret(state),
                            "language": data.get("language", "en")})


async def _show_summary(message: Message, state: FSMContext) -> None:
    draft = await _draft(state)
    locale = _current()
    texts = [p["value"] for p in draft.parts if p["kind"] == "text"]
    preview = " ".join(texts)
    if len(preview) > 300:
        preview = preview[:300] + "..."
    lines = [
        _("<b>Your report</b>"),
        _("About: {category}").format(category=category_label(draft.category or "", locale)),
        _("Someone injured or in danger: {answer}").format(
            answer=_("yes") if draft.urgent else _("no")),
        _("Where: {place}").format(place=escape(draft.where or "")),
        _("When: {time}").format(time=escape(draft.when or "")),
        _("Messages: {texts}, voice notes: {voices}, photos: {photos}").format(
            texts=len(texts), voices=sum(p["kind"] == "voice" for p in draft.parts),
            photos=sum(p["kind"] == "photo" for p in draft.parts)),
    ]
    if preview:
        lines += ["", f"<i>{escape(preview)}</i>"]
    lines += ["", _("Send it to the secretariat?")]
    await _say(message, state, "\n".join(lines),
               _kb([_btn(_("Send the report"), "submit")], _nav()))


async def _next(query: CallbackQuery, state: FSMContext, step: str) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await _show(query.message, state, step)


@router.callback_query(ReportCb.filter(F.action == "go"), ReportForm.notice)
async def notice_read(query: CallbackQuery, state: FSMContext) -> None:
    await _next(query, state, "category")


@router.callback_query(ReportCb.filter(F.action == "cat"), ReportForm.category)
async def category_chosen(query: CallbackQuery, callback_data: ReportCb,
                          state: FSMContext) -> None:
    if callback_data.value not in CATEGORY_LABELS:
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await state.update_data(category=callback_data.value)
    await _next(query, state, "danger")


@router.callback_query(ReportCb.filter(F.action == "danger"), ReportForm.danger)
async def danger_chosen(query: CallbackQuery, callback_data: ReportCb, state: FSMContext,
                        session: AsyncSession) -> None:
    if callback_data.value not in ("yes", "no") or not isinstance(query.message, Message):
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    urgent = callback_data.value == "yes"
    await state.update_data(urgent=urgent)
    if urgent:
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)
        await _say(query.message, state, await _emergency_text(session, state))
        await _show(query.message, state, "where")
        return
    await _next(query, state, "where")


async def _emergency_text(session: AsyncSession, state: FSMContext) -> str:
    draft = await _draft(state)
    groups = [draft.group_id] if draft.group_id is not None else draft.candidates
    contacts = await emergency_contacts(session, groups)
    lines = [_("<b>If someone is in danger now, get help first.</b>")]
    if contacts:
        lines.append(_("Emergency contacts of your working group:"))
        lines += [f"{escape(g.name)}: {escape(text)}" for g, text in contacts]
    else:
        lines.append(_("Your working group has not given emergency contacts. Call the local "
                       "emergency services or someone you trust."))
    lines.append(_("Your report will be marked urgent: the secretariat is told at once when "
                   "you send it."))
    return "\n".join(lines)


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


@router.callback_query(ReportCb.filter(F.action == "when"), ReportForm.when)
async def when_chosen(query: CallbackQuery, callback_data: ReportCb, state: FSMContext) -> None:
    today = datetime.now(UTC).date()
    choices = {
        "today": _day(today, _current()),
        "yesterday": _day(today - timedelta(days=1), _current()),
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


def _part_of(message: Message) -> tuple[str, str] | None:
    if message.text and not message.text.startswith("/"):
        return "text", message.text
    if message.voice is not None:
        return "voice", message.voice.file_id
    if message.photo:
        return "photo", message.photo[-1].file_id
    return None


async def _collect(message: Message, state: FSMContext, done_action: str) -> None:
    await _track(state, message.message_id)
    if message.document is not None:
        await _say(message, state, _(
            "I do not accept files: they keep hidden details such as where and when they were "
            "made, which could identify you. Send photos as photos (not as files), or describe "
            "it in text."))
        return
    part = _part_of(message)
    if part is None:
        await _say(message, state, report_error_text("part_kind"))
        return
    parts = (await _secret(state)).get("parts", [])
    try:
        parts = add_part(parts, *part)
        await _put_secret(state, parts=parts)
    except ReportError as err:
        await _say(message, state, report_error_text(err.code, **err.params))
        return
    await _say(message, state, _("Received ({count}). Send more, or press Done.").format(
        count=len(parts)), _kb([_btn(_("Done"), done_action)]))


@router.message(ReportForm.what, F.chat.type == "private", ~F.text.startswith("/"))
async def what_sent(message: Message, state: FSMContext) -> None:
    await _collect(message, state, "done")


@router.callback_query(ReportCb.filter(F.action == "done"), ReportForm.what)
async def what_done(query: CallbackQuery, state: FSMContext) -> None:
    if not (await _secret(state)).get("parts"):
        await query.answer(_("Tell me first what happened: send a message, a voice note or a "
                             "photo."), show_alert=True)
        return
    await _next(query, state, "summary")


@router.callback_query(ReportCb.filter(F.action == "back"), StateFilter(*STEP_STATES.values()))
async def back_pressed(query: CallbackQuery, state: FSMContext) -> None:
    current = await state.get_state()
    step = next((s for s, st in STEP_STATES.items() if st.state == current), None)
    if step is None or step in ("notice", "category") or not isinstance(query.message, Message):
        previous = "notice"
    else:
        previous = STEPS[STEPS.index(step) - 1]
    await _next(query, state, previous)


@router.callback_query(ReportCb.filter(F.action == "cancel"),
                       StateFilter(ReportForm, StatusForm))
async def cancel_pressed(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _wipe(bot, query.message.chat.id, state)
        await state.clear()
        await query.message.answer(_("Stopped. Nothing was kept, and I deleted our messages "
                                     "about it. You can start again with /report."))


@router.callback_query(ReportCb.filter(F.action == "close"), StateFilter(StatusForm))
async def close_pressed(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _wipe(bot, query.message.chat.id, state)
        await state.clear()
        await query.message.answer(_("Closed. Your report is kept; I deleted our messages "
                                     "about it from this chat."))


@router.message(Command("cancel"), StateFilter(ReportForm, StatusForm))
async def cancel_command(message: Message, state: FSMContext, bot: Bot) -> None:
    await _track(state, message.message_id)
    await _wipe(bot, message.chat.id, state)
    await state.clear()
    await message.answer(_("Stopped. Nothing was kept, and I deleted our messages about it. "
                           "You can start again with /report."))


async def _wipe(bot: Bot, chat_id: int, state: FSMContext) -> int:
    deleted = 0
    for message_id in (await state.get_data()).get("messages", []):
        try:
            if await bot.delete_message(chat_id, message_id):
                deleted += 1
        except TelegramAPIError:
            continue
    await state.update_data(messages=[])
    return deleted


# -- submitting -----------------------------------------------------------------------------------
@router.callback_query(ReportCb.filter(F.action == "submit"), ReportForm.summary)
async def submit_pressed(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings,
    database: Database,
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
        if database.is_sqlite:  # one writer at a time: this update's transaction holds it
            await take_report_quota(session, cipher, query.from_user.id, now)
        else:  # a transaction of its own, see take_report_quota
            async with database.session() as quota:
                await take_report_quota(quota, cipher, query.from_user.id, now)
        await submit(session, cipher, draft, now, receipt)
    except ReportError as err:
        await query.answer()
        await message.answer(report_error_text(err.code, **err.params))
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    messages = (await state.get_data()).get("messages", [])
    await state.clear()
    text = "\n\n".join([
        _("Your report was sent. Thank you for your trust."),
        _("Your receipt code (shown only this once):"),
        f"<code>{format_receipt(receipt)}</code>",
        _("Write it down and keep it safe, away from this phone if you can. With /status and "
          "this code you can see what happens, read the secretariat's answers and add "
          "information. Without it nobody, not even the secretariat, can link the report to "
          "you."),
        _("Press the button to delete the messages of this report from this chat, this one "
          "included: write the code down first."),
    ])
    sent = await message.answer(text, reply_markup=_kb(
        [_btn(_("Delete the report from this chat"), "wipe")]))
    await state.update_data(messages=[*messages, sent.message_id], language=draft.language)


@router.callback_query(ReportCb.filter(F.action == "wipe"))
async def wipe_pressed(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    if not isinstance(query.message, Message) or query.message.chat.type != "private":
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return
    await _track(state, query.message.message_id)
    deleted = await _wipe(bot, query.message.chat.id, state)
    await state.clear()
    await query.answer()
    await query.message.answer(_("Done: I deleted {count} messages of the report from this "
                                 "chat. To leave no trace at all, delete the whole chat too."
                                 ).format(count=deleted))


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
    settings: Settings,
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
        case = await case_by_receipt(session, cipher, receipt, _user_id(message),
                                     datetime.now(UTC))
    except ReportError as err:
        await message.answer(report_error_text(err.code, **err.params))
        return
    await state.set_state(StatusForm.viewing)
    await state.update_data(language=case.language)
    await _put_secret(state, case=case.id)  # even the case number is kept encrypted
    await _show_status(message, state, session, cipher, case, case.language)


async def status_card(
    session: AsyncSession, cipher: ReportCipher, case: ReportCase, locale: str,
) -> str:
    lines = [
        translate("<b>Your report</b>", locale),
        translate("About: {category}", locale, category=category_label(case.category, locale)),
        translate("Sent on: {day}", locale, day=_day(case.submitted_on, locale)),
        translate("Status: {status}", locale, status=status_label(case.status, locale)),
        "", translate("<b>What happened since</b>", locale),
    ]
    for event, _actor in await history(session, case):
        day = _day(event.on_day, locale)
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
    return "\n".join(lines)


def _day(day: date, locale: str) -> str:
    return format_date(day, "medium", locale=locale)


async def _show_status(message: Message, state: FSMContext, session: AsyncSession,
                       cipher: ReportCipher, case: ReportCase, locale: str) -> None:
    notify = _("Stop reply notifications") if case.notify_to is not None \
        else _("Tell me when there is an answer")
    keyboard = _kb([_btn(_("Add information"), "add")],
                   [_btn(notify, "notify")],
                   [_btn(_("Close and delete from this chat"), "close")])
    chunks = split_html(await status_card(session, cipher, case, locale))
    for index, chunk in enumerate(chunks):
        await _say(message, state, chunk, keyboard if index == len(chunks) - 1 else None)


async def _status_case(state: FSMContext, session: AsyncSession) -> ReportCase | None:
    case_id = (await _secret(state)).get("case")
    return await session.get(ReportCase, case_id) if isinstance(case_id, int) else None


@router.callback_query(ReportCb.filter(F.action == "add"), StatusForm.viewing)
async def add_pressed(query: CallbackQuery, state: FSMContext) -> None:
    if _cipher.get() is None or not isinstance(query.message, Message):
        await query.answer(unavailable_text()[:200], show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await state.set_state(StatusForm.adding)
        await _put_secret(state, parts=[])
        await _say(query.message, state, _(
            "Send what you want to add: text messages, voice notes or photos. Press Done when "
            "you have finished."), _kb([_btn(_("Done"), "added")], _nav(back=False)))


@router.message(StatusForm.adding, F.chat.type == "private", ~F.text.startswith("/"))
async def adding_sent(message: Message, state: FSMContext) -> None:
    await _collect(message, state, "added")


@router.callback_query(ReportCb.filter(F.action == "added"), StatusForm.adding)
async def added_done(query: CallbackQuery, state: FSMContext, session: AsyncSession,
                     settings: Settings) -> None:
    parts = (await _secret(state)).get("parts", [])
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
    await _put_secret(state, parts=[])
    await _say(query.message, state, _("Added to your report. The secretariat will be told that "
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
        await _say(query.message, state, _("Done: I no longer keep anything to notify you. "
                                           "Check for answers with /status and your code."))
        return
    await _say(query.message, state, "\n\n".join([
        _("<b>Before you choose: what a notification costs</b>"),
        _("To write to you when there is an answer, I must keep your Telegram account number "
          "with this report, encrypted. Whoever held both the database and the bot's report "
          "key could then find out who you are, and your phone will show a message from me."),
        _("Without notifications nothing links the report to you: check for answers yourself "
          "with /status and your code."),
    ]), _kb([_btn(_("Yes, notify me"), "notify_yes")], [_btn(_("No, I will check"), "notify_no")]))


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
    await _say(query.message, state, text)


# -- the reporter's notification, delivered through the outbox ----------------------------------
@renderer(KIND_REPLY)
async def render_reply(session: AsyncSession, row: OutboxMessage, now: datetime
                       ) -> Rendered | None:
    language = row.payload.get("language")
    locale = language if language in LANGUAGES else "en"
    return Rendered(translate(
        "There is a new answer to a report. Send /status with your receipt code to read it.",
        locale))


@router.message(StateFilter(ReportForm, StatusForm), F.chat.type == "private",
                ~F.text.startswith("/"))
async def unexpected_in_flow(message: Message, state: FSMContext) -> None:
    await _track(state, message.message_id)
    await _say(message, state, _("Please answer as asked above, with a button or in text, "
                                 "or press Stop."))
