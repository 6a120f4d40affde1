"""Calls made with `unread` skip the parsing of their successful answer, on the production
session (aiogram's aiohttp session, against a local HTTP server) and on the local Bot API; errors
raise as before and other calls get what they always got. Fails when an aiogram upgrade stops
calling `check_response` from these sessions or changes what a call returns."""

from __future__ import annotations

import json

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiohttp import web

from bot.app import make_bot
from bot.local_api import LOCAL_TOKEN, LocalBotAPI
from bot.unread_answers import BotSession, sent_message_id, unread

MESSAGE = {"message_id": 7, "date": 1_700_000_000, "chat": {"id": 5, "type": "private"},
           "text": "hello"}


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The methods whose answer aiogram parsed."""
    seen = []
    original = BaseSession.check_response

    def counting(self, bot, method, status_code, content):
        seen.append(method.__api_method__)
        return original(self, bot, method, status_code, content)

    monkeypatch.setattr(BaseSession, "check_response", counting)
    return seen


async def _exercise(bot: Bot, parsed: list[str], chat_id: int, missing_chat: int) -> int:
    assert await unread(SendMessage(chat_id=chat_id, text="hello").as_(bot)) is None
    assert parsed == []
    sent = await bot.send_message(chat_id, "hello")  # read: parsed as always
    assert isinstance(sent, Message) and sent.text == "hello" and sent.chat.id == chat_id
    assert parsed == ["sendMessage"]
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await unread(SendMessage(chat_id=missing_chat, text="hello").as_(bot))
    assert parsed == ["sendMessage", "sendMessage"]  # an error is parsed and raised as before
    message_id = await sent_message_id(SendMessage(chat_id=chat_id, text="hello").as_(bot))
    assert type(message_id) is int and message_id >= sent.message_id
    assert parsed == ["sendMessage", "sendMessage"]  # only the id was read
    return message_id


async def test_the_local_api_skips_the_parsing_of_unread_answers(parsed):
    api = LocalBotAPI()
    api.chats[5] = {"id": 5, "type": "private", "first_name": "A"}
    bot = Bot(LOCAL_TOKEN, session=api)
    last = await _exercise(bot, parsed, 5, 6)
    assert [c.method for c in api.calls] == ["sendMessage"] * 4  # the calls were all made
    assert last == max(n for (_chat, n) in api.messages) == 3  # the last one's id


async def test_the_production_session_skips_the_parsing_of_unread_answers(parsed):
    requests = []

    async def answer(request: web.Request) -> web.Response:
        form = await request.post()
        requests.append(request.match_info["method"])
        if form.get("chat_id") == "6":
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: chat not found"}, status=400)
        if form.get("chat_id") == "9":
            return web.json_response({"ok": False, "error_code": 429, "description": "slow",
                                      "parameters": {"retry_after": 3}}, status=429)
        return web.Response(text=json.dumps({"ok": True, "result": MESSAGE}),
                            content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    bot = make_bot(LOCAL_TOKEN, f"http://127.0.0.1:{port}")
    try:
        assert isinstance(bot.session, BotSession)
        assert await _exercise(bot, parsed, 5, 6) == MESSAGE["message_id"]
        with pytest.raises(TelegramRetryAfter):
            await unread(SendMessage(chat_id=9, text="hello").as_(bot))
        assert requests == ["sendMessage"] * 5
    finally:
        await bot.session.close()
        await runner.cleanup()


def test_the_production_api_address_is_aiograms():
    assert make_bot(LOCAL_TOKEN, None).session.api == TelegramAPIServer.from_base(
        "https://api.telegram.org")
