"""Composition root: settings -> database -> Dispatcher, Bot and scheduler."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
)

from bot import actions, agenda, cochairs
from bot.commands import menu
from bot.config import DEFAULT_LANGUAGE, LANGUAGES, ConfigError, Settings
from bot.delivery import Delivery
from bot.errors import on_error
from bot.i18n import CatalogI18n, get_i18n
from bot.middleware import ContextMiddleware
from bot.practice_answers import CatalogueUnavailable, get_practice_index
from bot.reminders import register_jobs as register_reminder_jobs
from bot.reports import register_jobs as register_report_jobs
from bot.scheduler import Ticker
from bot.sender import Sender
from handlers import build_router
from storage.database import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    database: Database
    i18n: CatalogI18n
    dispatcher: Dispatcher
    ticker: Ticker

    def attach_bot(self, bot: Bot, *, rate_limits: bool = True) -> Delivery:
        """Deliver the outbox through `bot` on every tick."""
        delivery = Delivery(self.database, Sender(bot, self.database, rate_limits=rate_limits))
        self.ticker.add("outbox", delivery.run)
        return delivery

    async def close(self) -> None:
        await self.ticker.stop()
        await self.dispatcher.storage.close()
        await self.database.dispose()


def build_dispatcher(
    settings: Settings, database: Database, i18n: CatalogI18n, ticker: Ticker,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    dispatcher = Dispatcher(
        storage=storage or MemoryStorage(), settings=settings, database=database, ticker=ticker,
    )
    dispatcher.update.outer_middleware(ContextMiddleware(database, i18n))
    dispatcher.include_router(build_router())
    dispatcher.errors.register(on_error)
    return dispatcher


async def build_app(settings: Settings, *, migrate: bool = True) -> App:
    """Open and migrate the database, build the Dispatcher and the ticker."""
    database = Database(settings.effective_database_url)
    try:
        await database.check()
        if migrate:
            await upgrade(database)
    except BaseException:
        await database.dispose()
        raise
    try:  # build the search index now rather than on the first question
        await get_practice_index(settings.catalogue_dirs)
    except CatalogueUnavailable as exc:
        log.error("%s; /ask will say so until `wgbot catalogue check` passes", exc)
    i18n = get_i18n()
    ticker = Ticker(settings.scheduler_tick_seconds)
    register_reminder_jobs(ticker, database)
    agenda.register_jobs(ticker, database)
    cochairs.register_jobs(ticker, database)
    actions.register_jobs(ticker, database)
    register_report_jobs(ticker, database, settings.data_dir)
    dispatcher = build_dispatcher(settings, database, i18n, ticker)
    return App(settings, database, i18n, dispatcher, ticker)


def make_bot(token: str, api_url: str | None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else None
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


async def set_command_menus(bot: Bot) -> bool:
    """Command menus per language and scope; a server that refuses them must not stop the bot."""
    scopes = {
        True: BotCommandScopeAllPrivateChats(),
        False: BotCommandScopeAllGroupChats(),
    }
    try:
        for language in LANGUAGES:
            code = None if language == DEFAULT_LANGUAGE else language
            for private, scope in scopes.items():
                commands = [BotCommand(command=c, description=d)
                            for c, d in menu(language, private=private)]
                await bot.set_my_commands(commands, scope=scope, language_code=code)
            if code is None:
                commands = [BotCommand(command=c, description=d)
                            for c, d in menu(language, private=True)]
                await bot.set_my_commands(commands, scope=BotCommandScopeDefault())
    except TelegramAPIError as exc:
        log.warning("command menus not set: the Bot API server refused them (%s)", exc)
        return False
    return True


async def run_polling(settings: Settings) -> None:
    token = settings.require_token()
    app = await build_app(settings)
    bot = make_bot(token, settings.telegram_api_url)
    try:
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather") \
                from None
        except TelegramNetworkError as exc:
            where = settings.telegram_api_url or "api.telegram.org"
            raise ConfigError(f"cannot reach the Bot API at {where}: {exc}") from None
        log.info("starting as @%s (id %s), polling", me.username, me.id)
        await set_command_menus(bot)
        app.attach_bot(bot)
        app.ticker.start()
        await app.dispatcher.start_polling(bot, handle_signals=True, close_bot_session=True)
    finally:
        await bot.session.close()
        await app.close()
