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
from bot.services.report_crypto import ReportKeyError, get_cipher
from bot.services.report_drafts import (
    STEPS,
    DraftCipher,
    draft_of,
    open_secret,
    seal_secret,
    tracked,
)
from bot.services.reports import Draft, ReportError, add_part
from bot.unread_answers import sent_message_id
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


# The cipher of the update being handled, for the conversation kept in the FSM storage: the
# whole conversation (draft, language, group, messages to delete) is one sealed entry, under the
# dispatcher's conversation key (random, never in the configuration nor on disk).
_cipher: ContextVar[DraftCipher | None] = ContextVar("draft_cipher", default=None)


async def read_secret(state: FSMContext) -> dict:
    """The conversation: everything it keeps is sealed."""
    return open_secret(await state.get_data(), _cipher.get())


async def put_secret(state: FSMContext, **fields: object) -> None:
    await state.set_data(seal_secret(await state.get_data(), _cipher.get(), **fields))


def _report_key_usable(settings: Settings) -> bool:
    try:
        get_cipher(settings.data_dir)
    except ReportKeyError:
        return False
    return True


class _ReporterContext(BaseMiddleware):
    """Speaks the language chosen for the report. (Someone who only reports leaves no person
    row: the context middleware does not store unknown users of private chats.)"""

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject, data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        # Without a usable report key nothing can be filed: keep nothing of a draft either.
        settings: Settings | None = data.get("settings")
        usable = settings is not None and _report_key_usable(settings)
        token = _cipher.set(data.get("draft_cipher") if usable else None)
        language = (await read_secret(state)).get("language") if state is not None else None
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
    if _cipher.get() is not None:  # without it nothing is kept, message ids included
        await put_secret(state, messages=tracked(await read_secret(state), *message_ids))


async def say(target: Message, state: FSMContext, text: str,
              keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Answer, and keep the answer's id among the messages to delete at the end."""
    await track(state, await sent_message_id(target.answer(text, reply_markup=keyboard)))


def user_id_of(message: Message) -> int:
    return message.from_user.id if message.from_user is not None else message.chat.id


async def read_draft(state: FSMContext) -> Draft:
    return draft_of(await read_secret(state))


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
    for message_id in (await read_secret(state)).get("messages", []):
        try:
            if await bot.delete_message(chat_id, message_id):
                deleted += 1
        except TelegramAPIError:
            continue
    if _cipher.get() is not None:
        await put_secret(state, messages=[])
    return deleted


WIPE_MAX = 300  # messages of one report at most, its receipt included


async def wipe_range(bot: Bot, chat_id: int, first: int, last: int) -> int:
    """Delete the messages `first` to `last` of a private chat (a filed report's, whose ids
    are not kept anywhere)."""
    deleted = 0
    for message_id in range(max(first, last - WIPE_MAX), last + 1):
        try:
            if await bot.delete_message(chat_id, message_id):
                deleted += 1
        except TelegramAPIError:
            continue
    return deleted


def current_cipher() -> DraftCipher | None:
    """The conversation's cipher for the update being handled."""
    return _cipher.get()
