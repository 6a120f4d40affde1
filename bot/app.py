"""Composition root: settings -> database -> Dispatcher, Bot and scheduler."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
    User,
)
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import aiogram_lazy
from bot.config import DEFAULT_LANGUAGE, LANGUAGES, ConfigError, Settings
from bot.delivery import outbox
from bot.delivery.limits import limiter_for
from bot.delivery.scheduler import Ticker
from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.errors import on_error
from bot.fsm_privacy import (
    ConversationCipher,
    ExpiringMemoryStorage,
    HashedKeyBuilder,
    new_secret,
    shared_secret,
    warn_if_persistent,
)
from bot.i18n import CatalogI18n, get_i18n
from bot.metrics import OUTBOX, OUTBOX_DUE
from bot.middleware import ApiCallCounter, ContextMiddleware, UpdateTracker
from bot.practices.index_file import EXIT_CATALOGUE, EXIT_UNSAVED, prepare_in_child
from bot.rate_limits import MemoryCounters, RedisCounters
from bot.response_types import keep_response_types
from bot.router_doors import index_handlers
from bot.services import actions, agenda, cochairs, monthly
from bot.services.reminders import register_jobs as register_reminder_jobs
from bot.services.report_crypto import ReportKeyError, get_cipher, key_configured
from bot.services.reports import Counters, foreign_key_ids
from bot.services.reports import register_jobs as register_report_jobs
from bot.services.updates import prune_handled
from bot.unread_answers import BotSession
from bot.web import WebServer, internal_web_app, webhook_web_app
from handlers import build_router
from handlers.commands import menu
from handlers.practices import INDEX_CACHE
from storage.database import Database
from storage.locks import AlreadyRunning, InstanceLock, cluster_lock
from storage.migrate import upgrade

log = logging.getLogger(__name__)
DEFAULT_HTTP_PORT = 8080
DEFAULT_METRICS_PORT = 9464  # /healthz and /metrics in webhook mode, on WGBOT_METRICS_HOST


@dataclass
class App:
    settings: Settings
    database: Database
    i18n: CatalogI18n
    dispatcher: Dispatcher
    ticker: Ticker
    tracker: UpdateTracker
    redis: Redis | None = None
    delivery: Delivery | None = None
    instance_lock: InstanceLock | None = None
    stopping: bool = False

    def attach_bot(self, bot: Bot, *, rate_limits: bool = True) -> Delivery:
        """Deliver the outbox through `bot` on every tick."""
        self.delivery = Delivery(
            self.database, Sender(bot, self.database, rate_limits=rate_limits,
                                  limiter=limiter_for(self.redis)),
            lease=timedelta(seconds=self.settings.claim_lease_seconds), clock=self.ticker.clock,
            progress=self.ticker.beat,
        )
        self.ticker.add("outbox", self.delivery.run, every_replica=True)
        return self.delivery

    async def take_instance_lock(self) -> None:
        """Refuse to run beside another process that must be alone on this database."""
        lock = InstanceLock(self.database, "instance")
        try:
            await lock.acquire()
        except AlreadyRunning as exc:
            raise ConfigError(str(exc)) from None
        self.instance_lock = lock

    async def drain(self) -> None:
        """Graceful stop, once no new update comes in: let the handlers in progress finish,
        send no more from the outbox (the messages in flight finish, the rest of their batch is
        given back at once) and stop the scheduler."""
        self.stopping = True
        timeout = self.settings.shutdown_seconds
        if not await self.tracker.wait_idle(timeout):
            log.warning("%s updates still in progress after %s s", self.tracker.in_flight, timeout)
        if self.delivery is not None:
            self.delivery.stop()
        await self.ticker.stop(timeout=timeout)

    async def close(self) -> None:
        self.stopping = True
        try:
            await self.ticker.stop(timeout=self.settings.shutdown_seconds)
            await self.dispatcher.storage.close()
            if self.redis is not None:
                await self.redis.aclose()
        finally:
            if self.instance_lock is not None:
                await self.instance_lock.release()
            await self.database.dispose()


def build_dispatcher(
    settings: Settings, database: Database, i18n: CatalogI18n, ticker: Ticker,
    storage: BaseStorage | None = None, events_isolation: BaseEventIsolation | None = None,
    conversation_secret: bytes | None = None, report_counters: Counters | None = None,
) -> Dispatcher:
    # One update at a time per user and chat: a second one (a tap right after a button) must
    # see what the first committed, not race it.
    if storage is None:  # polling: in memory, forgotten after the same time as in Redis
        storage = ExpiringMemoryStorage(timedelta(seconds=settings.fsm_ttl_seconds),
                                        lambda: ticker.clock())
    dispatcher = Dispatcher(
        storage=storage,
        events_isolation=events_isolation or SimpleEventIsolation(),
        settings=settings, database=database, ticker=ticker,
        draft_cipher=ConversationCipher(conversation_secret or new_secret()),
        report_counters=report_counters or MemoryCounters(),
    )
    tracker = UpdateTracker(settings.update_concurrency(database.is_sqlite))
    dispatcher["update_tracker"] = tracker
    dispatcher.update.outer_middleware(tracker)
    dispatcher.update.outer_middleware(ContextMiddleware(database, i18n))
    dispatcher.include_router(build_router())
    dispatcher.errors.register(on_error)
    index_handlers(dispatcher)
    inline_sync_filters(dispatcher)
    return dispatcher


def inline_sync_filters(router: Router) -> int:
    """Run the synchronous filters (magic filters such as `F.data.startswith(...)`, plain
    functions) in the event loop instead of a worker thread each: aiogram hands every one to
    `asyncio.to_thread`, about five thread hops per update (fifteen for /start) for checks of a
    few microseconds. Returns how many filters now run inline."""
    count = 0
    for each in router.chain_tail:
        for observer in each.observers.values():
            for handler in (observer._handler, *observer.handlers):
                for event_filter in handler.filters or ():
                    if not event_filter.awaitable:
                        event_filter.call = partial(_call_inline, event_filter)
                        count += 1
    return count


async def _call_inline(event_filter: FilterObject, *args, **kwargs):
    return event_filter.callback(*args, **event_filter._prepare_kwargs(kwargs))


async def open_redis(settings: Settings) -> tuple[Redis, RedisStorage, bytes]:
    """FSM state in Redis, shared by the replicas; drafts (report drafts included) expire after
    WGBOT_FSM_TTL_SECONDS of inactivity. Keys carry keyed hashes of the ids, values are sealed
    under the replicas' conversation secret (see bot/fsm_privacy.py)."""
    redis = Redis.from_url(settings.redis_url)
    try:
        secret = await shared_secret(redis)
    except RedisError as exc:
        await redis.aclose()
        raise ConfigError(f"cannot reach Redis at WGBOT_REDIS_URL: {exc}") from None
    await warn_if_persistent(redis)
    cipher = ConversationCipher(secret)
    storage = RedisStorage(
        redis, key_builder=HashedKeyBuilder(secret, prefix="wgbot"),
        state_ttl=settings.fsm_ttl_seconds, data_ttl=settings.fsm_ttl_seconds,
        json_dumps=cipher.dumps, json_loads=cipher.loads,
    )
    return redis, storage, secret


