"""The ``telegram-test-api`` emulator: its process and a client that plays the users.

``telegram-test-api`` (npm, pinned in ``package.json``) is an HTTP server with two faces:

* the Bot API face, ``/bot<token>/<method>``, which the bot under test calls (through the shim
  in ``shim.py``, which repairs what the emulator gets wrong);
* the client face, used here to play the human side:

  - ``POST /sendMessage`` stores the JSON body as a user message (it must carry ``botToken``,
    ``from``, ``chat``, ``date`` and the content fields); the emulator assigns ``message_id``;
  - ``POST /sendCallback`` stores a callback query (``botToken``, ``from``, ``message``,
    ``data``); the emulator assigns the query id, a counter rendered as a string (``"1"``...);
  - ``POST /getUpdatesHistory`` with ``{"token": ...}`` returns every stored bot and user
    message of that bot, oldest first. Bot messages are stored as the request body the bot sent
    (``chat_id``, ``text``, ``parse_mode``, ``reply_markup``...) with ``messageId`` and ``time``
    (milliseconds); edits are merged into the stored body and deletions remove the entry, so the
    history is the current state of the conversation as a user would see it.

What the emulator leaves to its client, and this module therefore does:

* real Telegram marks ``/commands`` and ``@mentions`` with message entities (offsets in UTF-16
  code units); the emulator stores the message as given, so ``send_text`` computes them;
* chat and user objects are whatever the client sends: ``Chat``/``User`` build them the way
  Telegram does (private chat id == user id, groups with negative ids and a title, supergroups
  with ids starting with -100, ``language_code`` per user);
* a callback query carries the message its button belongs to; ``press`` builds it from the
  stored bot message, as rendered to the user.

Message ids are one counter shared by every chat of the emulator (Telegram counts per chat);
nothing in a bot should depend on either. ``BotMessage.text`` is the text as the user reads it
(HTML tags removed when the bot used ``parse_mode=HTML``); ``BotMessage.html`` is what the bot
sent.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "node_modules" / "telegram-test-api"
LAUNCHER = Path(__file__).with_name("start_emulator.js")

# Keep stored messages for a day: the emulator purges older ones on a timer.
STORE_TIMEOUT_S = 24 * 3600
POLL_INTERVAL_S = 0.05
DEFAULT_TIMEOUT_S = 10.0

MEDIA_KEYS = tuple(
    "photo document audio voice video animation video_note sticker location venue contact".split()
)
# Fields of a stored bot message that describe the message itself (the rest are request
# parameters such as chat_id or parse_mode).
CONTENT_KEYS = ("text", "caption", *MEDIA_KEYS, "media_group_id", "forward_origin", "edit_date")


def missing_requirements() -> str | None:
    """Why the emulator cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "Node.js ('node' on PATH)"
    if not (PACKAGE_DIR / "package.json").is_file():
        return f"{PACKAGE_DIR.relative_to(REPO_ROOT)} (run 'npm ci' in {REPO_ROOT})"
    return None


# --------------------------------------------------------------------------------------------
# Text helpers (Telegram's HTML parse mode)
# --------------------------------------------------------------------------------------------

HTML_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote".split()
)
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)?([^<>]*)(>?)")
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entities(text: str) -> str:
    # Telegram decodes the four named entities and numeric ones; anything else stays literal.
    return _ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text)


def html_error(text: str) -> str | None:
    """The "can't parse entities" reason Telegram gives for ``text`` in HTML mode, if any."""
    stack: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        match = _TAG_RE.match(text, start)
        assert match is not None  # every group of the pattern is optional
        closing, name, rest, end = match.groups()
        name = (name or "").lower()
        offset = len(text[:start].encode())
        if closing:
            if not end:
                return f"Unclosed end tag at byte offset {offset}"
            if not stack:
                return f"Unexpected end tag at byte offset {offset}"
            expected = stack.pop()
            if name != expected:
                return (
                    f'Unmatched end tag at byte offset {offset}, expected "</{expected}>", '
                    f'found "</{name}>"'
                )
        else:
            if name not in HTML_TAGS:
                return f'Unsupported start tag "{name}" at byte offset {offset}'
            if not end:
                return f"Unclosed start tag at byte offset {offset}"
            if name == "span" and "tg-spoiler" not in rest:
                return f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
            stack.append(name)
        pos = match.end()
    if stack:
        return f'Can\'t find end tag corresponding to start tag "{stack[-1]}"'
    return None


def render_text(text: str | None, parse_mode: str | None) -> str | None:
    """The text a user reads: tags removed and entities decoded in HTML mode."""
    if text is None or (parse_mode or "").lower() != "html":
        return text
    return _decode_entities(re.sub(r"<[^<>]*>", "", text))


