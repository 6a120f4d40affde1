"""Start-up pieces: command menus per language and scope, the ticker, migrations."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime

from aiogram import Dispatcher
from sqlalchemy import inspect

from bot.app import set_command_menus
from bot.delivery.scheduler import Ticker
from bot.local_api import LocalTelegram
from storage.migrate import current, heads


async def test_command_menus_per_language_and_scope():
    local = LocalTelegram(Dispatcher())
    assert await set_command_menus(local.bot) is True
    calls = local.api.sent("setMyCommands")
    assert len(calls) == 11  # 5 languages x (private, group) + the default scope
    scopes = {(c.params.get("language_code"), c.params["scope"]["type"]) for c in calls}
    assert ("fr", "all_private_chats") in scopes and ("ln", "all_group_chats") in scopes
    french_private = next(c for c in calls if c.params.get("language_code") == "fr"
                          and c.params["scope"]["type"] == "all_private_chats")
    commands = {c["command"]: c["description"] for c in french_private.params["commands"]}
    assert commands["language"] == "Choisir votre langue"
    assert "setup" not in commands
    group_commands = next(c for c in calls if c.params.get("language_code") is None
                          and c.params["scope"]["type"] == "all_group_chats")
    assert {"setup", "join", "members"} <= {c["command"] for c in group_commands.params["commands"]}
    await local.bot.session.close()


async def test_server_without_command_menus_does_not_stop_the_bot():
    local = LocalTelegram(Dispatcher())
    local.api.unsupported.add("setMyCommands")
    assert await set_command_menus(local.bot) is False
    await local.bot.session.close()


async def test_ticker_runs_every_job_with_the_controlled_clock():
    instant = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    ticker = Ticker(30, clock=lambda: instant)
    seen: list[datetime] = []

    async def failing(now):
        raise RuntimeError("boom")

    async def recording(now):
        seen.append(now)

    ticker.add("failing", failing)
    ticker.add("recording", recording)
    await ticker.tick()
    assert seen == [instant] and ticker.last_tick == instant


async def test_ticker_stop_waits_for_the_tick_in_progress():
    ticker = Ticker(3600)
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def slow(now):
        started.set()
        await release.wait()
        finished.append(True)

    ticker.add("slow", slow)
    ticker.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    stopping = asyncio.create_task(ticker.stop())
    await asyncio.sleep(0)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, timeout=5)
    assert finished == [True]


async def test_ticker_starts_inside_the_running_loop():
    ticker = Ticker(3600)
    ran = asyncio.Event()

    async def job(now):
        ran.set()

    ticker.add("job", job)
    ticker.start()
    try:
        await asyncio.wait_for(ran.wait(), timeout=5)  # the first tick is immediate
    finally:
        ticker.shutdown()


async def test_migrations_create_the_schema(database):
    assert await current(database) == heads()
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"working_group", "person", "membership", "outbox", "alembic_version"} <= tables


async def test_migrations_match_the_models(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import storage.agenda_tables  # noqa: F401
    import storage.calendar_tables  # noqa: F401
    import storage.report_tables  # noqa: F401

    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with database.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_the_first_poll_starts_preparing_the_search_index(settings, monkeypatch):
    """A child process saves the index; the bot loads the saved file with the first question
    instead of building it, and holds none of the search's memory until then."""
    from bot.app import AfterFirstPoll
    from bot.local_api import LocalBotAPI
    from bot.practices.answers import index_is_built, practice_index
    from handlers.practices import INDEX_CACHE

    cache = settings.data_dir / INDEX_CACHE
    assert not list(cache.glob("practice-index-*"))
    local = LocalTelegram(dispatcher=None, api=LocalBotAPI())
    waiting = AfterFirstPoll(settings)
    local.bot.session.middleware(waiting)
    try:
        await local.bot.get_me()
        assert waiting.task is None
        await local.bot.get_updates(timeout=0)
        first = waiting.task
        assert first is not None
        await local.bot.get_updates(timeout=0)
        assert waiting.task is first  # once only
        await asyncio.wait_for(first, timeout=120)
    finally:
        await local.bot.session.close()
    assert len(list(cache.glob("practice-index-*.pickle"))) == 1
    from bot.practices import answers

    monkeypatch.setattr(answers, "_indexes", {})  # as in a bot process: nothing loaded yet
    assert not index_is_built(settings.catalogue_dirs, cache)

    from bot.practices.search import PracticeIndex

    def no_build(self, lang):
        raise AssertionError("the saved index was built again")

    monkeypatch.setattr(PracticeIndex, "_build_language", no_build)
    index = practice_index(settings.catalogue_dirs, cache)
    assert index.search("soldiers beat villagers at the mine", "en")


def test_the_bot_starts_without_the_heavy_libraries():
    """What only some commands need is imported when they are first used: the search (numpy,
    bm25s), migrations (alembic), the monthly report's charts and PDF."""
    heavy = ("numpy", "bm25s", "bot.practices.search", "alembic", "matplotlib", "fpdf")
    code = ("import sys, bot.app\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"


async def test_a_broken_catalogue_is_reported_by_the_preparing_child(tmp_path, caplog):
    from bot.practices.index_file import EXIT_CATALOGUE, prepare_in_child

    broken = tmp_path / "operator"
    broken.mkdir()
    (broken / "9.9.z.yaml").write_text("id: 9.9.z\nkind: nonsense\n", encoding="utf-8")
    assert await prepare_in_child([broken], tmp_path / "cache") == EXIT_CATALOGUE
    assert not list((tmp_path / "cache").glob("practice-index-*"))


async def test_synchronous_filters_run_without_a_thread(monkeypatch):
    from aiogram import F, Router
    from aiogram.types import Message

    from bot.app import inline_sync_filters
    from bot.local_api import LocalBotAPI, LocalUser

    seen: list[str] = []
    router = Router()

    @router.message(F.text == "ping", lambda message: message.chat.id > 0)
    async def ping(message: Message) -> None:
        seen.append(message.text)

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    assert inline_sync_filters(dispatcher) == 2

    async def no_thread(*args, **kwargs):
        raise AssertionError("a filter went to a worker thread")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    local = LocalTelegram(dispatcher, api=LocalBotAPI())
    try:
        user = LocalUser(11, "Amani")
        chat = local.private_chat(user)
        await local.send(user, chat, "pong")
        await local.send(user, chat, "ping")
    finally:
        await local.bot.session.close()
    assert seen == ["ping"]
