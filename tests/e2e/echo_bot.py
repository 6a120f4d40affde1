"""A minimal aiogram bot that exercises the end-to-end harness (see test_harness.py).

It is configured like wgbot (``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_URL``, ``DATABASE_URL``,
``WGBOT_DATA_DIR``), polls, and uses the API calls the harness must carry: getMe, deleteWebhook,
setMyCommands, sendMessage with HTML and inline keyboards, answerCallbackQuery, editMessageText,
getChatMember, sendDocument and pinChatMessage.

Run: ``python tests/e2e/echo_bot.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from aiogram import Bot, Dispatcher, F, Router, html
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

GREETINGS = {"en": "Hello", "fr": "Bonjour"}
COMMANDS = {
    "en": [
        BotCommand(command="start", description="Start"),
        BotCommand(command="admin", description="Who am I here"),
    ],
    "fr": [
        BotCommand(command="start", description="Démarrer"),
        BotCommand(command="admin", description="Qui suis-je ici"),
    ],
}
ENV_MARKER = "echo_bot.env"

router = Router()


@router.message(CommandStart(), F.chat.type == "private")
async def start(message: Message) -> None:
    user = message.from_user
    language = (user.language_code if user else None) or "en"
    greeting = GREETINGS.get(language[:2], GREETINGS["en"])
    name = html.quote(user.first_name if user else "")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Yes", callback_data="answer:yes"),
                InlineKeyboardButton(text="No", callback_data="answer:no"),
            ]
        ]
    )
    await message.answer(
        f"<b>{greeting}</b>, {name}! (language: {language})\nReady?", reply_markup=keyboard
    )


@router.callback_query(F.data.startswith("answer:"))
async def answered(query: CallbackQuery) -> None:
    choice = (query.data or "").split(":", 1)[1]
    await query.answer(f"Noted: {choice}")
    if isinstance(query.message, Message):
        await query.message.edit_text(f"You chose <i>{choice}</i>.")


@router.message(Command("admin"))
async def admin(message: Message, bot: Bot) -> None:
    assert message.from_user is not None
    member = await bot.get_chat_member(message.chat.id, message.from_user.id)
    await message.reply(f"Your status here: {member.status}")


@router.message(Command("doc"))
async def document(message: Message) -> None:
    agenda = BufferedInputFile(b"Agenda\n1. Welcome\n2. Incidents\n", filename="agenda.txt")
    await message.answer_document(agenda, caption="Agenda of the next meeting")


@router.message(Command("pin"))
async def pin(message: Message, bot: Bot) -> None:
    sent = await message.answer("Next meeting: Monday 10:00")
    await bot.pin_chat_message(message.chat.id, sent.message_id)


@router.message(F.chat.type.in_({"group", "supergroup"}), F.text)
async def group_echo(message: Message) -> None:
    await message.reply(f"{html.quote(message.chat.title or '')}: {html.quote(message.text or '')}")


async def main() -> None:
    logging.basicConfig(level=logging.INFO)
    data_dir = Path(os.environ["WGBOT_DATA_DIR"])
    (data_dir / ENV_MARKER).write_text(os.environ["DATABASE_URL"])

    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(
        os.environ["TELEGRAM_BOT_TOKEN"],
        session=session,
        default=DefaultBotProperties(parse_mode="HTML"),
    )
    dispatcher = Dispatcher()
    dispatcher.include_router(router)

    me = await bot.get_me()
    logging.info("running as @%s (id %s, is_bot=%s)", me.username, me.id, me.is_bot)
    await bot.delete_webhook(drop_pending_updates=False)
    await bot.set_my_commands(COMMANDS["en"])
    await bot.set_my_commands(COMMANDS["fr"], language_code="fr")
    await dispatcher.start_polling(bot, polling_timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