_COMMAND_RE = re.compile(r"(?<![^\s])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION_RE = re.compile(r"(?<![^\s])@[A-Za-z0-9_]{3,32}")


def text_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` and ``mention`` entities as Telegram would attach them to ``text``."""
    found = [("bot_command", m) for m in _COMMAND_RE.finditer(text)]
    found += [("mention", m) for m in _MENTION_RE.finditer(text)]
    found.sort(key=lambda item: item[1].start())
    return [
        {
            "type": kind,
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group(0)),
        }
        for kind, m in found
    ]


# --------------------------------------------------------------------------------------------
# People and chats
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class Chat:
    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None

    @classmethod
    def private(cls, user: User) -> Chat:
        return cls(
            id=user.id,
            type="private",
            first_name=user.first_name,
            last_name=user.last_name,
            username=user.username,
        )

    @classmethod
    def group(cls, id: int, title: str) -> Chat:
        if id >= 0:
            raise ValueError("group chat ids are negative")
        return cls(id=id, type="group", title=title)

    @classmethod
    def supergroup(cls, id: int, title: str) -> Chat:
        if not str(id).startswith("-100"):
            raise ValueError("supergroup chat ids start with -100")
        return cls(id=id, type="supergroup", title=title)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "last_name", "username"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class BotMessage:
    """A message of the bot, in its current state (edits applied), as stored by the emulator."""

    message_id: int
    chat_id: int
    date: int
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_history(cls, entry: dict[str, Any]) -> BotMessage:
        return cls(
            message_id=int(entry["messageId"]),
            chat_id=int(entry["message"]["chat_id"]),
            date=int(entry["time"]) // 1000,
            raw=entry["message"],
        )

    @property
    def parse_mode(self) -> str | None:
        return self.raw.get("parse_mode")

    @property
    def html(self) -> str | None:
        """The text exactly as the bot sent it (markup included)."""
        return self.raw.get("text")

    @property
    def text(self) -> str | None:
        return render_text(self.raw.get("text"), self.parse_mode)

    @property
    def caption(self) -> str | None:
        return render_text(self.raw.get("caption"), self.parse_mode)

    @property
    def media_kind(self) -> str | None:
        return next((key for key in MEDIA_KEYS if key in self.raw), None)

    @property
    def edited(self) -> bool:
        return "edit_date" in self.raw

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return self.raw.get("reply_markup")

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        return (self.reply_markup or {}).get("inline_keyboard") or []

    @property
    def button_texts(self) -> list[str]:
        return [button["text"] for row in self.inline_keyboard for button in row]

    @property
    def reply_keyboard(self) -> list[list[str]]:
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in rows]

    def button(self, label: str) -> dict[str, Any]:
        """The inline button whose text or callback data is ``label``."""
        for row in self.inline_keyboard:
            for button in row:
                if label in (button.get("text"), button.get("callback_data")):
                    return button
        raise AssertionError(
            f"no inline button {label!r} on message {self.message_id}: {self.inline_keyboard}"
        )

    def as_message(self, chat: Chat) -> dict[str, Any]:
        """The Bot API ``Message`` a user's client holds for this message."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": chat.as_dict(),
        }
        for key in CONTENT_KEYS:
            if key in self.raw:
                message[key] = self.raw[key]
        if self.text is not None:
            message["text"] = self.text
        if self.caption is not None:
            message["caption"] = self.caption
        if self.inline_keyboard:
            message["reply_markup"] = {"inline_keyboard": self.inline_keyboard}
        return message

    def describe(self) -> str:
        body = self.text if self.text is not None else f"<{self.media_kind}> {self.caption or ''}"
        buttons = f" buttons={self.button_texts}" if self.inline_keyboard else ""
        return f"#{self.message_id}: {body!r}{buttons}"


# --------------------------------------------------------------------------------------------
# The emulator process
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class EmulatorServer:
    """``node tests/e2e/start_emulator.js <port>`` on 127.0.0.1, started and stopped."""

    def __init__(self, log_path: Path, *, start_timeout: float = 15.0) -> None:
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> EmulatorServer:
        last_error = ""
        for _attempt in range(3):  # the free port may be taken between probe and listen
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    ["node", str(LAUNCHER), str(self.port), "127.0.0.1", str(STORE_TIMEOUT_S)],
                    cwd=REPO_ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    break
                if _accepts_connections(self.port):
                    return self
                time.sleep(POLL_INTERVAL_S)
            last_error = self.log_text()[-2000:]
            self.stop()
        raise RuntimeError(f"telegram-test-api did not start:\n{last_error}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# The client: users talking to the bot
# --------------------------------------------------------------------------------------------

Predicate = Callable[[BotMessage], bool]


class EmulatorClient:
    """Plays the users of one bot (one token) against the emulator's client API."""

    def __init__(self, url: str, token: str, *, request_timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._session: aiohttp.ClientSession | None = None
        # Per chat: the highest message id the conversation had when a user last acted in it.
        self._marks: dict[int, int] = {}

    async def __aenter__(self) -> EmulatorClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, route: str, body: dict[str, Any]) -> Any:
        if self._session is None:
            raise RuntimeError("use 'async with EmulatorClient(...)'")
        async with self._session.post(f"{self.url}/{route}", json=body) as response:
            data = await response.json(content_type=None)
        if response.status != 200 or not data.get("ok"):
            raise AssertionError(f"emulator {route} answered {response.status}: {data}")
        return data.get("result")

    # -- reading -------------------------------------------------------------------------------

    async def history(self) -> list[dict[str, Any]]:
        """Everything the emulator stores for this bot: bot messages and user updates."""
        return list(await self._post("getUpdatesHistory", {"token": self.token}) or [])

    async def bot_messages(self, chat: Chat | int) -> list[BotMessage]:
        chat_id = chat if isinstance(chat, int) else chat.id
        messages = [
            BotMessage.from_history(entry)
            for entry in await self.history()
            if "chat_id" in entry.get("message", {})
            and str(entry["message"]["chat_id"]) == str(chat_id)
        ]
        return sorted(messages, key=lambda m: m.message_id)

    async def wait_for_message(
        self,
        chat: Chat | int,
        predicate: Predicate,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> BotMessage:
        """The first bot message in ``chat`` (old, new or edited) satisfying ``predicate``.

        Polls the emulator: the bot is another process, so this waits for its I/O.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        seen: list[BotMessage] = []
        while True:
            seen = await self.bot_messages(chat)
            for message in seen:
                if predicate(message):
                    return message
            if asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(POLL_INTERVAL_S)
        chat_id = chat if isinstance(chat, int) else chat.id
        listing = "\n".join(f"  {m.describe()}" for m in seen) or "  (none)"
        raise AssertionError(
            f"no matching bot message in chat {chat_id} within {timeout:.1f}s; bot messages:\n"
            f"{listing}"
        )

    async def wait_for_reply(
        self,
        chat: Chat | int,
        predicate: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        since: int | None = None,
    ) -> BotMessage:
        """The first bot message in ``chat`` newer than the users' last action there.

        ``since`` overrides the starting point with an explicit message id.
        """
        chat_id = chat if isinstance(chat, int) else chat.id
        after = self._marks.get(chat_id, 0) if since is None else since
        return await self.wait_for_message(
            chat,
            lambda m: m.message_id > after and (predicate is None or predicate(m)),
            timeout,
        )

    async def wait_for_edit(
        self,
        message: BotMessage,
        predicate: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> BotMessage:
        """``message`` once the bot has changed it (and it satisfies ``predicate``)."""
        return await self.wait_for_message(
            message.chat_id,
            lambda m: (
                m.message_id == message.message_id
                and m.raw != message.raw
                and (predicate is None or predicate(m))
            ),
            timeout,
        )

    # -- acting --------------------------------------------------------------------------------

    async def send_message(self, user: User, chat: Chat, **content: Any) -> int:
        """A user message with arbitrary content fields (``text``, ``photo``, ``location``...).

        Returns the message id the emulator assigned.
        """
        body = {
            "botToken": self.token,
            "from": user.as_dict(),
            "chat": chat.as_dict(),
            "date": int(time.time()),
            **content,
        }
        await self._post("sendMessage", body)
        message_id = 0
        for entry in await self.history():
            message = entry.get("message") or {}
            if (
                message.get("chat", {}).get("id") == chat.id
                and message.get("from", {}).get("id") == user.id
                and all(message.get(key) == value for key, value in content.items())
            ):
                message_id = max(message_id, int(entry["messageId"]))
        if not message_id:
            raise AssertionError(f"the emulator did not store the message of {user.id}")
        self._marks[chat.id] = max(self._marks.get(chat.id, 0), message_id)
        return message_id

    async def send_text(
        self,
        user: User,
        chat: Chat,
        text: str,
        *,
        reply_to: BotMessage | None = None,
        **content: Any,
    ) -> int:
        """A text message; commands and mentions get their entities as in Telegram."""
        if entities := text_entities(text):
            content.setdefault("entities", entities)
        if reply_to is not None:
            content["reply_to_message"] = reply_to.as_message(chat)
        return await self.send_message(user, chat, text=text, **content)

    async def press(self, user: User, chat: Chat, message: BotMessage, button: str) -> str:
        """Press the inline button (by text or callback data); returns the callback query id."""
        pressed = self.button_data(message, button)
        before = await self.history()
        known = {str(entry["callbackId"]) for entry in before if "callbackId" in entry}
        # Callback entries carry the id the next message will get: only messages count.
        ids = [int(e["messageId"]) for e in before if "callbackId" not in e]
        self._marks[chat.id] = max(ids, default=0)
        body = {
            "botToken": self.token,
            "from": user.as_dict(),
            "message": message.as_message(chat),
            "data": pressed,
            "date": int(time.time()),
        }
        await self._post("sendCallback", body)
        for entry in reversed(await self.history()):
            if "callbackId" in entry and str(entry["callbackId"]) not in known:
                return str(entry["callbackId"])
        raise AssertionError("the emulator did not store the callback query")

    @staticmethod
    def button_data(message: BotMessage, button: str) -> str:
        found = message.button(button)
        if "callback_data" not in found:
            raise AssertionError(f"button {button!r} is not a callback button: {found}")
        return str(found["callback_data"])


def by_text(fragment: str) -> Predicate:
    """Predicate: the message's text or caption contains ``fragment``."""
    return lambda m: fragment in (m.text or "") or fragment in (m.caption or "")
