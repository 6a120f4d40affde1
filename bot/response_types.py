"""Keep aiogram's response classes alive: without it, pydantic rebuilds them after garbage
collection, 1-2 ms of CPU on a Bot API call instead of about 0.4.

aiogram parses every Bot API answer with `Response[method.__returning__]`
(`BaseSession.check_response`), a parametrised pydantic generic. pydantic caches the classes it
builds for a generic in a `WeakValueDictionary` and aiogram holds no reference to them, so once a
garbage collection frees one, the next answer of that method builds the class again. The request
middleware below builds the class itself for each method it sees (once per method) and holds it:
pydantic's cache entry then stays alive and aiogram finds it there.

This relies on aiogram's and pydantic's internals, checked with the versions pinned in
pyproject.toml; `tests/runtime/test_response_types.py` fails loudly when an upgrade breaks the
assumption (aiogram no longer parsing with the class kept here)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response

_KEPT: dict[type, type] = {}


def kept(method: type[TelegramMethod]) -> type:
    """The response class of a Bot API method, built once and held for the process's life."""
    found = _KEPT.get(method)
    if found is None:
        found = _KEPT[method] = Response[method.__returning__]  # type: ignore[name-defined]
    return found


class KeepResponseTypes(BaseRequestMiddleware):
    async def __call__(self, make_request, bot: Bot, method: TelegramMethod):
        kept(type(method))
        return await make_request(bot, method)


def keep_response_types(session: BaseSession) -> None:
    """Install `KeepResponseTypes` on a Bot API session, once."""
    if not getattr(session, "_wgbot_keep_response_types", False):
        session.middleware(KeepResponseTypes())
        session._wgbot_keep_response_types = True
