"""A Bot API reverse proxy between the bot under test and the ``telegram-test-api`` emulator.

The bot is started with ``TELEGRAM_API_URL`` pointing here; aiogram then calls
``{url}/bot{token}/{method}``. The proxy runs inside the pytest process (aiohttp), forwards what
the emulator does well, repairs what it gets wrong and answers what it lacks itself, recording
every call for the tests. Nothing of this lives in the product: the bot talks plain Bot API.

It bridges only the gaps wgbot meets (telegram-test-api 4.2.1, see package.json); a method
wgbot does not call gets Telegram's 404 and is listed in ``unsupported``, so a new call in the
bot shows up as a failing test rather than as a silent stand-in. Each gap, and why:

Requests
  1. Request bodies are re-encoded as JSON. aiogram posts ``application/x-www-form-urlencoded``
     (``multipart/form-data`` when it uploads a file: an .ics file, the report statistics
     chart) with nested values JSON-encoded; the emulator parses JSON and urlencoded bodies
     only, so a multipart request reaches it empty. The proxy decodes every request (typed
     values: ints, bools, nested objects) and forwards JSON.

Updates (getUpdates)
  2. Long polling. The emulator answers ``getUpdates`` at once, ignoring ``timeout`` and
     ``offset``, and marks updates read as soon as it returns them: aiogram would spin in a
     busy loop and an update fetched by a bot that is stopping would be lost. The proxy holds
     the request (up to ``max_poll_hold`` seconds), keeps fetched updates until the bot confirms
     them with ``offset`` (as Telegram does: a restarted bot receives what its predecessor did
     not confirm, which wgbot's graceful stop relies on), honours ``limit`` and numbers
     ``update_id`` in one increasing sequence.
  3. Callback queries lack ``chat_instance``, which aiogram's ``CallbackQuery`` requires: it is
     added, derived from the chat id.
  4. User messages come back as the test client stored them: its ``botToken`` field is removed,
     millisecond dates become seconds, and a message replied to (a reply to a prompt) or
     carrying a pressed button gets the bot as ``from``.
  5. Privacy mode (``privacy_mode``, on in the fixtures): the emulator delivers every group
     message; Telegram delivers to a bot in privacy mode that is no group administrator only
     commands (not those addressed to another bot), mentions of the bot, replies to it and
     service messages. wgbot's group prompts must work under it (README, "Getting a bot
     token"); a test of a bot that administers the group sets it False.

Methods the emulator serves, with repaired answers
  6. ``getMe`` lacks ``is_bot`` (required by aiogram) and the ``can_*``/``supports_*`` flags,
     and its id (666) differs from the token's: the answer is completed.
  7. ``sendMessage`` answers with the request echoed back, a millisecond ``date``, a chat that
     is always ``private`` and no ``from``: the proxy returns a proper ``Message`` (the real
     chat as seen in updates, the bot as sender, the text as rendered).
  8. ``editMessageText`` and ``editMessageReplyMarkup`` (cards edited in place, buttons
     removed after a press) answer ``null`` where aiogram expects the edited ``Message``, do not
     check that the message exists or changed, and keep the old inline keyboard when an edit
     omits ``reply_markup`` (Telegram removes it). The proxy checks ("message to edit not
     found", "message is not modified", which wgbot tolerates on a second press), merges the
     change into the stored message through the emulator's ``editMessageText`` route (keyboard
     cleared when omitted) and answers the ``Message``.
  9. ``deleteMessage`` (the report flow deletes a message holding a receipt code) answers
     ``null`` where aiogram expects ``true``, and the emulator may delete a pressed callback
     that shares the message id instead of the bot message: the proxy repeats the call until
     the target is gone; unknown messages give "message to delete not found".
 10. ``answerCallbackQuery`` answers ``null``: the proxy answers ``true``, rejects unknown or
     already answered query ids like Telegram, and records the answer (``callback_answers``).

Methods the emulator lacks (it answers HTTP 500 with a non-Bot-API body), answered here
 11. ``getChatMember`` and ``getChatAdministrators`` (``/setup`` and the secretariat checks):
     from the table the test sets with ``set_admins``; everyone else is a member.
 12. ``setMyCommands`` (the command menus set at start, per scope and language): validated
     like Telegram, stored in ``commands``.
 13. ``sendDocument``, ``sendPhoto`` and ``sendVoice`` (.ics files, the statistics chart, a
     report's photos and voice notes shown to the secretariat by file id): uploads are kept
     (``sent_files``, with their bytes) and the message is stored in the emulator through its
     ``sendMessage`` route with the media object attached, so the users' client sees it.
 14. ``pinChatMessage`` (a published agenda): checked against the stored messages, recorded in
     ``pinned``.

Checks Telegram makes that the emulator does not (400 answers with Telegram's descriptions):
empty or too long texts (4096) and captions (1024), malformed ``parse_mode=HTML`` markup,
callback data over 64 bytes, inline buttons without an action, invalid bot commands.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from emulator import CONTENT_KEYS, html_error, render_text, utf16_len

log = logging.getLogger("e2e.shim")

POLL_INTERVAL_S = 0.05
BOT_FIRST_NAME = "Test First name"  # what telegram-test-api's getMe answers
BOT_USERNAME = "TestNameBot"

SERVICE_KEYS = frozenset(
    "new_chat_members left_chat_member new_chat_title new_chat_photo delete_chat_photo "
    "group_chat_created supergroup_chat_created migrate_to_chat_id migrate_from_chat_id "
    "pinned_message".split()
)
JSON_FIELDS = frozenset(
    "reply_markup entities caption_entities reply_parameters link_preview_options commands "
    "scope allowed_updates".split()
)
INT_FIELDS = frozenset(
    "chat_id message_id user_id offset limit timeout reply_to_message_id duration".split()
)
BOOL_FIELDS = frozenset(
    "disable_notification protect_content allow_sending_without_reply disable_web_page_preview "
    "show_alert drop_pending_updates".split()
)
MEDIA_METHODS = {"sendDocument": "document", "sendPhoto": "photo", "sendVoice": "voice"}
BUTTON_ACTIONS = frozenset(
    "url callback_data web_app login_url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat copy_text callback_game pay".split()
)
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
ADMIN_RIGHTS = tuple(
    "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
    "can_promote_members can_change_info can_invite_users can_post_stories can_edit_stories "
    "can_delete_stories can_send_welcome_messages can_pin_messages can_manage_topics".split()
)


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error_code": self.code, "description": self.description}


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes
    content_type: str


@dataclass
class ApiCall:
    """One request of the bot: method as called, decoded parameters, uploads, the answer."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    @property
    def result(self) -> Any:
        return (self.response or {}).get("result")


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    file_name: str | None = None
    mime_type: str | None = None
    content: bytes | None = None