def check_report_key(settings: Settings) -> None:
    """A report key that is configured must be usable, and its file private, before the bot
    starts (a key file open to everyone is refused, not merely warned about)."""
    if not key_configured(settings.data_dir):
        return  # created, private, with the first report
    try:
        get_cipher(settings.data_dir)
    except ReportKeyError as exc:
        raise ConfigError(str(exc)) from None


async def build_app(settings: Settings, *, migrate: bool = True) -> App:
    """Open and migrate the database, build the Dispatcher and the ticker."""
    check_report_key(settings)
    database = Database(settings.effective_database_url)
    try:
        await database.check()
        if migrate:
            await upgrade(database)
    except BaseException:
        await database.dispose()
        raise
    redis = storage = isolation = secret = None
    if settings.redis_url:
        try:
            redis, storage, secret = await open_redis(settings)
        except BaseException:
            await database.dispose()
            raise
        isolation = storage.create_isolation()
    i18n = get_i18n()
    ticker = Ticker(settings.scheduler_tick_seconds)
    if not database.is_sqlite:  # replicas may share it: one of them scans per tick
        ticker.exclusive = partial(cluster_lock, database, "scheduled-jobs")
    register_reminder_jobs(ticker, database)
    agenda.register_jobs(ticker, database)
    cochairs.register_jobs(ticker, database)
    actions.register_jobs(ticker, database)
    monthly.register_jobs(ticker, database)
    register_report_jobs(ticker, database, settings.data_dir)
    ticker.add("outbox_metrics", partial(outbox_metrics, database), every_replica=True)
    dispatcher = build_dispatcher(settings, database, i18n, ticker, storage, isolation, secret,
                                  RedisCounters(redis) if redis is not None else None)
    return App(settings, database, i18n, dispatcher, ticker, dispatcher["update_tracker"], redis)


