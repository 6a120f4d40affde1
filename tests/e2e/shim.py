"""A Bot API reverse proxy between the bot under test and the ``telegram-test-api`` emulator.

The bot is started with ``TELEGRAM_API_URL`` pointing here; aiogram then calls
``{url}/bot{token}/{method}`` and downloads files from ``{url}/file/bot{token}/{path}``. The
proxy runs inside the pytest process (aiohttp), forwards what the emulator does well, repairs
what it gets wrong and answers what it lacks itself, recording everything for the tests. Nothing
of this lives in the product: the bot talks plain Bot API.

Patches, and why each is needed (telegram-test-api 4.2.1, see package.json):

Requests
  1. Request bodies are re-encoded as JSON. aiogram posts ``application/x-www-form-urlencoded``
     (``multipart/form-data`` when a file is uploaded) with nested values JSON-encoded; the
     emulator's express server parses JSON and urlencoded bodies only, so a multipart request
     reaches it empty (``chat_id`` becomes ``null``). The proxy decodes every request (typed
     values: ints, bools, nested objects) and forwards JSON.

Updates (getUpdates)
  2. Long polling. The emulator answers ``getUpdates`` at once, ignoring ``timeout``, ``offset``
     and ``limit``, and marks updates read as soon as it returns them. aiogram would spin in a
     busy loop and an update fetched for a bot that is shutting down would be lost. The proxy
     holds the request (up to ``max_poll_hold`` seconds, polling the emulator), keeps fetched
     updates until the bot confirms them with ``offset`` (as Telegram does, so a restarted bot
     receives what its predecessor did not confirm), honours ``limit`` and ``allowed_updates``
     (Telegram's default excludes ``chat_member`` and the reaction updates), and renumbers
     ``update_id`` into one increasing sequence shared with injected updates.
  3. Callback queries lack ``chat_instance``, which aiogram's ``CallbackQuery`` requires: it is
     added, derived from the chat id. The id is the emulator's counter as a string ("1", "2"...).
  4. The emulator passes user messages through as the test client stored them, including its
     ``botToken`` field: that field is removed, millisecond dates become seconds, and a message
     a callback belongs to gets the bot as ``from``.
  5. Updates the emulator cannot produce (``my_chat_member``, ``chat_member``...) are injected
     by tests with ``push_update`` / ``push_my_chat_member``.
  6. Privacy mode (optional, ``privacy_mode=True``): the emulator delivers every group message;
     Telegram delivers to a bot in privacy mode only commands (not those addressed to another
     bot), mentions of the bot, replies to it and service messages. Off by default (what a bot
     that is a group admin receives).

Methods the emulator serves, with repaired answers
  7. ``getMe`` lacks ``is_bot`` (required by aiogram) and the ``can_*``/``supports_*`` flags,
     and its id (666) differs from the token's: the answer is completed, the id taken from the
     token.
  8. ``sendMessage`` answers with the request echoed back, a millisecond ``date``, a chat that
     is always ``private`` with ``first_name`` "Bot", and no ``from``: the proxy returns a proper
     ``Message`` (seconds, the real chat as seen in updates, the bot as sender, the text as
     rendered).
  9. ``editMessageText`` and ``editMessageReplyMarkup`` answer ``null`` (aiogram expects the
     edited ``Message``), do not check that the message exists or changed, keep the old inline
     keyboard when an edit omits ``reply_markup`` (Telegram removes it), and the emulator's own
     ``editMessageReplyMarkup`` ignores a markup without ``inline_keyboard``. Every edit
     (``editMessageText``, ``editMessageCaption``, ``editMessageReplyMarkup``) is therefore
     checked here ("message to edit not found", "message is not modified"), sent to the
     emulator's ``editMessageText`` route, which merges any fields into the stored message, with
     the keyboard cleared when omitted and ``edit_date`` set, and answered with the ``Message``.
     Inline-message edits (``inline_message_id``) are refused with 400.
 10. ``deleteMessage`` answers ``null`` (aiogram expects ``true``). The emulator matches stored
     entries by a message id shared with callback queries (a callback entry carries the id the
     next message will get), so it may delete a pressed callback instead of the bot message with
     that id: the proxy repeats the call until the target is gone. Unknown messages give
     "message to delete not found". ``deleteMessages`` is built on it.
 11. ``answerCallbackQuery`` answers ``null``: the proxy answers ``true`` itself, rejects unknown
     or already answered query ids like Telegram, and records the answer (``callback_answers``).
 12. ``deleteWebhook`` works but ignores ``drop_pending_updates``: the proxy drains the
     emulator's and its own pending updates when asked. ``setWebhook`` is refused with 400:
     the emulator would push raw, unrepaired updates straight to the bot, so end-to-end tests
     run the bot in polling mode.

Methods the emulator lacks (it answers HTTP 500 with a non-Bot-API body), answered here
 13. ``getChatMember``, ``getChatAdministrators``, ``getChatMemberCount``, ``getChat``: from
     tables the test controls (``set_admins``, ``set_member_status``) and the chats and users
     seen in updates. Administrator objects carry every field aiogram's models require.
 14. ``setMyCommands``, ``deleteMyCommands``, ``getMyCommands`` (per scope and language),
     ``setChatMenuButton``/``getChatMenuButton``, ``setMyDescription``,
     ``setMyShortDescription``, ``setMyName`` and their getters: stored, ``true``, visible in
     ``commands``, ``menu_buttons`` and ``profile``.
 15. ``sendDocument``, ``sendPhoto``, ``sendAudio``, ``sendVoice``, ``sendVideo``,
     ``sendAnimation``, ``sendVideoNote``, ``sendSticker``, ``sendMediaGroup``,
     ``sendLocation``, ``copyMessage``, ``forwardMessage``: uploads are kept (``sent_files``,
     with their bytes), file ids resolved, and the message is stored in the emulator through its
     ``sendMessage`` route with the media object attached, so the test's client sees it among
     the bot's messages; the answer is a plausible ``Message`` (``MessageId`` for copies).
 16. ``pinChatMessage``, ``unpinChatMessage``, ``unpinAllChatMessages``: checked against the
     stored messages, recorded in ``pinned``.
 17. ``getFile`` and file downloads, for files the bot uploaded or the test registered with
     ``add_file``. ``sendChatAction``, ``setMessageReaction``, ``leaveChat``,
     ``getWebhookInfo``: answered plausibly and recorded.
 18. Any other method gets Telegram's ``404 Not Found`` and is listed in ``unsupported``.

Checks Telegram makes that the emulator does not (400 answers with Telegram's descriptions):
empty or too long texts (4096) and captions (1024), malformed ``parse_mode=HTML`` markup,
callback data over 64 bytes, inline buttons without an action, invalid bot commands. Tests can
also make the API fail: ``block`` (403 "bot was blocked by the user") and ``fail_next`` (any
error, e.g. 429 with ``retry_after``).
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
from emulator import CONTENT_KEYS, MEDIA_KEYS, Chat, User, html_error, render_text, utf16_len

log = logging.getLogger("e2e.shim")

POLL_INTERVAL_S = 0.05
BOT_FIRST_NAME = "Test First name"  # what telegram-test-api's getMe answers
BOT_USERNAME = "TestNameBot"

DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
SERVICE_KEYS = frozenset(
    "new_chat_members left_chat_member new_chat_title new_chat_photo delete_chat_photo "
    "group_chat_created supergroup_chat_created migrate_to_chat_id migrate_from_chat_id "
    "pinned_message".split()
)
JSON_FIELDS = frozenset(
    "reply_markup entities caption_entities reply_parameters link_preview_options commands "
    "scope menu_button allowed_updates media message_ids reaction permissions rights".split()
)
INT_FIELDS = frozenset(
    "chat_id from_chat_id message_id user_id offset limit timeout reply_to_message_id "
    "message_thread_id duration width height length cache_time until_date live_period".split()
)
FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
BOOL_FIELDS = frozenset(
    "disable_notification protect_content allow_sending_without_reply disable_web_page_preview "
    "show_alert drop_pending_updates is_big allow_paid_broadcast show_caption_above_media "
    "has_spoiler disable_content_type_detection for_channels only_if_banned".split()
)
MEDIA_METHODS = {
    "sendDocument": "document",
    "sendPhoto": "photo",
    "sendAudio": "audio",
    "sendVoice": "voice",
    "sendVideo": "video",
    "sendAnimation": "animation",
    "sendVideoNote": "video_note",
    "sendSticker": "sticker",
}
SEND_METHODS = frozenset(
    [name.lower() for name in MEDIA_METHODS]
    + [*"sendmessage sendmediagroup sendlocation copymessage forwardmessage".split()]
    + ["sendchataction"]
)
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
RESTRICTED_RIGHTS = tuple(
    "can_send_messages can_send_audios can_send_documents can_send_photos can_send_videos "
    "can_send_video_notes can_send_voice_notes can_send_polls can_send_other_messages "
    "can_add_web_page_previews can_react_to_messages can_edit_tag can_change_info "
    "can_invite_users can_pin_messages can_manage_topics".split()
)


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


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

    @property
    def file_path(self) -> str:
        return f"{self.kind}s/{self.file_unique_id}_{self.file_name or 'file'}"


@dataclass(frozen=True)
class SentFile:
    """A file the bot sent: by upload (``file.content`` holds the bytes) or by file id."""

    method: str
    chat_id: int
    message_id: int
    file: StoredFile
    caption: str | None


@dataclass
class _Failure:
    method: str
    error: ApiError
    chat_id: int | None
    remaining: int


def _decode_value(key: str, value: str) -> Any:
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            return value
    if key in BOOL_FIELDS and value in ("true", "false"):
        return value == "true"
    return value


def chat_instance(chat_id: int) -> str:
    digest = hashlib.sha256(f"chat-instance:{chat_id}".encode()).hexdigest()
    return str(int(digest[:15], 16))


def _update_type(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


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
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.profile: dict[tuple[str, str], str] = {}
        self.sent_files: list[SentFile] = []
        self.pinned: dict[int, list[int]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.deleted: list[tuple[int, int]] = []
        self.left_chats: list[int] = []
        self.poll_count = 0
        self.bot_first_name = BOT_FIRST_NAME
        self.bot_username = BOT_USERNAME
        self._bot_id: int | None = int(bot_token.split(":", 1)[0]) if bot_token else None

        # What tests control.
        self.blocked: set[int] = set()
        self._admins: dict[int, set[int]] = {}
        self._creators: dict[int, int] = {}
        self._statuses: dict[tuple[int, int], str] = {}
        self._failures: list[_Failure] = []

        # Conversation state.
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._members: dict[int, set[int]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._pending: list[dict[str, Any]] = []
        self._injected: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] | None = None
        self._callback_ids: set[str] = set()
        self._wakeup = asyncio.Event()

        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "getchatmembercount": self._get_chat_member_count,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "setmydescription": self._profile_setter("description"),
            "getmydescription": self._profile_getter("description"),
            "setmyshortdescription": self._profile_setter("short_description"),
            "getmyshortdescription": self._profile_getter("short_description"),
            "setmyname": self._profile_setter("name"),
            "getmyname": self._profile_getter("name"),
            "sendmediagroup": self._send_media_group,
            "sendlocation": self._send_location,
            "copymessage": self._copy_message,
            "forwardmessage": self._forward_message,
            "pinchatmessage": self._pin_chat_message,
            "unpinchatmessage": self._unpin_chat_message,
            "unpinallchatmessages": self._unpin_all_chat_messages,
            "getfile": self._get_file,
            "sendchataction": self._true,
            "setmessagereaction": self._true,
            "leavechat": self._leave_chat,
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
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
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

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Status of a non-admin: "member", "restricted", "left" or "kicked"."""
        if status not in ("member", "restricted", "left", "kicked"):
            raise ValueError(f"use set_admins for status {status!r}")
        self._statuses[(chat_id, user_id)] = status

    def register_chat(self, chat: Chat) -> None:
        """Make a chat known before the bot has seen an update from it."""
        self._chats[chat.id] = chat.as_dict()

    def register_user(self, user: User) -> None:
        self._users[user.id] = user.as_dict()

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to their private chat fail with 403."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` (for ``chat_id``) with an error."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: injected failure",
            }.get(error_code, "Internal Server Error")
        error = ApiError(error_code, description, retry_after=retry_after)
        self._failures.append(_Failure(method.lower(), error, chat_id, count))

    def push_update(self, update: dict[str, Any]) -> None:
        """Deliver an update the emulator cannot produce (its ``update_id`` is assigned)."""
        update = {key: value for key, value in update.items() if key != "update_id"}
        _update_type(update)
        self._injected.append(update)
        self._wakeup.set()

    def push_my_chat_member(
        self,
        chat: Chat,
        by: User,
        new_status: str = "member",
        old_status: str = "left",
        *,
        bot_id: int | None = None,
    ) -> None:
        """The bot's own membership changed (e.g. it was added to a group by ``by``)."""
        self.register_chat(chat)
        self.register_user(by)
        bot = self._bot_user_for_id(bot_id) if bot_id is not None else self._known_bot_user()
        self.push_update(
            {
                "my_chat_member": {
                    "chat": chat.as_dict(),
                    "from": by.as_dict(),
                    "date": int(time.time()),
                    "old_chat_member": self._member_object(old_status, bot),
                    "new_chat_member": self._member_object(new_status, bot),
                }
            }
        )

    def add_file(
        self,
        content: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        *,
        kind: str = "document",
    ) -> Any:
        """Register a file a user sends; returns the media object for their message.

        ``await tg.send_message(user, chat, document=shim.add_file(b"...", "a.pdf"))``
        """
        stored = self._new_file(kind, file_name, mime_type, content)
        return self._media_object(kind, stored, {})

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

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
            self._raise_injected_failure(key, params)
            if key == "getupdates":
                result = await self._get_updates(token, params, request)
            else:
                if key in SEND_METHODS and params.get("chat_id") in self.blocked:
                    raise ApiError(403, "Forbidden: bot was blocked by the user")
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

    def _raise_injected_failure(self, key: str, params: dict[str, Any]) -> None:
        for failure in self._failures:
            if failure.method != key or failure.remaining <= 0:
                continue
            if failure.chat_id is not None and params.get("chat_id") != failure.chat_id:
                continue
            failure.remaining -= 1
            raise failure.error

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path and stored.content is not None:
                return web.Response(
                    body=stored.content,
                    content_type=stored.mime_type or "application/octet-stream",
                )
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

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

    def _bot_user_for_id(self, bot_id: int) -> dict[str, Any]:
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _bot_user(self, token: str) -> dict[str, Any]:
        self._bot_id = int(token.split(":", 1)[0])
        return self._bot_user_for_id(self._bot_id)

    def _known_bot_user(self) -> dict[str, Any]:
        if self._bot_id is None:
            raise RuntimeError("bot unknown: create the shim with bot_token or pass bot_id")
        return self._bot_user_for_id(self._bot_id)

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id == self._bot_id:
            return self._known_bot_user()
        return self._users.get(user_id) or {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User {user_id}",
        }

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            user = self._user(chat_id)
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
            return chat
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def _remember(self, message: dict[str, Any]) -> None:
        chat = message.get("chat")
        if isinstance(chat, dict) and "id" in chat:
            self._chats[chat["id"]] = chat
        people = [message.get("from"), *(message.get("new_chat_members") or [])]
        for person in people:
            if isinstance(person, dict) and "id" in person and not person.get("is_bot"):
                self._users[person["id"]] = person
                if isinstance(chat, dict) and "id" in chat:
                    self._members.setdefault(chat["id"], set()).add(person["id"])

    def _member_object(self, status: str, user: dict[str, Any]) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(can_be_edited=False, is_anonymous=False)
            member.update({right: True for right in ADMIN_RIGHTS})
        elif status == "restricted":
            member.update(is_member=True, until_date=0)
            member.update({right: False for right in RESTRICTED_RIGHTS})
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _status(self, chat_id: int, user_id: int) -> str:
        if self._creators.get(chat_id) == user_id:
            return "creator"
        if user_id in self._admins.get(chat_id, set()):
            return "administrator"
        return self._statuses.get((chat_id, user_id), "member")

    def _new_file(
        self, kind: str, file_name: str | None, mime_type: str | None, content: bytes | None
    ) -> StoredFile:
        self._file_counter += 1
        unique = f"AgAD{self._file_counter:04d}{secrets.token_hex(4)}"
        file_id = f"BQACAgIAAxkBAAE{self._file_counter:04d}{secrets.token_urlsafe(12)}"
        stored = StoredFile(file_id, unique, kind, file_name, mime_type, content)
        self._files[file_id] = stored
        return stored

    def _resolve_file(self, kind: str, ref: Any, files: dict[str, UploadedFile]) -> StoredFile:
        if not isinstance(ref, str) or not ref:
            raise bad_request(f"there is no {kind} in the request")
        if ref.startswith("attach://"):
            upload = files.get(ref.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"file {ref} not found in the request")
            return self._new_file(kind, upload.filename, upload.content_type, upload.content)
        if ref in self._files:
            return self._files[ref]
        if ref.startswith(("http://", "https://")):
            return self._new_file(kind, ref.rsplit("/", 1)[-1] or None, None, None)
        # A file id the bot learnt from a message the test wrote by hand.
        stored = StoredFile(ref, f"AgAD{hashlib.sha256(ref.encode()).hexdigest()[:12]}", kind)
        self._files[ref] = stored
        return stored

    @staticmethod
    def _media_object(kind: str, stored: StoredFile, params: dict[str, Any]) -> Any:
        base: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.content is not None:
            base["file_size"] = len(stored.content)
        duration = int(params.get("duration") or 1)
        width, height = int(params.get("width") or 640), int(params.get("height") or 480)
        if kind == "photo":
            return [{**base, "width": width, "height": height}]
        if kind == "document":
            for key in ("file_name", "mime_type"):
                if getattr(stored, key):
                    base[key] = getattr(stored, key)
            return base
        if kind in ("audio", "voice"):
            return {**base, "duration": duration, "mime_type": stored.mime_type or "audio/ogg"}
        if kind in ("video", "animation"):
            return {**base, "width": width, "height": height, "duration": duration}
        if kind == "video_note":
            return {**base, "length": int(params.get("length") or 240), "duration": duration}
        if kind == "sticker":
            return {
                **base,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        raise ValueError(kind)

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
    def _chat_id(params: dict[str, Any], key: str = "chat_id") -> int:
        value = params.get(key)
        if value is None or value == "":
            raise bad_request(f"{key} is empty")
        if not isinstance(value, int):
            raise bad_request("chat not found")
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
                actions = BUTTON_ACTIONS.intersection(button)
                if not actions:
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
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
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

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = _update_type(update)
        if self._allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    async def _pull(self, token: str) -> None:
        fresh = [self._fix_update(token, u) for u in await self._emulator(token, "getUpdates", {})]
        fresh += self._injected
        self._injected = []
        for update in fresh:
            if update is None:
                continue
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
            self._pending.append(update)
        self._pending = [u for u in self._pending if self._is_allowed(u)]

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
        update = {key: value for key, value in update.items() if key != "update_id"}
        return update

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
        if params.get("drop_pending_updates"):
            await self._emulator(token, "getUpdates", {})
            self._pending.clear()
            self._injected.clear()
        return True

    async def _set_webhook(self, token: str, params: dict[str, Any], files) -> bool:
        raise bad_request("webhook mode is not bridged by the test shim: run the bot with polling")

    async def _get_webhook_info(self, token: str, params: dict[str, Any], files):
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

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

    async def _get_chat(self, token: str, params: dict[str, Any], files) -> dict[str, Any]:
        chat = self._chat(self._chat_id(params))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, token: str, params: dict[str, Any], files):
        chat_id = self._chat_id(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("user_id is empty" if user_id is None else "invalid user_id")
        self._bot_user(token)
        if chat_id > 0:
            if chat_id != user_id and user_id != self._bot_id:
                raise bad_request("member not found")
            return self._member_object("member", self._user(user_id))
        return self._member_object(self._status(chat_id, user_id), self._user(user_id))

    async def _get_chat_administrators(self, token: str, params: dict[str, Any], files):
        chat_id = self._chat_id(params)
        self._bot_user(token)
        admins = sorted(self._admins.get(chat_id, set()))
        return [self._member_object(self._status(chat_id, uid), self._user(uid)) for uid in admins]

    async def _get_chat_member_count(self, token: str, params: dict[str, Any], files) -> int:
        chat_id = self._chat_id(params)
        if chat_id > 0:
            return 2
        people = self._members.get(chat_id, set()) | self._admins.get(chat_id, set())
        return len(people) + 1

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

    async def _delete_my_commands(self, token: str, params: dict[str, Any], files) -> bool:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, token: str, params: dict[str, Any], files):
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return self.commands.get(key, [])

    async def _set_chat_menu_button(self, token: str, params: dict[str, Any], files) -> bool:
        chat_id = params.get("chat_id")
        self.menu_buttons[chat_id if isinstance(chat_id, int) else None] = params.get(
            "menu_button"
        ) or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, token: str, params: dict[str, Any], files):
        chat_id = params.get("chat_id")
        key = chat_id if isinstance(chat_id, int) else None
        return self.menu_buttons.get(key) or self.menu_buttons.get(None) or {"type": "default"}

    def _profile_setter(self, name: str) -> Handler:
        async def setter(token: str, params: dict[str, Any], files) -> bool:
            language = str(params.get("language_code") or "")
            value = params.get(name)
            if value:
                self.profile[(name, language)] = str(value)
            else:
                self.profile.pop((name, language), None)
            return True

        return setter

    def _profile_getter(self, name: str) -> Handler:
        async def getter(token: str, params: dict[str, Any], files) -> dict[str, str]:
            language = str(params.get("language_code") or "")
            value = self.profile.get((name, language), self.profile.get((name, ""), ""))
            return {name: value}

        return getter

    async def _true(self, token: str, params: dict[str, Any], files) -> bool:
        return True

    async def _leave_chat(self, token: str, params: dict[str, Any], files) -> bool:
        self.left_chats.append(self._chat_id(params))
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
        async def send(token: str, params: dict[str, Any], files: dict[str, UploadedFile]):
            return await self._send_media_as(token, method, params, files)

        return send

    async def _send_media_as(
        self, token: str, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        kind = MEDIA_METHODS[method]
        chat_id = self._check_send(params, caption=True)
        stored = self._resolve_file(kind, params.get(kind), files)
        body = {key: value for key, value in params.items() if key not in (kind, "thumbnail")}
        body.update({"chat_id": chat_id, kind: self._media_object(kind, stored, params)})
        message = await self._store_bot_message(token, body)
        self.sent_files.append(
            SentFile(method, chat_id, message["message_id"], stored, params.get("caption"))
        )
        return message

    async def _send_media_group(self, token: str, params: dict[str, Any], files):
        chat_id = self._check_send(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the group (2 to 10)")
        group_id = str(10**17 + secrets.randbelow(10**17))
        messages = []
        for item in media:
            kind = str(item.get("type"))
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request(f"unsupported media type {kind!r} in a media group")
            if item.get("caption") is not None:
                self._check_text(
                    item["caption"], item.get("parse_mode"), 1024, "message caption is too long"
                )
            stored = self._resolve_file(kind, item.get("media"), files)
            body = {
                "chat_id": chat_id,
                kind: self._media_object(kind, stored, item),
                "media_group_id": group_id,
            }
            for key in ("caption", "parse_mode", "caption_entities"):
                if item.get(key) is not None:
                    body[key] = item[key]
            message = await self._store_bot_message(token, body)
            self.sent_files.append(
                SentFile(
                    "sendMediaGroup", chat_id, message["message_id"], stored, item.get("caption")
                )
            )
            messages.append(message)
        return messages

    async def _send_location(self, token: str, params: dict[str, Any], files):
        chat_id = self._check_send(params)
        latitude, longitude = params.get("latitude"), params.get("longitude")
        if not isinstance(latitude, float) or not isinstance(longitude, float):
            raise bad_request("latitude and longitude are required")
        body = {key: value for key, value in params.items() if key not in ("latitude", "longitude")}
        body["chat_id"] = chat_id
        body["location"] = {"latitude": latitude, "longitude": longitude}
        return await self._store_bot_message(token, body)

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
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the test emulator")
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
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
        before = (
            render_text(stored.get("text"), stored.get("parse_mode")),
            render_text(stored.get("caption"), stored.get("parse_mode")),
            _markup_rows(stored.get("reply_markup")),
        )
        after_stored = {**stored, **changes}
        after = (
            render_text(after_stored.get("text"), after_stored.get("parse_mode")),
            render_text(after_stored.get("caption"), after_stored.get("parse_mode")),
            _markup_rows(after_stored.get("reply_markup")),
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

    async def _edit_message_caption(self, token: str, params: dict[str, Any], files):
        entry = await self._bot_message_to_edit(token, params)
        if not any(key in entry["message"] for key in MEDIA_KEYS):
            raise bad_request("there is no caption in the message to edit")
        caption = params.get("caption")
        if caption is not None:
            self._check_text(caption, params.get("parse_mode"), 1024, "MESSAGE_CAPTION_TOO_LONG")
        changes = {"caption": caption, "parse_mode": params.get("parse_mode")}
        return await self._apply_edit(token, entry, params, changes)

    async def _edit_message_reply_markup(self, token: str, params: dict[str, Any], files):
        entry = await self._bot_message_to_edit(token, params)
        return await self._apply_edit(token, entry, params, {})

    async def _delete_message(self, token: str, params: dict[str, Any], files) -> bool:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
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
        self.deleted.append((chat_id, message_id))
        return True

    async def _delete_messages(self, token: str, params: dict[str, Any], files) -> bool:
        chat_id = self._chat_id(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must list 1 to 100 message identifiers")
        for message_id in ids:
            try:
                await self._delete_message(
                    token, {"chat_id": chat_id, "message_id": int(message_id)}, {}
                )
            except ApiError:
                continue  # Telegram skips messages that cannot be deleted
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

    async def _copy_source(self, token: str, params: dict[str, Any], what: str):
        from_chat_id = self._chat_id(params, "from_chat_id")
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        entry = await self._find_stored(token, from_chat_id, message_id, bot_only=False)
        if entry is None:
            raise bad_request(f"message to {what} not found")
        source = entry["message"]
        content = {key: source[key] for key in CONTENT_KEYS if source.get(key) is not None}
        content.pop("edit_date", None)
        for key in ("entities", "caption_entities", "parse_mode"):
            if source.get(key) is not None:
                content[key] = source[key]
        sender = source.get("from") or self._bot_user(token)
        return content, sender, int(entry["time"])

    async def _copy_message(self, token: str, params: dict[str, Any], files) -> dict[str, int]:
        chat_id = self._check_send(params, caption=True)
        content, _sender, _time = await self._copy_source(token, params, "copy")
        for key in ("caption", "parse_mode", "caption_entities", "reply_markup"):
            if params.get(key) is not None:
                content[key] = params[key]
        message = await self._store_bot_message(token, {**content, "chat_id": chat_id})
        return {"message_id": message["message_id"]}

    async def _forward_message(self, token: str, params: dict[str, Any], files):
        chat_id = self._check_send(params)
        content, sender, sent_at = await self._copy_source(token, params, "forward")
        date = sent_at // 1000 if sent_at > 10**11 else sent_at
        content["forward_origin"] = {"type": "user", "sender_user": sender, "date": date}
        return await self._store_bot_message(token, {**content, "chat_id": chat_id})

    async def _pin_chat_message(self, token: str, params: dict[str, Any], files) -> bool:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        if await self._find_stored(token, chat_id, message_id, bot_only=False) is None:
            raise bad_request("message to pin not found")
        pins = self.pinned.setdefault(chat_id, [])
        if message_id in pins:
            pins.remove(message_id)
        pins.append(message_id)
        return True

    async def _unpin_chat_message(self, token: str, params: dict[str, Any], files) -> bool:
        chat_id = self._chat_id(params)
        pins = self.pinned.get(chat_id) or []
        message_id = params.get("message_id")
        target = message_id if isinstance(message_id, int) else (pins[-1] if pins else None)
        if target is None or target not in pins:
            raise bad_request("message to unpin not found")
        pins.remove(target)
        return True

    async def _unpin_all_chat_messages(self, token: str, params: dict[str, Any], files) -> bool:
        self.pinned.pop(self._chat_id(params), None)
        return True

    async def _get_file(self, token: str, params: dict[str, Any], files) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        answer: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_path": stored.file_path,
        }
        if stored.content is not None:
            answer["file_size"] = len(stored.content)
        return answer