@dataclass(frozen=True)
class SentFile:
    """A file the bot sent: by upload (``file.content`` holds the bytes) or by file id."""

    method: str
    chat_id: int
    message_id: int
    file: StoredFile
    caption: str | None


def _decode_value(key: str, value: str) -> Any:
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in BOOL_FIELDS and value in ("true", "false"):
        return value == "true"
    return value


def chat_instance(chat_id: int) -> str:
    digest = hashlib.sha256(f"chat-instance:{chat_id}".encode()).hexdigest()
    return str(int(digest[:15], 16))


def _markup_rows(markup: Any) -> list[Any]:
    return list((markup or {}).get("inline_keyboard") or [])


Handler = Callable[[str, dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]


class TelegramShim:
    """``async with TelegramShim(emulator_url) as shim:`` then give the bot ``shim.url``."""

    def __init__(
        self,
        emulator_url: str,
        *,
        bot_token: str | None = None,
        privacy_mode: bool = False,
        max_poll_hold: float = 2.0,
        request_timeout: float = 5.0,
    ) -> None:
        self.emulator_url = emulator_url.rstrip("/")
        self.privacy_mode = privacy_mode
        self.max_poll_hold = max_poll_hold
        self._request_timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0

        # What tests read.
        self.calls: list[ApiCall] = []
        self.unsupported: list[ApiCall] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.sent_files: list[SentFile] = []
        self.pinned: dict[int, list[int]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.poll_count = 0
        self.bot_first_name = BOT_FIRST_NAME
        self.bot_username = BOT_USERNAME
        self._bot_id: int | None = int(bot_token.split(":", 1)[0]) if bot_token else None

        # What tests control.
        self._admins: dict[int, set[int]] = {}
        self._creators: dict[int, int] = {}

        # Conversation state.
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._pending: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._callback_ids: set[str] = set()
        self._wakeup = asyncio.Event()

        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "deletewebhook": self._delete_webhook,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "setmycommands": self._set_my_commands,
            "pinchatmessage": self._pin_chat_message,
        }
        for name in MEDIA_METHODS:
            self._handlers[name.lower()] = self._media_handler(name)

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> TelegramShim:
        self._session = aiohttp.ClientSession(timeout=self._request_timeout)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        self._wakeup.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------------------------------
    # Test controls
    # ------------------------------------------------------------------------------------------

    def set_admins(self, chat_id: int, user_ids: Iterable[int], *, creator: int | None = None):
        """Administrators of a chat for getChatMember/getChatAdministrators.

        ``creator`` (default: the first of ``user_ids``) is answered with status "creator".
        """
        admins = list(user_ids)
        self._admins[chat_id] = set(admins)
        owner = creator if creator is not None else (admins[0] if admins else None)
        if owner is None:
            self._creators.pop(chat_id, None)
        else:
            self._creators[chat_id] = owner
            self._admins[chat_id].add(owner)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def commands_for(self, scope: dict[str, Any] | None = None, language_code: str = ""):
        """The commands set for a scope (default scope when None) and language."""
        return self.commands.get((self._scope_key(scope), language_code))

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,
    ) -> ApiCall:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for call in self.calls_to(method):
                if call.response is not None and (predicate is None or predicate(call)):
                    return call
            if asyncio.get_running_loop().time() >= deadline:
                made = sorted({call.method for call in self.calls})
                raise AssertionError(
                    f"the bot made no matching {method} call within {timeout:.1f}s "
                    f"(methods called: {made})"
                )
            await asyncio.sleep(POLL_INTERVAL_S)

    # ------------------------------------------------------------------------------------------
    # HTTP plumbing
    # ------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ValueError as error:
            return web.json_response(bad_request(str(error)).body(), status=400)
        call = ApiCall(method, params, files)
        key = method.lower()
        if key != "getupdates":
            self.calls.append(call)
        try:
            if key == "getupdates":
                result = await self._get_updates(token, params, request)
            else:
                handler = self._handlers.get(key)
                if handler is None:
                    self.unsupported.append(call)
                    log.warning("unsupported Bot API method %s called", method)
                    raise ApiError(
                        404,
                        f"Not Found: method {method} is served neither by telegram-test-api "
                        "nor by tests/e2e/shim.py",
                    )
                result = await handler(token, params, files)
            body: dict[str, Any] = {"ok": True, "result": result}
            status = 200
        except ApiError as error:
            body, status = error.body(), error.code
        call.response = body
        return web.json_response(body, status=status)

    @staticmethod
    async def _read_params(
        request: web.Request,
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("request body must be a JSON object")
            params.update(body)
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
                else:
                    params[key] = value
        decoded = {
            key: _decode_value(key, value) if isinstance(value, str) else value
            for key, value in params.items()
        }
        return decoded, files

    async def _emulator(self, token: str, method: str, body: dict[str, Any]) -> Any:
        assert self._session is not None
        url = f"{self.emulator_url}/bot{token}/{method}"
        async with self._session.post(url, json=body) as response:
            data = await response.json(content_type=None)
        if response.status == 200 and data.get("ok"):
            return data.get("result")
        if "ok" in data:
            raise ApiError(
                int(data.get("error_code") or response.status), str(data.get("description"))
            )
        raise ApiError(500, f"Internal Server Error: telegram-test-api: {data.get('message')}")

    async def _history(self, token: str) -> list[dict[str, Any]]:
        assert self._session is not None
        url = f"{self.emulator_url}/getUpdatesHistory"
        async with self._session.post(url, json={"token": token}) as response:
            data = await response.json(content_type=None)
        return list(data.get("result") or [])

    # ------------------------------------------------------------------------------------------
    # Objects
    # ------------------------------------------------------------------------------------------

    def _bot_user(self, token: str) -> dict[str, Any]:
        self._bot_id = int(token.split(":", 1)[0])
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _user(self, user_id: int) -> dict[str, Any]:
        return self._users.get(user_id) or {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User {user_id}",
        }

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            first_name = self._user(chat_id)["first_name"]
            return {"id": chat_id, "type": "private", "first_name": first_name}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def _remember(self, message: dict[str, Any]) -> None:
        chat = message.get("chat")
        if isinstance(chat, dict) and "id" in chat:
            self._chats[chat["id"]] = chat
        person = message.get("from")
        if isinstance(person, dict) and "id" in person and not person.get("is_bot"):
            self._users[person["id"]] = person

    @staticmethod
    def _member_object(status: str, user: dict[str, Any]) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(can_be_edited=False, is_anonymous=False)
            member.update({right: True for right in ADMIN_RIGHTS})
        return member

    def _status(self, chat_id: int, user_id: int) -> str:
        if self._creators.get(chat_id) == user_id:
            return "creator"
        if user_id in self._admins.get(chat_id, set()):
            return "administrator"
        return "member"

    def _resolve_file(self, kind: str, ref: Any, files: dict[str, UploadedFile]) -> StoredFile:
        if not isinstance(ref, str) or not ref:
            raise bad_request(f"there is no {kind} in the request")
        if ref.startswith("attach://"):
            upload = files.get(ref.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"file {ref} not found in the request")
            self._file_counter += 1
            unique = f"AgAD{self._file_counter:04d}{secrets.token_hex(4)}"
            file_id = f"BQACAgIAAxkBAAE{self._file_counter:04d}{secrets.token_urlsafe(12)}"
            stored = StoredFile(
                file_id, unique, kind, upload.filename, upload.content_type, upload.content
            )
            self._files[file_id] = stored
            return stored
        if ref not in self._files:  # a file id the bot learnt from a user's message
            unique = f"AgAD{hashlib.sha256(ref.encode()).hexdigest()[:12]}"
            self._files[ref] = StoredFile(ref, unique, kind)
        return self._files[ref]

    @staticmethod
    def _media_object(kind: str, stored: StoredFile) -> Any:
        base: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.content is not None:
            base["file_size"] = len(stored.content)
        if kind == "photo":
            return [{**base, "width": 640, "height": 480}]
        if kind == "voice":
            return {**base, "duration": 1, "mime_type": stored.mime_type or "audio/ogg"}
        for key in ("file_name", "mime_type"):
            if getattr(stored, key):
                base[key] = getattr(stored, key)
        return base

    def _message_from_entry(self, token: str, entry: dict[str, Any]) -> dict[str, Any]:
        """A Bot API ``Message`` for a bot message stored by the emulator."""
        stored = entry["message"]
        parse_mode = stored.get("parse_mode")
        message: dict[str, Any] = {
            "message_id": int(entry["messageId"]),
            "from": self._bot_user(token),
            "date": int(entry["time"]) // 1000,
            "chat": self._chat(int(stored["chat_id"])),
        }
        for key in CONTENT_KEYS:
            if stored.get(key) is not None:
                message[key] = stored[key]
        for key in ("text", "caption"):
            if stored.get(key) is not None:
                message[key] = render_text(stored[key], parse_mode)
        if rows := _markup_rows(stored.get("reply_markup")):
            message["reply_markup"] = {"inline_keyboard": rows}
        return message

    async def _store_bot_message(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        result = await self._emulator(token, "sendMessage", body)
        entry = {"messageId": result["message_id"], "time": time.time() * 1000, "message": body}
        return self._message_from_entry(token, entry)

    # ------------------------------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------------------------------

    @staticmethod
    def _chat_id(params: dict[str, Any]) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if not isinstance(value, int):
            raise bad_request("chat not found")
        return value

    @staticmethod
    def _message_id(params: dict[str, Any]) -> int:
        value = params.get("message_id")
        if not isinstance(value, int):
            raise bad_request("message identifier is not specified")
        return value

    @staticmethod
    def _check_text(text: Any, parse_mode: Any, limit: int, too_long: str) -> None:
        if (parse_mode or "").lower() == "html" and (reason := html_error(str(text))):
            raise bad_request(f"can't parse entities: {reason}")
        if utf16_len(render_text(str(text), parse_mode) or "") > limit:
            raise bad_request(too_long)

    @staticmethod
    def _check_markup(markup: Any) -> None:
        if not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                if not button.get("text"):
                    raise bad_request("BUTTON_TEXT_INVALID")
                if not BUTTON_ACTIONS.intersection(button):
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")

    def _check_send(self, params: dict[str, Any], *, caption: bool = False) -> int:
        chat_id = self._chat_id(params)
        if caption and params.get("caption") is not None:
            self._check_text(
                params["caption"], params.get("parse_mode"), 1024, "message caption is too long"
            )
        self._check_markup(params.get("reply_markup"))
        return chat_id

    # ------------------------------------------------------------------------------------------
    # Updates
    # ------------------------------------------------------------------------------------------

    async def _get_updates(
        self, token: str, params: dict[str, Any], request: web.Request
    ) -> list[dict[str, Any]]:
        self.poll_count += 1
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(float(params.get("timeout") or 0), self.max_poll_hold)
        while not self._closing:
            transport = request.transport
            if transport is None or transport.is_closing():
                break  # the bot went away: leave the updates for its successor
            await self._pull(token)
            if self._pending or loop.time() >= deadline:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), POLL_INTERVAL_S)
            except TimeoutError:
                pass
        limit = int(params.get("limit") or 100)
        return self._pending[: max(1, min(limit, 100))]

    async def _pull(self, token: str) -> None:
        for raw in await self._emulator(token, "getUpdates", {}):
            update = self._fix_update(token, raw)
            if update is None:
                continue
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
            self._pending.append(update)

    def _fix_update(self, token: str, update: dict[str, Any]) -> dict[str, Any] | None:
        if "callback_query" in update:
            query = dict(update["callback_query"])
            message = self._fix_message(token, dict(query.get("message") or {}))
            message.setdefault("from", self._bot_user(token))
            query["message"] = message
            query["chat_instance"] = chat_instance(int(message["chat"]["id"]))
            self._remember({"chat": message["chat"], "from": query.get("from")})
            self._callback_ids.add(str(query["id"]))
            return {"callback_query": query}
        if "message" in update:
            message = self._fix_message(token, dict(update["message"]))
            self._remember(message)
            if self._hidden_by_privacy(token, message):
                return None
            return {"message": message}
        return None  # the emulator produces no other kind of update

    def _fix_message(self, token: str, message: dict[str, Any]) -> dict[str, Any]:
        message.pop("botToken", None)
        date = int(message.get("date") or time.time())
        message["date"] = date // 1000 if date > 10**11 else date
        reply = message.get("reply_to_message")
        if isinstance(reply, dict):
            message["reply_to_message"] = self._fix_message(token, dict(reply))
            if "from" not in reply:
                message["reply_to_message"]["from"] = self._bot_user(token)
        return message

    def _hidden_by_privacy(self, token: str, message: dict[str, Any]) -> bool:
        if not self.privacy_mode or message.get("chat", {}).get("type") == "private":
            return False
        if SERVICE_KEYS.intersection(message):
            return False
        text = str(message.get("text") or message.get("caption") or "")
        bot = self._bot_user(token)
        mention = f"@{bot['username']}".lower()
        command, _, addressee = text.split(" ", 1)[0].partition("@")
        reply_from = (message.get("reply_to_message") or {}).get("from") or {}
        return not (
            (command.startswith("/") and (not addressee or f"@{addressee}".lower() == mention))
            or mention in text.lower()
            or reply_from.get("id") == bot["id"]
        )

    async def _delete_webhook(self, token: str, params: dict[str, Any], files) -> bool:
        await self._emulator(token, "deleteWebhook", {})
        return True

    # ------------------------------------------------------------------------------------------
    # Bot and chat information
    # ------------------------------------------------------------------------------------------

    async def _get_me(self, token: str, params: dict[str, Any], files) -> dict[str, Any]:
        emulated = await self._emulator(token, "getMe", {})
        self.bot_first_name = emulated.get("first_name") or self.bot_first_name
        self.bot_username = emulated.get("username") or self.bot_username
        return {
            **self._bot_user(token),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_chat_member(self, token: str, params: dict[str, Any], files):
        chat_id = self._chat_id(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("user_id is empty" if user_id is None else "invalid user_id")
        bot = self._bot_user(token)
        user = bot if user_id == bot["id"] else self._user(user_id)
        if chat_id > 0:
            if chat_id != user_id and user_id != bot["id"]:
                raise bad_request("member not found")
            return self._member_object("member", user)
        return self._member_object(self._status(chat_id, user_id), user)

    async def _get_chat_administrators(self, token: str, params: dict[str, Any], files):
        chat_id = self._chat_id(params)
        admins = sorted(self._admins.get(chat_id, set()))
        return [self._member_object(self._status(chat_id, uid), self._user(uid)) for uid in admins]

    @staticmethod
    def _scope_key(scope: Any) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    async def _set_my_commands(self, token: str, params: dict[str, Any], files) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be a list")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("LANG_CODE_INVALID")
        self.commands[(self._scope_key(params.get("scope")), language)] = commands
        return True

    # ------------------------------------------------------------------------------------------
    # Messages
    # ------------------------------------------------------------------------------------------

    async def _send_message(self, token: str, params: dict[str, Any], files):
        chat_id = self._check_send(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        self._check_text(text, params.get("parse_mode"), 4096, "message is too long")
        return await self._store_bot_message(token, {**params, "chat_id": chat_id})

    def _media_handler(self, method: str) -> Handler:
        kind = MEDIA_METHODS[method]

        async def send(token: str, params: dict[str, Any], files: dict[str, UploadedFile]):
            chat_id = self._check_send(params, caption=True)
            stored = self._resolve_file(kind, params.get(kind), files)
            body = {key: value for key, value in params.items() if key not in (kind, "thumbnail")}
            body.update({"chat_id": chat_id, kind: self._media_object(kind, stored)})
            message = await self._store_bot_message(token, body)
            self.sent_files.append(
                SentFile(method, chat_id, message["message_id"], stored, params.get("caption"))
            )
            return message

        return send

    async def _find_stored(
        self, token: str, chat_id: int, message_id: int, *, bot_only: bool
    ) -> dict[str, Any] | None:
        for entry in await self._history(token):
            if "callbackId" in entry or int(entry.get("messageId", 0)) != message_id:
                continue
            message = entry.get("message") or {}
            if "chat_id" in message and str(message["chat_id"]) == str(chat_id):
                return entry
            if not bot_only and (message.get("chat") or {}).get("id") == chat_id:
                return entry
        return None

    async def _bot_message_to_edit(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = self._chat_id(params), self._message_id(params)
        entry = await self._find_stored(token, chat_id, message_id, bot_only=True)
        if entry is None:
            raise bad_request("message to edit not found")
        return entry

    async def _apply_edit(
        self, token: str, entry: dict[str, Any], params: dict[str, Any], changes: dict[str, Any]
    ) -> dict[str, Any]:
        self._check_markup(params.get("reply_markup"))
        changes["reply_markup"] = params.get("reply_markup") or {"inline_keyboard": []}
        stored = entry["message"]
        after_stored = {**stored, **changes}
        before, after = (
            (render_text(m.get("text"), m.get("parse_mode")), _markup_rows(m.get("reply_markup")))
            for m in (stored, after_stored)
        )
        if before == after:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        changes["edit_date"] = int(time.time())
        body = {"chat_id": stored["chat_id"], "message_id": int(entry["messageId"]), **changes}
        await self._emulator(token, "editMessageText", body)
        return self._message_from_entry(token, {**entry, "message": {**stored, **changes}})

    async def _edit_message_text(self, token: str, params: dict[str, Any], files):
        entry = await self._bot_message_to_edit(token, params)
        if "text" not in entry["message"]:
            raise bad_request("there is no text in the message to edit")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        self._check_text(text, params.get("parse_mode"), 4096, "MESSAGE_TOO_LONG")
        changes = {"text": text, "parse_mode": params.get("parse_mode")}
        if params.get("entities") is not None:
            changes["entities"] = params["entities"]
        return await self._apply_edit(token, entry, params, changes)

    async def _edit_message_reply_markup(self, token: str, params: dict[str, Any], files):
        entry = await self._bot_message_to_edit(token, params)
        return await self._apply_edit(token, entry, params, {})

    async def _delete_message(self, token: str, params: dict[str, Any], files) -> bool:
        chat_id, message_id = self._chat_id(params), self._message_id(params)
        if await self._find_stored(token, chat_id, message_id, bot_only=False) is None:
            raise bad_request("message to delete not found")
        for _attempt in range(5):
            try:
                await self._emulator(
                    token, "deleteMessage", {"chat_id": chat_id, "message_id": message_id}
                )
            except ApiError:
                break
            if await self._find_stored(token, chat_id, message_id, bot_only=False) is None:
                break
        return True

    async def _answer_callback_query(self, token: str, params: dict[str, Any], files) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_ids or query_id in self.callback_answers:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = params
        return True

    async def _pin_chat_message(self, token: str, params: dict[str, Any], files) -> bool:
        chat_id, message_id = self._chat_id(params), self._message_id(params)
        if await self._find_stored(token, chat_id, message_id, bot_only=False) is None:
            raise bad_request("message to pin not found")
        pins = self.pinned.setdefault(chat_id, [])
        if message_id in pins:
            pins.remove(message_id)
        pins.append(message_id)
        return True
