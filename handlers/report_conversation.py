"""The conversation state shared by /report and /status: their states, the draft's cipher for
the update being handled, the reporter's language, and the messages to delete at the end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardMarkup, Message, TelegramObject

from bot.config import LANGUAGES, Settings
from bot.i18n import _
from bot.services.report_crypto import ReportCipher, ReportKeyError, get_cipher
from bot.services.report_drafts import STEPS, draft_of, open_secret, seal_secret, tracked
from bot.services.reports import Draft, ReportError, add_part
from handlers.common import RouterTemplate
from handlers.report_texts import btn, kb, report_error_text


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
assert tuple(STEP_STATES) == STEPS


# The cipher of the update being handled, for the draft kept in the conversation state: what a
# reporter has written sits there encrypted until it is filed (the FSM storage may be Redis).
_cipher: ContextVar[ReportCipher | None] = ContextVar("report_cipher", default=None)


def _quiet_cipher(settings: Settings) -> ReportCipher | None:
    try:
        return get_cipher(settings.data_dir)
    except ReportKeyError:
        return None


async def read_secret(state: FSMContext) -> dict:
    """The encrypted part of the draft: place, time and what happened."""
    return open_secret(await state.get_data(), _cipher.get())


async def put_secret(state: FSMContext, **fields: object) -> None:
    await state.update_data(seal_secret(await state.get_data(), _cipher.get(), **fields))


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


# -- small helpers -------------------------------------------------------------------------------
async def track(state: FSMContext, *message_ids: int) -> None:
    await state.update_data(messages=tracked(await state.get_data(), *message_ids))


async def say(target: Message, state: FSMContext, text: str,
               keyboard: InlineKeyboardMarkup | None = None) -> Message:
    sent = await target.answer(text, reply_markup=keyboard)
    await track(state, sent.message_id)
    return sent


def user_id_of(message: Message) -> int:
    return message.from_user.id if message.from_user is not None else message.chat.id


async def read_draft(state: FSMContext) -> Draft:
    return draft_of(await state.get_data(), _cipher.get())


def part_of(message: Message) -> tuple[str, str] | None:
    if message.text and not message.text.startswith("/"):
        return "text", message.text
    if message.voice is not None:
        return "voice", message.voice.file_id
    if message.photo:
        return "photo", message.photo[-1].file_id
    return None


async def collect(message: Message, state: FSMContext, done_action: str) -> None:
    await track(state, message.message_id)
    if message.document is not None:
        await say(message, state, _(
            "I do not accept files: they keep hidden details such as where and when they were "
            "made, which could identify you. Send photos as photos (not as files), or describe "
            "it in text."))
        return
    part = part_of(message)
    if part is None:
        await say(message, state, report_error_text("part_kind"))
        return
    parts = (await read_secret(state)).get("parts", [])
    try:
        parts = add_part(parts, *part)
        await put_secret(state, parts=parts)
    except ReportError as err:
        await say(message, state, report_error_text(err.code, **err.params))
        return
    await say(message, state, _("Received ({count}). Send more, or press Done.").format(
        count=len(parts)), kb([btn(_("Done"), done_action)]))


async def wipe(bot: Bot, chat_id: int, state: FSMContext) -> int:
    deleted = 0
    for message_id in (await state.get_data()).get("messages", []):
        try:
            if await bot.delete_message(chat_id, message_id):
                deleted += 1
        except TelegramAPIError:
            continue
    await state.update_data(messages=[])
    return deleted


def current_cipher() -> ReportCipher | None:
    """The draft's cipher for the update being handled (None when the report key is missing)."""
    return _cipher.get()
