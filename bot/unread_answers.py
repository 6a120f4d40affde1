"""Bot API answers the bot does not read are not parsed.

aiogram parses every answer into its pydantic model (`BaseSession.check_response`, called by
the session's `make_request`): the message that a reply or an edit returns, with its chat, its
sender and each of its buttons, costs 100-250 us of CPU, more than the rest of the call, and
the handlers mostly never look at it. A caller that does not read the answer says so:

    await unread(message.edit_text(text, reply_markup=keyboard))

(or `sent_message_id(...)` when only the id of the message sent is needed) and the session
(`UnreadAnswers`, a base of every session the bot uses: `BotSession` in
production, `bot.local_api.LocalBotAPI` in the console and the tests) then checks only that the
answer is a success (the HTTP status and `"ok": true`); the call returns None. An answer that is
an error is parsed and raised exactly as before (TelegramBadRequest, TelegramRetryAfter...), so
the callers' error handling is unchanged, and a call not marked gets what it always got.

Only the marked method object itself is spared: the mark is a context variable holding that
object, set while it is awaited, so another call made meanwhile (none is) would still be parsed.

`BaseSession.check_response` is aiogram's public, documented hook for a session to read an
answer; `tests/runtime/test_unread_answers.py` fails loudly when an aiogram upgrade stops
calling it from the sessions used here, or changes what it returns.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response

# The call being made without its answer parsed, and whether its message's id is read.
_unread: ContextVar[tuple[TelegramMethod[Any], bool] | None] = ContextVar(
    "wgbot_unread_answer", default=None)


@cache  # built when first needed (not at start)
def _nothing_read() -> Response[Any]:
    """What a successful call whose answer is not read gives back."""
    return Response[Any](ok=True)


async def unread(method: TelegramMethod[Any]) -> None:
    """Make this Bot API call (a method bound to its bot, as aiogram's shortcuts such as
    `message.answer(...)` return it) without parsing its answer; errors raise as usual."""
    token = _unread.set((method, False))
    try:
        await method
    finally:
        _unread.reset(token)


async def sent_message_id(method: TelegramMethod[Any]) -> int:
    """Send a message (or edit one) and read only the id of the message in the answer."""
    token = _unread.set((method, True))
    try:
        sent = await method
    finally:
        _unread.reset(token)
    return sent if type(sent) is int else sent.message_id  # parsed: an answer of another shape


class UnreadAnswers(BaseSession):
    """A session that does not parse the successful answer of a call made with `unread` (or
    reads only the message's id, with `sent_message_id`)."""

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        marked = _unread.get()
        if marked is not None and marked[0] is method \
                and HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                answer = self.json_loads(content)
            except Exception:  # noqa: BLE001 - aiogram's own parsing reports it below
                answer = None
            if isinstance(answer, dict) and answer.get("ok") is True:
                if not marked[1]:
                    return _nothing_read()
                result = answer.get("result")
                if isinstance(result, dict) and type(result.get("message_id")) is int:
                    return Response[Any].model_construct(ok=True, result=result["message_id"])
        return super().check_response(bot=bot, method=method, status_code=status_code,
                                      content=content)


class BotSession(UnreadAnswers, AiohttpSession):
    """aiogram's HTTP session to Telegram, with `unread` calls left unparsed."""
