"""Every command, in every kind of chat, from someone the bot has never seen: a real answer
(or deliberate silence), never the apology for an internal error."""

from __future__ import annotations

import logging

import pytest

from bot.local_api import LocalUser
from handlers.commands import COMMANDS

APOLOGY = "Sorry, something went wrong"
ARGUMENTS = ["", " 1", " @nobody secretariat", " tomorrow 10:00 | Meeting | Office",
             " x" * 3000]


def _stranger(n: int) -> LocalUser:
    return LocalUser(id=9000 + n, first_name=f"Stranger {n}", username=f"stranger{n}",
                     language_code="en")


@pytest.mark.parametrize("where", ["private", "unregistered group", "registered group"])
async def test_every_command_from_a_stranger(tg, amani, group_chat, where, caplog):
    caplog.set_level(logging.ERROR)
    if where == "registered group":
        await tg.send(amani, group_chat, "/setup South Kivu")
    for n, command in enumerate(COMMANDS):
        for arguments in ARGUMENTS:
            user = _stranger(n)
            chat = tg.private_chat(user) if where == "private" else group_chat
            await tg.send(user, chat, f"/{command.name}{arguments}")
            said = [m.text or "" for m in tg.api.chat_messages(chat) if m.from_bot]
            assert not any(APOLOGY in text for text in said), (where, command.name, arguments)
    assert "wgbot.errors" not in caplog.text