async def prepare(settings: Settings) -> None:
    """What the first updates would otherwise wait for, done once the bot is reachable: the
    aiogram types every update uses, and the saved search index, made to match the catalogue
    by a child process (`bot.practices.index_file`): the bot itself loads the saved file with
    its first question, so that a bot nobody asks does not hold the search's memory."""
    aiogram_lazy.warm_up()
    gc.freeze()  # what start-up made, out of the collector's reach (see freeze_after_start)
    code = await prepare_in_child(settings.catalogue_dirs, settings.data_dir / INDEX_CACHE)
    if code == EXIT_CATALOGUE:
        log.error("the practice catalogue has errors; /ask will say so until "
                  "`wgbot catalogue check` passes")
    elif code == EXIT_UNSAVED:
        log.warning("the practice index could not be saved; /ask builds it when first asked")


PREPARE_DELAY = 0.05  # seconds after the first getUpdates is sent, so the request goes first


class AfterFirstPoll(BaseRequestMiddleware):
    """Starts `prepare` once the first getUpdates is on its way: the bot polls as early as
    possible, and what it prepares is ready long before most first updates arrive."""

    def __init__(self, settings: Settings) -> None:
        self.settings: Settings | None = settings
        self.task: asyncio.Task | None = None

    async def __call__(self, make_request, bot: Bot, method: TelegramMethod):
        if self.settings is not None and isinstance(method, GetUpdates):
            settings, self.settings = self.settings, None
            self.task = asyncio.create_task(_later(PREPARE_DELAY, prepare(settings)))
        return await make_request(bot, method)


async def _later(delay: float, coroutine) -> None:
    await asyncio.sleep(delay)
    await coroutine


async def prune_handled_updates(database: Database, now: datetime) -> None:
    async with database.session() as session:
        await prune_handled(session)


async def outbox_metrics(database: Database, now: datetime) -> None:
    counts, due = await outbox.depth(database, now)
    for status, count in counts.items():
        OUTBOX.labels(status).set(count)
    OUTBOX_DUE.set(due)


def make_bot(token: str, api_url: str | None) -> Bot:
    session = BotSession(api=TelegramAPIServer.from_base(api_url)) if api_url else BotSession()
    bot = Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    bot.session.middleware(ApiCallCounter())
    keep_response_types(bot.session)
    return bot


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


async def connect(bot: Bot, settings: Settings) -> User:
    """Check the token and that the Bot API answers, with one-line errors."""
    try:
        return await bot.get_me()
    except TelegramUnauthorizedError:
        raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather") \
            from None
    except TelegramNetworkError as exc:
        where = settings.telegram_api_url or "api.telegram.org"
        raise ConfigError(f"cannot reach the Bot API at {where}: {exc}") from None


async def confirm_updates(bot: Bot, last_update_id: int | None) -> None:
    """Tell Telegram the updates handled so far are done, so a restart does not get them again
    (polling confirms an update only with the next getUpdates)."""
    if last_update_id is None:
        return
    try:
        await bot.get_updates(offset=last_update_id + 1, limit=1, timeout=0)
    except TelegramAPIError as exc:
        log.warning("could not confirm the last updates: %s", type(exc).__name__)


def freeze_after_start() -> None:
    """Move everything built at start (aiogram's types, the search index, the catalogues) out of
    the garbage collector's reach: a full collection then walks only what updates create, a few
    milliseconds instead of hundreds (it walked about 294,000 objects). No collection first: it
    would hold the first poll back by a quarter of a second, for little garbage."""
    gc.freeze()


