"""`wgbot console`: chat with the bot in the terminal, without Telegram.

The same Dispatcher, handlers, database and scheduler as `wgbot run`; the Bot API is played by
bot.local_api. Lines are typed as the current user in the current chat; lines starting with `:`
are console commands (`:help` lists them). Works with piped input: reads to the end, then exits.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import sys
from typing import Any, TextIO
from urllib.parse import parse_qs, urlparse

from bot.app import build_app
from bot.config import LANGUAGES, Settings
from bot.local_api import ApiCall, LocalTelegram, LocalUser, StoredMessage

TAG_RE = re.compile(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>")

CONSOLE_HELP = """Console commands (everything else is sent to the bot as a message):
  :as NAME [LANG]     be another user (created on first use; LANG is Telegram's language code)
  :lang LANG          change the current user's Telegram language code (en, fr, sw, es, ln ...)
  :in private         talk to the bot in your private chat
  :in group NAME      talk in the group chat NAME (created on first use; its first user is admin)
  :admin on|off       make the current user an administrator of the current group, or not
  :press N [MSG]      press button N of the last bot message with buttons (or of message #MSG)
  :N                  short for :press N
  :tick               run the scheduler's jobs now
  :who                who and where you are
  :help               this help
  :quit               leave (end of input does the same)"""


def plain(text: str | None) -> str:
    return html.unescape(TAG_RE.sub("", text or ""))


class Console:
    def __init__(self, local: LocalTelegram, out: TextIO, ticker=None) -> None:
        self.local = local
        self.out = out
        self.ticker = ticker
        self.users: dict[str, LocalUser] = {}
        self.groups: dict[str, int] = {}
        self.user = self._user("Amani", "en")
        self.chat_id = local.private_chat(self.user)
        local.api.listeners.append(self._show)

    # -- output ------------------------------------------------------------------------------
    def write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _chat_label(self, chat_id: int) -> str:
        chat = self.local.api.chats.get(chat_id, {})
        if chat.get("type") == "private":
            return f"private chat with {chat.get('first_name', chat_id)}"
        return f"group {chat.get('title', chat_id)}"

    def _buttons(self, markup: dict[str, Any] | None) -> list[str]:
        lines, number = [], 0
        for row in (markup or {}).get("inline_keyboard", []):
            cells = []
            for button in row:
                number += 1
                cells.append(f"[{number}] {button.get('text', '')}")
            lines.append("  " + "   ".join(cells))
        return lines

    def _show(self, call: ApiCall, answer: dict[str, Any]) -> None:
        if not answer.get("ok"):
            if call.method in {"sendMessage", "editMessageText", "sendDocument"}:
                self.write(f"(the bot's {call.method} failed: {answer.get('description')})")
            return
        params, result = call.params, answer.get("result")
        if call.method in {"sendMessage", "sendDocument"}:
            where = self._chat_label(int(params["chat_id"]))
            self.write(f"\n[bot -> {where}] #{result['message_id']}")
            if call.method == "sendDocument":
                self.write(f"(file: {result.get('document', {}).get('file_name')})")
            self.write(plain(params.get("text") or params.get("caption")))
            for line in self._buttons(params.get("reply_markup")):
                self.write(line)
        elif call.method in {"editMessageText", "editMessageReplyMarkup"}:
            where = self._chat_label(int(params["chat_id"]))
            self.write(f"\n[bot edited #{params['message_id']} in {where}]")
            if "text" in params:
                self.write(plain(params["text"]))
            for line in self._buttons(params.get("reply_markup")):
                self.write(line)
        elif call.method == "answerCallbackQuery" and params.get("text"):
            kind = "popup" if params.get("show_alert") else "notice"
            self.write(f"({kind}) {plain(params['text'])}")
        elif call.method == "deleteMessage":
            self.write(f"(the bot deleted message #{params['message_id']})")
        elif call.method == "pinChatMessage":
            self.write(f"(the bot pinned message #{params['message_id']})")

    # -- state -------------------------------------------------------------------------------
    def _user(self, name: str, language: str | None) -> LocalUser:
        key = name.lower()
        if key not in self.users:
            username = re.sub(r"[^a-z0-9_]", "", key) or f"user{len(self.users) + 1}"
            self.users[key] = LocalUser(
                id=1001 + len(self.users), first_name=name, username=username,
                language_code=language or "en",
            )
        user = self.users[key]
        if language:
            user.language_code = language
        return user

    def _group(self, title: str) -> int:
        if title not in self.groups:
            chat_id = -1001000000000 - len(self.groups) - 1
            self.groups[title] = self.local.group_chat(chat_id, title, creator=self.user)
            self.write(f"(created group chat {title}; {self.user.first_name} is its creator)")
        return self.groups[title]

    def _last_with_buttons(self) -> StoredMessage | None:
        for message in reversed(self.local.api.chat_messages(self.chat_id)):
            if message.from_bot and message.buttons():
                return message
        return None

    # -- input -------------------------------------------------------------------------------
    async def handle(self, line: str) -> bool:
        """Handle one input line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return await self._console_command(line[1:].split())
        await self.local.send(self.user, self.chat_id, line)
        return True

    async def _console_command(self, words: list[str]) -> bool:
        if not words:
            self.write(CONSOLE_HELP)
            return True
        head, args = words[0].lower(), words[1:]
        if head.isdigit():
            head, args = "press", [head, *args]
        if head in {"quit", "exit", "q"}:
            return False
        if head == "as" and args:
            language = args[1] if len(args) > 1 else None
            self.user = self._user(args[0], language)
            if self.local.api.chats.get(self.chat_id, {}).get("type") == "private":
                self.chat_id = self.local.private_chat(self.user)
        elif head == "lang" and args:
            self.user.language_code = args[0]
            if args[0] not in LANGUAGES:
                self.write(f"(note: the bot speaks {', '.join(LANGUAGES)}; others fall back)")
        elif head == "in" and args and args[0] == "private":
            self.chat_id = self.local.private_chat(self.user)
        elif head == "in" and len(args) > 1 and args[0] == "group":
            self.chat_id = self._group(" ".join(args[1:]))
        elif head == "admin" and args and args[0] in {"on", "off"}:
            if self.chat_id > 0:
                self.write("(:admin works in a group chat)")
            else:
                self.local.set_admin(self.chat_id, self.user, args[0] == "on")
        elif head == "press" and args and all(a.isdigit() for a in args[:2]):
            await self._press(int(args[0]), int(args[1]) if len(args) > 1 else None)
            return True
        elif head == "tick" and self.ticker is not None:
            await self.ticker.tick()
            self.write("(scheduler jobs ran)")
            return True
        elif head == "who":
            pass
        else:
            self.write(CONSOLE_HELP)
            return True
        self.write(f"(you are {self.user.first_name} [{self.user.language_code}] in the "
                   f"{self._chat_label(self.chat_id)})")
        return True

    async def _press(self, number: int, message_id: int | None) -> None:
        if message_id is not None:
            message = self.local.api.messages.get((self.chat_id, message_id))
        else:
            message = self._last_with_buttons()
        if message is None or not message.buttons():
            self.write("(no message with buttons here)")
            return
        try:
            button = await self.local.press(self.user, message, number)
        except IndexError:
            self.write(f"(that message has no button {number})")
            return
        if isinstance(button, dict) and "url" in button:
            start = parse_qs(urlparse(button["url"]).query).get("start")
            if start:
                self.chat_id = self.local.private_chat(self.user)
                self.write(f"(opened the private chat with the bot: /start {start[0]})")
                await self.local.send(self.user, self.chat_id, f"/start {start[0]}")
            else:
                self.write(f"(link: {button['url']})")


async def run_console(settings: Settings, stdin: TextIO = sys.stdin,
                      stdout: TextIO = sys.stdout) -> None:
    # One log line per update would interleave with the chat; errors still show.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    app = await build_app(settings)
    try:  # its scheduler would otherwise send a running bot's reminders into this console
        await app.take_instance_lock()
    except BaseException:
        await app.close()
        raise
    local = LocalTelegram(app.dispatcher)
    console = Console(local, stdout, ticker=app.ticker)
    interactive = stdin.isatty()
    if interactive:
        console.write("wgbot console: you chat with the bot as Amani, in a private chat. "
                      "Type :help for console commands.")
    app.attach_bot(local.bot, rate_limits=False)
    app.ticker.start()
    try:
        while True:
            if interactive:
                stdout.write(f"{console.user.first_name}> ")
                stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line or not await console.handle(line):
                break
    finally:
        await local.bot.session.close()
        await app.close()
