"""A local stand-in for the Telegram Bot API, used by `wgbot console` and by the tests.

`LocalBotAPI` is an aiogram session: every API call the bot makes lands here, is recorded, and
is answered the way Telegram would (sent messages get ids, edits change the stored message,
getChatMember answers from a table of administrators). `LocalTelegram` plays the users' side:
it builds real `Update` objects (a message typed in a chat, a button pressed) and feeds them to
the real Dispatcher.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import TelegramMethod
from aiogram.types import Update

from bot.telegram_text import TelegramHTMLError, parse_html, utf16_len
from bot.unread_answers import UnreadAnswers

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Working group bot",
    "username": "wgbot_local_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
LOCAL_TOKEN = "7000000001:LOCAL-console-token-000000000000000"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    sender: dict[str, Any]
    text: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: tuple[str, bytes] | None = None
    media: tuple[str, str] | None = None  # ("photo" | "voice", file id or uploaded file name)
    deleted: bool = False
    pinned: bool = False

    @property
    def from_bot(self) -> bool:
        return self.sender.get("id") == BOT_USER["id"]

    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


class LocalBotAPI(UnreadAnswers):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[ApiCall] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.admins: dict[int, set[int]] = {}
        self.outsiders: dict[int, set[int]] = {}  # chat id -> users not in it
        self.creators: dict[int, int] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        self.unsupported: set[str] = set()
        self.listeners: list[Callable[[ApiCall, Any], None]] = []
        self._message_ids: dict[int, itertools.count] = {}

    # -- bookkeeping -------------------------------------------------------------------------
    def next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def store(self, message: StoredMessage) -> StoredMessage:
        self.messages[(message.chat_id, message.message_id)] = message
        return message

    def message_dict(self, message: StoredMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": self.chats[message.chat_id],
            "from": message.sender,
        }
        if message.text is not None:
            data["caption" if message.media else "text"] = message.text
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup  # Telegram returns inline keyboards only
        if message.document is not None:
            data["document"] = {"file_id": f"doc-{message.message_id}",
                                "file_unique_id": f"u{message.message_id}",
                                "file_name": message.document[0]}
        if message.media is not None:
            kind, file_id = message.media
            data[kind] = _MEDIA_SHAPES[kind](file_id)
        return data

    def sent(self, method: str | None = None) -> list[ApiCall]:
        return [c for c in self.calls if method is None or c.method == method]

    def chat_messages(self, chat_id: int) -> list[StoredMessage]:
        return [m for (c, _), m in sorted(self.messages.items()) if c == chat_id and not m.deleted]

    # -- the session interface ---------------------------------------------------------------
    async def close(self) -> None:
        return None

    async def stream_content(self, url, headers=None, timeout=30, chunk_size=65536,
                             raise_for_status=True):
        yield b""

    async def make_request(self, bot: Bot, method: TelegramMethod, timeout: int | None = None):
        files: dict[str, Any] = {}
        params = {
            key: self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            for key, value in method.model_dump(warnings=False).items()
        }
        params = {k: v for k, v in params.items() if v is not None}
        call = ApiCall(method.__api_method__, params)
        self.calls.append(call)
        answer = self._answer(call, files)
        for listener in self.listeners:
            listener(call, answer)
        status = answer.get("error_code", 200)
        response = self.check_response(bot=bot, method=method, status_code=status,
                                       content=json.dumps(answer))
        return response.result

    # -- the methods ---------------------------------------------------------------------------
    def _answer(self, call: ApiCall, files: dict[str, Any]) -> dict[str, Any]:
        if call.method in self.unsupported:
            return {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        chat_id = call.params.get("chat_id")
        if chat_id is not None:
            chat_id = int(chat_id)
            if chat_id in self.blocked:
                return {"ok": False, "error_code": 403,
                        "description": "Forbidden: bot was blocked by the user"}
            if chat_id not in self.chats:
                return {"ok": False, "error_code": 400,
                        "description": "Bad Request: chat not found"}
        handler = getattr(self, f"_m_{call.method}", None)
        if handler is None:
            return {"ok": True, "result": True}
        try:
            return {"ok": True, "result": handler(call.params, chat_id, files)}
        except LookupError as exc:
            return {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}

    def _m_getMe(self, params, chat_id, files):
        return BOT_USER

    def _m_getUpdates(self, params, chat_id, files):
        return []  # updates are fed to the Dispatcher directly

    @staticmethod
    def _check_text(params: dict[str, Any]) -> str:
        """Refuse what Telegram refuses: HTML it cannot parse, a text over 4,096 characters
        once parsed."""
        text = params["text"]
        if params.get("parse_mode") == ParseMode.HTML:
            try:
                text_length = utf16_len(parse_html(text, entities=False)[0])
            except TelegramHTMLError as exc:
                raise LookupError(f"can't parse entities: {exc}") from exc
        else:
            text_length = utf16_len(text)
        if text_length > 4096:
            raise LookupError("message is too long")
        return text

    def _m_sendMessage(self, params, chat_id, files):
        text = self._check_text(params)
        message = self.store(StoredMessage(
            chat_id=chat_id, message_id=self.next_message_id(chat_id), sender=BOT_USER,
            text=text, reply_markup=params.get("reply_markup"),
        ))
        return self.message_dict(message)

    def _m_sendDocument(self, params, chat_id, files):
        document = params["document"]
        if isinstance(document, str) and document.startswith("attach://"):
            upload = files[document.removeprefix("attach://")]
            payload = (upload.filename or "file", getattr(upload, "data", b""))
        else:
            payload = (str(document), b"")
        message = self.store(StoredMessage(
            chat_id=chat_id, message_id=self.next_message_id(chat_id), sender=BOT_USER,
            text=params.get("caption"), document=payload,
            reply_markup=params.get("reply_markup"),
        ))
        return self.message_dict(message)

    def _send_media(self, kind: str, params, chat_id, files):
        media = params[kind]
        if isinstance(media, str) and media.startswith("attach://"):
            upload = files[media.removeprefix("attach://")]
            media = upload.filename or kind
        message = self.store(StoredMessage(
            chat_id=chat_id, message_id=self.next_message_id(chat_id), sender=BOT_USER,
            text=params.get("caption"), media=(kind, str(media)),
            reply_markup=params.get("reply_markup"),
        ))
        return self.message_dict(message)

    def _m_sendPhoto(self, params, chat_id, files):
        return self._send_media("photo", params, chat_id, files)

    def _m_sendVoice(self, params, chat_id, files):
        return self._send_media("voice", params, chat_id, files)

    def _find(self, params, chat_id) -> StoredMessage:
        key = (chat_id, int(params["message_id"]))
        if key not in self.messages or self.messages[key].deleted:
            raise LookupError("message to edit not found")
        return self.messages[key]

    def _m_editMessageText(self, params, chat_id, files):
        message = self._find(params, chat_id)
        message.text = self._check_text(params)
        message.reply_markup = params.get("reply_markup")
        return self.message_dict(message)

    def _m_editMessageReplyMarkup(self, params, chat_id, files):
        message = self._find(params, chat_id)
        message.reply_markup = params.get("reply_markup")
        return self.message_dict(message)

    def _m_deleteMessage(self, params, chat_id, files):
        self._find(params, chat_id).deleted = True
        return True

    def _m_pinChatMessage(self, params, chat_id, files):
        self._find(params, chat_id).pinned = True
        return True

    def _member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        if user_id == BOT_USER["id"]:
            user = BOT_USER
        else:
            user = self.users.get(
                user_id, {"id": user_id, "is_bot": False, "first_name": str(user_id)}
            )
        if self.creators.get(chat_id) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in self.admins.get(chat_id, set()):
            return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
        if user_id in self.outsiders.get(chat_id, set()):
            return {"status": "left", "user": user}
        return {"status": "member", "user": user}

    def _m_getChatMember(self, params, chat_id, files):
        return self._member(chat_id, int(params["user_id"]))

    def _m_getChatAdministrators(self, params, chat_id, files):
        ids = [self.creators[chat_id]] if chat_id in self.creators else []
        ids += sorted(self.admins.get(chat_id, set()) - set(ids))
        return [self._member(chat_id, user_id) for user_id in ids]


_MEDIA_SHAPES = {
    "photo": lambda file_id: [{"file_id": file_id, "file_unique_id": f"u-{file_id}",
                               "width": 640, "height": 480}],
    "voice": lambda file_id: {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                              "duration": 1},
}

_ADMIN_RIGHTS = {
    "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
    "can_delete_messages": True, "can_manage_video_chats": True, "can_restrict_members": True,
    "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
    "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False,
    "can_send_welcome_messages": False,
}


@dataclass
class LocalUser:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "en"

    def as_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class LocalTelegram:
    """The users' side of a local chat with the bot: builds updates and feeds the Dispatcher."""

    dispatcher: Dispatcher
    api: LocalBotAPI = field(default_factory=LocalBotAPI)
    bot: Bot | None = None
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _callback_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        if self.bot is None:
            self.bot = Bot(LOCAL_TOKEN, session=self.api,
                           default=DefaultBotProperties(parse_mode=ParseMode.HTML))

    def private_chat(self, user: LocalUser) -> int:
        self.api.users[user.id] = user.as_dict()
        chat = {"id": user.id, "type": "private", "first_name": user.first_name}
        if user.username:
            chat["username"] = user.username
        self.api.chats.setdefault(user.id, chat)
        return user.id

    def group_chat(self, chat_id: int, title: str, *, creator: LocalUser | None = None) -> int:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self.api.chats.setdefault(chat_id, {"id": chat_id, "type": "supergroup", "title": title})
        if creator is not None:
            self.api.users[creator.id] = creator.as_dict()
            self.api.creators.setdefault(chat_id, creator.id)
        return chat_id

    def set_admin(self, chat_id: int, user: LocalUser, admin: bool = True) -> None:
        self.api.users[user.id] = user.as_dict()
        admins = self.api.admins.setdefault(chat_id, set())
        if admin:
            admins.add(user.id)
        else:
            admins.discard(user.id)
            if self.api.creators.get(chat_id) == user.id:
                del self.api.creators[chat_id]

    async def feed(self, payload: dict[str, Any]) -> Any:
        payload = {"update_id": next(self._update_ids), **payload}
        update = Update.model_validate(payload, context={"bot": self.bot})
        return await self.dispatcher.feed_update(self.bot, update)

    async def send(self, user: LocalUser, chat_id: int, text: str,
                   reply_to: StoredMessage | None = None) -> StoredMessage:
        """`user` types `text` in chat `chat_id` (use private_chat/group_chat first)."""
        self.api.users[user.id] = user.as_dict()
        message = self.api.store(StoredMessage(
            chat_id=chat_id, message_id=self.api.next_message_id(chat_id),
            sender=user.as_dict(), text=text,
        ))
        data = self.api.message_dict(message)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            data["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            data["reply_to_message"] = self.api.message_dict(reply_to)
        await self.feed({"message": data})
        return message

    async def press(self, user: LocalUser, message: StoredMessage, button: int | str) -> Any:
        """Press a button of a bot message, by 1-based position or by its exact label."""
        buttons = message.buttons()
        if isinstance(button, int):
            if not 1 <= button <= len(buttons):
                raise IndexError(f"the message has {len(buttons)} buttons")
            chosen = buttons[button - 1]
        else:
            matches = [b for b in buttons if b.get("text") == button]
            if not matches:
                raise KeyError(f"no button labelled {button!r}")
            chosen = matches[0]
        if "callback_data" not in chosen:
            return chosen
        return await self.press_data(user, message, chosen["callback_data"])

    async def press_data(self, user: LocalUser, message: StoredMessage, data: str) -> Any:
        """Send a callback query with arbitrary data (also used to test forged payloads)."""
        self.api.users[user.id] = user.as_dict()
        return await self.feed({"callback_query": {
            "id": str(next(self._callback_ids)),
            "from": user.as_dict(),
            "chat_instance": f"local{message.chat_id}",
            "message": self.api.message_dict(message),
            "data": data,
        }})

    def last_bot_message(self, chat_id: int) -> StoredMessage | None:
        for message in reversed(self.api.chat_messages(chat_id)):
            if message.from_bot:
                return message
        return None


class _Upload:
    """A file posted to the HTTP server, shaped like aiogram's BufferedInputFile."""

    def __init__(self, filename: str | None, data: bytes) -> None:
        self.filename = filename
        self.data = data


class LocalBotAPIServer:
    """Serves a `LocalBotAPI` over HTTP, so that a bot running in another process (a benchmark,
    a test of several replicas, a crash test) can use it as its TELEGRAM_API_URL.

    With `open_chats` every chat id the bot writes to exists (a private chat of that user), so
    messages to thousands of members need no set-up. `getUpdates` answers the updates pushed
    with `push_update`, or nothing after a short wait; `first_poll` is set on the first call.
    """

    def __init__(self, api: LocalBotAPI | None = None, *, open_chats: bool = True,
                 poll_seconds: float = 0.2) -> None:
        import asyncio

        self.api = api or LocalBotAPI()
        self.open_chats = open_chats
        self.poll_seconds = poll_seconds
        self.first_poll = asyncio.Event()
        self.first_poll_at: float | None = None
        self.updates: list[dict[str, Any]] = []
        self._runner = None
        self.url = ""

    def push_update(self, payload: dict[str, Any]) -> None:
        update_id = (self.updates[-1]["update_id"] + 1) if self.updates else 1
        self.updates.append({"update_id": update_id, **payload})

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        from aiohttp import web

        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # the port chosen when port=0
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.url

    def web_app(self):
        """The aiohttp application: the Bot API's methods at /bot<token>/<method>."""
        from aiohttp import web

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        return app

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _params(self, request) -> tuple[dict[str, Any], dict[str, Any]]:
        params: dict[str, Any] = {}
        files: dict[str, Any] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.filename is not None:
                    files[part.name] = _Upload(part.filename, await part.read())
                else:
                    params[part.name] = await part.text()
        elif request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in ("{", "["):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    pass
        return params, files

    async def _handle(self, request):
        import asyncio

        from aiohttp import web

        method = request.match_info["method"]
        params, files = await self._params(request)
        if method == "getUpdates":
            if not self.first_poll.is_set():
                self.first_poll_at = time.monotonic()
                self.first_poll.set()
            offset = int(params.get("offset") or 0)
            ready = [u for u in self.updates if u["update_id"] >= offset]
            if not ready:
                await asyncio.sleep(min(float(params.get("timeout") or 0), self.poll_seconds))
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            return web.json_response({"ok": True, "result": ready[:100]})
        chat_id = params.get("chat_id")
        if self.open_chats and chat_id is not None:
            chat = int(chat_id)
            self.api.chats.setdefault(chat, {"id": chat, "type": "private", "first_name": "user"}
                                      if chat > 0 else {"id": chat, "type": "supergroup",
                                                        "title": "group"})
        call = ApiCall(method, params)
        self.api.calls.append(call)
        answer = self.api._answer(call, files)
        for listener in self.api.listeners:
            listener(call, answer)
        return web.json_response(answer, status=answer.get("error_code", 200))