async def run_polling(settings: Settings) -> None:
    """Long polling: one process per database (a second one refuses to start)."""
    token = settings.require_token()
    app = await build_app(settings)
    bot = make_bot(token, settings.telegram_api_url)
    server: WebServer | None = None
    menus: asyncio.Task | None = None
    after_first_poll: AfterFirstPoll | None = None
    try:
        await app.take_instance_lock()
        me = await connect(bot, settings)
        log.info("starting as @%s (id %s), polling", me.username, me.id)
        try:  # a webhook left by webhook mode would make getUpdates fail
            await bot.delete_webhook(drop_pending_updates=False)
        except TelegramAPIError as exc:
            log.warning("could not remove a webhook: %s", type(exc).__name__)
        menus = asyncio.create_task(set_command_menus(bot))  # a dozen calls: not on the way
        after_first_poll = AfterFirstPoll(settings)
        bot.session.middleware(after_first_poll)
        app.attach_bot(bot)
        if settings.metrics_port is not None:  # health and metrics only
            server = WebServer(internal_web_app(app), settings.metrics_host,
                               settings.metrics_port, settings.shutdown_seconds)
            await server.start()
        app.ticker.start()
        freeze_after_start()
        await app.dispatcher.start_polling(bot, handle_signals=True, close_bot_session=False)
        log.info("stopping: finishing the updates and messages in progress")
        await app.drain()
        await confirm_updates(bot, app.tracker.last_update_id)
    finally:
        for task in (menus, after_first_poll.task if after_first_poll else None):
            if task is not None and not task.done():
                task.cancel()
        if server is not None:
            await server.stop()
        await bot.session.close()
        await app.close()


async def run_webhook(settings: Settings) -> None:
    """Webhook mode: any number of replicas behind a load balancer, sharing PostgreSQL (and Redis
    for conversation state). Stops gracefully on SIGTERM or SIGINT."""
    token = settings.require_token()
    url, secret = settings.require_webhook()
    app = await build_app(settings)
    bot = make_bot(token, settings.telegram_api_url)
    server: WebServer | None = None
    internal: WebServer | None = None
    menus: asyncio.Task | None = None
    prepared: asyncio.Task | None = None
    try:
        if app.database.is_sqlite:  # a SQLite file is never shared between processes
            await app.take_instance_lock()
        else:
            await check_shared_report_key(app)
        if not app.database.is_sqlite and app.redis is None:
            log.warning("WGBOT_REDIS_URL is not set: conversations in progress live in this "
                        "process only, so replicas would not share them")
        me = await connect(bot, settings)
        menus = asyncio.create_task(set_command_menus(bot))
        app.attach_bot(bot)
        # An update that failed for want of storage is answered with an error so Telegram
        # delivers it again; its id, recorded when it is handled, keeps it from acting twice.
        app.dispatcher["redeliver_on_failure"] = True
        app.ticker.add("handled-updates", partial(prune_handled_updates, app.database))
        internal = WebServer(internal_web_app(app), settings.metrics_host,
                             settings.metrics_port or DEFAULT_METRICS_PORT,
                             settings.shutdown_seconds)
        await internal.start()
        server = WebServer(webhook_web_app(app, bot, settings.webhook_path, secret),
                           settings.http_host, settings.http_port or DEFAULT_HTTP_PORT,
                           settings.shutdown_seconds)
        await server.start()
        await bot.set_webhook(url, secret_token=secret, drop_pending_updates=False,
                              allowed_updates=app.dispatcher.resolve_used_update_types())
        log.info("starting as @%s (id %s), webhook at path %s", me.username, me.id,
                 settings.webhook_path)
        app.ticker.start()
        freeze_after_start()
        prepared = asyncio.create_task(prepare(settings))  # webhook set: updates may come
        await wait_for_signal()
        log.info("stopping: finishing the updates and messages in progress")
        app.stopping = True
        await server.stop()  # no new request; those in progress finish (handlers included)
        server = None
        await app.drain()
    finally:
        for task in (menus, prepared):
            if task is not None and not task.done():
                task.cancel()
        if server is not None:
            await server.stop()
        if internal is not None:  # /healthz says "stopping" until the drain is over
            await internal.stop()
        await bot.session.close()
        await app.close()


async def check_shared_report_key(app: App) -> None:
    """Replicas must all read and write reports with the one key the database was sealed with."""
    if not key_configured(app.settings.data_dir):
        raise ConfigError(
            "replicas must share one report key: set WGBOT_REPORT_KEY (`wgbot report-key` "
            "prints a new one) or WGBOT_REPORT_KEY_FILE to the same existing file everywhere")
    try:
        cipher = get_cipher(app.settings.data_dir)
    except ReportKeyError as exc:
        raise ConfigError(str(exc)) from None
    async with app.database.session() as session:
        others = await foreign_key_ids(session, cipher)
    if others:
        raise ConfigError(
            f"the report key (id {cipher.key_id_hex}) is not the one the reports in this "
            f"database were sealed with (id {', '.join(sorted(others))}): configure that key")


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
