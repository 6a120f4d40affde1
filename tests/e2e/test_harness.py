"""The end-to-end harness's own tests.

The first group runs ``echo_bot.py`` as a separate process through the fixtures and checks the
round trips users make. The second group drives the shim in-process with an aiogram ``Bot`` to
check the patches that the echo bot does not reach (errors Telegram gives, photos and voice
notes, privacy mode).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNotFound,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from emulator import BotMessage, Chat, EmulatorClient, User, by_text
from shim import TelegramShim, chat_instance

ECHO_BOT = [sys.executable, str(Path(__file__).with_name("echo_bot.py"))]

ALICE = User(id=1001, first_name="Alice", username="alice", language_code="en")
BOB = User(id=1002, first_name="Bob", language_code="sw")
AMINA = User(id=1003, first_name="Amina", language_code="fr")
GROUP = Chat.group(-4001, "Kivu working group")
SUPERGROUP = Chat.supergroup(-1004002, "Ituri working group")


# --------------------------------------------------------------------------------------------
# A real bot process
# --------------------------------------------------------------------------------------------


async def test_private_start_gets_a_reply_with_buttons(bot_process, shim, tg, bot_data_dir):
    bot = await bot_process(ECHO_BOT)
    private = Chat.private(ALICE)

    await tg.send_text(ALICE, private, "/start")
    reply = await tg.wait_for_reply(private)

    assert reply.text == "Hello, Alice! (language: en)\nReady?"
    assert reply.html is not None and reply.html.startswith("<b>Hello</b>")
    assert reply.button_texts == ["Yes", "No"]
    # The env reached the process and the startup calls were bridged.
    assert (bot_data_dir / "echo_bot.env").read_text() == bot.database_url
    assert [c["command"] for c in shim.commands_for()] == ["start", "admin"]
    assert shim.commands_for(language_code="fr")[0]["description"] == "Démarrer"
    assert shim.calls_to("deleteWebhook")[0].params["drop_pending_updates"] is False
    assert "is_bot=True" in bot.log_text()
    assert shim.unsupported == []


async def test_button_press_edits_the_message(bot_process, shim, tg):
    await bot_process(ECHO_BOT)
    private = Chat.private(ALICE)
    await tg.send_text(ALICE, private, "/start")
    question = await tg.wait_for_reply(private, by_text("Ready?"))

    query_id = await tg.press(ALICE, private, question, "Yes")
    edited = await tg.wait_for_edit(question)

    assert edited.message_id == question.message_id
    assert edited.text == "You chose yes."
    assert edited.edited and edited.inline_keyboard == []
    call = await shim.wait_for_call("answerCallbackQuery")
    assert call.params == {"callback_query_id": query_id, "text": "Noted: yes"}
    assert shim.callback_answers[query_id]["text"] == "Noted: yes"


async def test_group_message_gets_a_reply(bot_process, shim, tg):
    shim.privacy_mode = False  # a bot that is a group administrator receives every message
    await bot_process(ECHO_BOT)

    await tg.send_text(BOB, GROUP, "Habari za asubuhi")
    reply = await tg.wait_for_reply(GROUP)

    assert reply.chat_id == GROUP.id
    assert reply.text == "Kivu working group: Habari za asubuhi"
    assert await tg.bot_messages(Chat.private(BOB)) == []


async def test_get_chat_member_answers_from_the_admin_table(bot_process, shim, tg):
    shim.set_admins(SUPERGROUP.id, [BOB.id, ALICE.id], creator=BOB.id)
    await bot_process(ECHO_BOT)

    await tg.send_text(ALICE, SUPERGROUP, "/admin")
    assert (await tg.wait_for_reply(SUPERGROUP)).text == "Your status here: administrator"
    await tg.send_text(BOB, SUPERGROUP, "/admin@TestNameBot")
    assert (await tg.wait_for_reply(SUPERGROUP)).text == "Your status here: creator"
    await tg.send_text(AMINA, SUPERGROUP, "/admin")
    assert (await tg.wait_for_reply(SUPERGROUP)).text == "Your status here: member"


async def test_french_user_reaches_the_bot_with_its_language(bot_process, shim, tg):
    await bot_process(ECHO_BOT)
    private = Chat.private(AMINA)

    await tg.send_text(AMINA, private, "/start")
    reply = await tg.wait_for_reply(private)

    assert reply.text is not None and reply.text.startswith("Bonjour, Amina!")
    assert "(language: fr)" in reply.text


async def test_document_and_pin_are_recorded_and_visible(bot_process, shim, tg):
    await bot_process(ECHO_BOT)

    await tg.send_text(ALICE, GROUP, "/doc")
    document = await tg.wait_for_reply(GROUP, lambda m: m.media_kind == "document")
    assert document.caption == "Agenda of the next meeting"
    assert document.raw["document"]["file_name"] == "agenda.txt"
    [sent] = shim.sent_files
    assert (sent.method, sent.chat_id) == ("sendDocument", GROUP.id)
    assert sent.message_id == document.message_id
    assert sent.file.content == b"Agenda\n1. Welcome\n2. Incidents\n"

    await tg.send_text(ALICE, GROUP, "/pin")
    notice = await tg.wait_for_reply(GROUP, by_text("Next meeting"))
    await shim.wait_for_call("pinChatMessage")
    assert shim.pinned[GROUP.id] == [notice.message_id]


async def test_a_restarted_bot_receives_what_its_predecessor_did_not_confirm(
    bot_process, shim, tg
):
    first = await bot_process(ECHO_BOT)
    await first.stop()
    private = Chat.private(ALICE)
    await tg.send_text(ALICE, private, "/start")  # nobody polls now

    await bot_process(ECHO_BOT)
    reply = await tg.wait_for_reply(private)
    assert reply.text is not None and reply.text.startswith("Hello")
    assert len(await tg.bot_messages(private)) == 1


# --------------------------------------------------------------------------------------------
# The shim in-process
# --------------------------------------------------------------------------------------------


@pytest.fixture
async def api(shim: TelegramShim, bot_token: str) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(shim.url))
    bot = Bot(bot_token, session=session)
    try:
        yield bot
    finally:
        await session.close()


async def test_get_me_is_completed(api: Bot, shim: TelegramShim):
    me = await api.get_me()
    assert me.is_bot and me.id == api.id and me.username == shim.bot_username


async def test_admin_queries_parse_as_aiogram_models(api: Bot, shim: TelegramShim):
    shim.set_admins(GROUP.id, [ALICE.id, BOB.id])

    admins = await api.get_chat_administrators(GROUP.id)
    assert [type(a) for a in admins] == [ChatMemberOwner, ChatMemberAdministrator]
    assert isinstance(await api.get_chat_member(GROUP.id, 77), ChatMemberMember)


async def test_telegram_errors_are_reproduced(api: Bot, shim: TelegramShim, tg: EmulatorClient):
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await api.send_message(ALICE.id, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await api.send_message(ALICE.id, "1 < 2", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await api.send_message(ALICE.id, "x" * 4097)
    too_long = InlineKeyboardButton(text="x", callback_data="d" * 65)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await api.send_message(
            ALICE.id, "hi", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[too_long]])
        )

    sent = await api.send_message(ALICE.id, "same")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await api.edit_message_text("same", chat_id=ALICE.id, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await api.edit_message_text("x", chat_id=ALICE.id, message_id=sent.message_id + 999)
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await api.set_my_commands([BotCommand(command="Report!", description="x")])
    assert [m.text for m in await tg.bot_messages(ALICE.id)] == ["same"]


async def test_sent_message_has_the_real_chat_and_sender(api: Bot, shim: TelegramShim, tg):
    await tg.send_text(ALICE, SUPERGROUP, "hello")
    await api.get_updates()  # the shim learns the chat from the update
    sent = await api.send_message(SUPERGROUP.id, "<b>Welcome</b>", parse_mode="HTML")
    assert sent.chat.type == "supergroup" and sent.chat.title == SUPERGROUP.title
    assert sent.from_user is not None and sent.from_user.id == api.id
    assert sent.text == "Welcome"


async def test_updates_are_repaired_and_confirmed_by_offset(api: Bot, shim: TelegramShim, tg):
    private = Chat.private(ALICE)
    go = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]
    )
    sent = await api.send_message(ALICE.id, "Ready?", reply_markup=go)
    [message] = await tg.bot_messages(private)
    await tg.send_text(ALICE, private, "/start now")
    query_id = await tg.press(ALICE, private, message, "Go")

    updates = await api.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [1, 2]
    command = updates[0].message
    assert command is not None and command.text == "/start now"
    assert command.entities is not None and command.entities[0].type == "bot_command"
    assert command.entities[0].length == len("/start")
    query = updates[1].callback_query
    assert query is not None and query.id == query_id and query.data == "go"
    assert query.chat_instance == chat_instance(ALICE.id)
    assert query.message is not None and query.message.message_id == sent.message_id

    assert len(await api.get_updates(timeout=0)) == 2  # not confirmed yet: delivered again
    assert await api.get_updates(offset=3, timeout=1) == []
    assert await api.answer_callback_query(query_id, text="ok") is True
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await api.answer_callback_query(query_id)


async def test_delete_removes_the_bot_message_despite_a_colliding_callback(
    api: Bot, tg: EmulatorClient
):
    private = Chat.private(ALICE)
    pick_one = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]
    )
    await api.send_message(ALICE.id, "Pick", reply_markup=pick_one)
    [pick] = await tg.bot_messages(private)
    await tg.press(ALICE, private, pick, "A")  # stored with the id of the next message
    doomed = await api.send_message(ALICE.id, "to be deleted")

    assert await api.delete_message(ALICE.id, doomed.message_id) is True
    assert [m.text for m in await tg.bot_messages(private)] == ["Pick"]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await api.delete_message(ALICE.id, doomed.message_id)


async def test_photos_voice_notes_and_buttons_removed(api: Bot, shim: TelegramShim, tg):
    chart = await api.send_photo(ALICE.id, BufferedInputFile(b"\x89PNG chart", "stats.png"))
    assert chart.photo is not None and shim.sent_files[-1].file.content == b"\x89PNG chart"
    voice = await api.send_voice(BOB.id, "AwACAgQAAxkBAAIBvoice", caption="Report #1")
    assert voice.voice is not None and voice.voice.file_id == "AwACAgQAAxkBAAIBvoice"
    [shown] = await tg.bot_messages(BOB.id)
    assert shown.media_kind == "voice" and shown.caption == "Report #1"

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]
    )
    card = await api.send_message(ALICE.id, "Card", reply_markup=keyboard)
    cleared = await api.edit_message_reply_markup(chat_id=ALICE.id, message_id=card.message_id)
    assert isinstance(cleared, Message) and cleared.reply_markup is None
    assert await api.pin_chat_message(ALICE.id, card.message_id)
    assert shim.pinned[ALICE.id] == [card.message_id]


async def test_unknown_methods_are_listed(api: Bot, shim: TelegramShim):
    with pytest.raises(TelegramNotFound, match="createChatInviteLink"):
        await api.create_chat_invite_link(GROUP.id)
    assert [c.method for c in shim.unsupported] == ["createChatInviteLink"]


def test_bot_message_rendering():
    message = BotMessage(
        message_id=5,
        chat_id=1,
        date=0,
        raw={"chat_id": 1, "text": "<b>A &amp; B</b> &lt;3", "parse_mode": "HTML"},
    )
    assert message.text == "A & B <3"
    assert message.as_message(Chat.private(ALICE))["text"] == "A & B <3"


async def test_privacy_mode_withholds_what_telegram_withholds(api: Bot, shim: TelegramShim, tg):
    shim.privacy_mode = True
    assert (await api.get_me()).can_read_all_group_messages is False
    prompt = await api.send_message(GROUP.id, "When?")
    [prompt_seen] = await tg.bot_messages(GROUP)
    assert prompt_seen.message_id == prompt.message_id
    await tg.send_text(ALICE, GROUP, "plain talk in the group")
    await tg.send_text(ALICE, GROUP, "/setup@SomeOtherBot")
    await tg.send_text(ALICE, GROUP, "/setup")
    await tg.send_text(ALICE, GROUP, f"hello @{shim.bot_username}")
    await tg.send_text(ALICE, GROUP, "tomorrow 10:00", reply_to=prompt_seen)
    await tg.send_text(ALICE, Chat.private(ALICE), "plain talk in private")

    updates = await api.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == [
        "/setup",
        f"hello @{shim.bot_username}",
        "tomorrow 10:00",
        "plain talk in private",
    ]
    reply = updates[2].message.reply_to_message
    assert reply is not None and reply.from_user is not None and reply.from_user.id == api.id
