"""`wgbot console`: chat with the bot in the terminal, without Telegram.

The same Dispatcher, handlers, database and scheduler as `wgbot run`; the Bot API is played by
bot.local_api. Lines are typed as the current user in the current chat; lines starting with `:`
are console commands (`:help` lists them). Works with piped input: reads to the end, then exits.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlparse

from bot.app import build_app
from bot.config import LANGUAGES, Settings
from bot.local_api import ApiCall, LocalTelegram, LocalUser, StoredMessage

TAG_RE = re.compile(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>")
PEOPLE_FILE = "console-people.json"  # in the data dir: who is who, kept between runs
LOG_FILE = "console.log"  # in the data dir: the log while the console runs
FIRST_USER_ID = 1001
FIRST_GROUP_ID = -1001000000001

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


class People:
    """The console's people and group chats by name, with the ids they were given, kept in a
    small JSON file of the data dir: the database keeps them between runs, so `:as Bahati` or
    `:in group Goma` must find the same ids again in the next run."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.users = {k: v for k, v in data.get("users", {}).items()
                              if isinstance(v, dict) and isinstance(v.get("id"), int)}
                self.groups = {k: v for k, v in data.get("groups", {}).items()
                               if isinstance(v, dict) and isinstance(v.get("id"), int)}
            except (OSError, ValueError, AttributeError):
                self.users, self.groups = {}, {}

    def user_id(self) -> int:
        ids = [u["id"] for u in self.users.values()]
        return max(ids, default=FIRST_USER_ID - 1) + 1

    def group_id(self) -> int:
        ids = [g["id"] for g in self.groups.values()]
        return min(ids, default=FIRST_GROUP_ID + 1) - 1

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"users": self.users, "groups": self.groups},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)


class Console:
    def __init__(self, local: LocalTelegram, out: TextIO, ticker=None,
                 people_file: Path | None = None) -> None:
        self.local = local
        self.out = out
        self.ticker = ticker
        self.people = People(people_file)
        self.users: dict[str, LocalUser] = {}
        self.groups: dict[str, int] = {}
        self.user = self._user("Amani", None)
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
        changed = False
        if key not in self.users:
            known = self.people.users.get(key)
            if known is None:
                known = {"id": self.people.user_id(), "name": name, "language": "en"}
                self.people.users[key] = known
                changed = True
            username = re.sub(r"[^a-z0-9_]", "", key) or f"user{known['id']}"
            self.users[key] = LocalUser(
                id=known["id"], first_name=str(known.get("name") or name), username=username,
                language_code=str(known.get("language") or "en"),
            )
        user = self.users[key]
        if language:
            user.language_code = language
        entry = self.people.users[key]
        if entry.get("language") != user.language_code:
            entry["language"] = user.language_code
            changed = True
        if changed:
            self.people.save()
        return user

    def _group(self, title: str) -> int:
        if title not in self.groups:
            known = self.people.groups.get(title)
            if known is None:
                known = {"id": self.people.group_id(), "creator": self.user.id, "admins": []}
                self.people.groups[title] = known
                self.people.save()
                self.write(f"(created group chat {title}; {self.user.first_name} is its creator)")
            creator = self._by_id(known.get("creator")) or self.user
            chat_id = self.local.group_chat(known["id"], title, creator=creator)
            for admin_id in known.get("admins", []):
                admin = self._by_id(admin_id)
                if admin is not None:
                    self.local.set_admin(chat_id, admin, True)
            self.groups[title] = chat_id
        return self.groups[title]

    def _by_id(self, user_id: object) -> LocalUser | None:
        for key, entry in self.people.users.items():
            if entry.get("id") == user_id:
                return self._user(str(entry.get("name") or key), None)
        return None

    def _set_admin(self, on: bool) -> None:
        self.local.set_admin(self.chat_id, self.user, on)
        for entry in self.people.groups.values():
            if entry.get("id") == self.chat_id:
                admins = set(entry.get("admins", [])) - {self.user.id}
                entry["admins"] = sorted(admins | ({self.user.id} if on else set()))
                self.people.save()

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
            key = next(k for k, u in self.users.items() if u is self.user)
            self._user(key, args[0])
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
                self._set_admin(args[0] == "on")
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


@contextmanager
def logs_to_file(path: Path) -> Iterator[None]:
    """Send the log to `path` instead of the terminal, so that no log line lands in the middle
    of the chat; the terminal's handlers come back afterwards."""
    root = logging.getLogger()
    previous = root.handlers[:]
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = previous
        handler.close()


async def run_console(settings: Settings, stdin: TextIO = sys.stdin,
                      stdout: TextIO = sys.stdout) -> None:
    # One log line per update would interleave with the chat; errors still go to the log file.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    data_dir = Path(settings.data_dir)
    with logs_to_file(data_dir / LOG_FILE):
        await _run_console(settings, data_dir, stdin, stdout)


async def _run_console(settings: Settings, data_dir: Path, stdin: TextIO,
                       stdout: TextIO) -> None:
    app = await build_app(settings)
    try:  # its scheduler would otherwise send a running bot's reminders into this console
        await app.take_instance_lock()
    except BaseException:
        await app.close()
        raise
    local = LocalTelegram(app.dispatcher)
    console = Console(local, stdout, ticker=app.ticker, people_file=data_dir / PEOPLE_FILE)
    interactive = stdin.isatty()
    if interactive:
        console.write("wgbot console: you chat with the bot as Amani, in a private chat. "
                      "Type :help for console commands.")
        others = sorted(str(u.get("name")) for u in console.people.users.values())
        if len(others) > 1 or console.people.groups:
            console.write(f"(kept from earlier runs in {data_dir}: people "
                          f"{', '.join(others)}; groups "
                          f"{', '.join(console.people.groups) or '-'})")
        console.write(f"(the log goes to {data_dir / LOG_FILE})")
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
