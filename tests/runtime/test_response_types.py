"""bot/response_types.py keeps aiogram's response classes alive across garbage collections.

It relies on aiogram parsing each answer with `Response[method.__returning__]` and on pydantic
caching that class weakly: these tests fail when an upgrade of either changes that."""

from __future__ import annotations

import gc
import weakref

from aiogram import Bot
from aiogram.methods import GetMe, SendMessage
from aiogram.methods.base import Response

from bot import response_types
from bot.local_api import LOCAL_TOKEN, LocalBotAPI


async def test_answers_are_parsed_with_the_kept_class():
    api = LocalBotAPI()
    parsed: list[weakref.ref] = []  # no strong reference here
    original = api.check_response

    def spy(*args, **kwargs):
        response = original(*args, **kwargs)
        parsed.append(weakref.ref(type(response)))
        return response

    api.check_response = spy
    response_types.keep_response_types(api)
    response_types.keep_response_types(api)  # installed once
    bot = Bot(LOCAL_TOKEN, session=api)
    await bot.get_me()
    gc.collect()
    await bot.get_me()
    assert [ref() for ref in parsed] == [response_types.kept(GetMe)] * 2, (
        "aiogram no longer parses answers with Response[method.__returning__]: "
        "bot/response_types.py must follow the new aiogram")
    assert sum(isinstance(m, response_types.KeepResponseTypes)
               for m in api.middleware._middlewares) == 1
    await api.close()


def test_pydantic_caches_generic_classes_weakly_and_the_kept_one_survives():
    # The assumption: without a reference, pydantic's class for a generic can be freed.
    probe = weakref.ref(Response[list[int]])
    gc.collect()
    assert probe() is None, ("pydantic now keeps generic classes alive itself: "
                             "bot/response_types.py may no longer be needed")
    kept = response_types.kept(SendMessage)
    gc.collect()
    assert Response[SendMessage.__returning__] is kept

