"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when TEST_DATABASE_URL is set)
and a local harness that feeds real updates through the real Dispatcher."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.app import build_dispatcher
from bot.config import Settings
from bot.delivery.scheduler import Ticker
from bot.i18n import get_i18n
from bot.local_api import LocalTelegram, LocalUser, StoredMessage
from storage.database import Database
from storage.migrate import upgrade

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs against TEST_DATABASE_URL")


async def _fresh_postgres(url: str) -> Database:
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(database)
    return database


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("TEST_DATABASE_URL is not set")
        db = await _fresh_postgres(PG_URL)
    else:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await upgrade(db)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def redis_url() -> str:
    """The Redis database the tests may empty: TEST_REDIS_URL, else db 8 of a local Redis."""
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/8")


@pytest.fixture
async def redis(redis_url: str):
    """A client of an empty Redis database at `redis_url`, emptied again afterwards; the test is
    skipped when no Redis answers there."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        await client.ping()
    except Exception:  # noqa: BLE001
        await client.aclose()
        pytest.skip("no Redis at TEST_REDIS_URL")
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def session(database: Database):
    async with database.session() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        WGBOT_DATA_DIR=tmp_path, WGBOT_DEFAULT_TIMEZONE="Africa/Lubumbashi",
        telegram_bot_token=None, _env_file=None,
    )


class Harness(LocalTelegram):
    """LocalTelegram plus shortcuts for tests: people, chats and the bot's last words.

    With ``privacy_mode`` set, group messages reach the Dispatcher only as Telegram delivers
    them to a bot in privacy mode that is no group administrator: commands and replies to the
    bot's messages; other group texts are withheld (``send`` returns None).
    """

    privacy_mode: bool = False

    async def send(self, user: LocalUser, chat_id: int, text: str,
                   reply_to: StoredMessage | None = None) -> StoredMessage | None:
        if (self.privacy_mode and chat_id < 0 and not text.startswith("/")
                and (reply_to is None or not reply_to.from_bot)):
            return None
        return await super().send(user, chat_id, text, reply_to)

    async def reply(self, user: LocalUser, chat_id: int, text: str) -> StoredMessage | None:
        """``user`` answers the bot's latest message in the chat with Telegram's reply."""
        return await self.send(user, chat_id, text, reply_to=self.last_bot_message(chat_id))

    def texts(self, chat_id: int) -> list[str]:
        return [m.text or "" for m in self.api.chat_messages(chat_id) if m.from_bot]

    def last_text(self, chat_id: int) -> str:
        message = self.last_bot_message(chat_id)
        assert message is not None, "the bot said nothing in this chat"
        return message.text or ""


@pytest.fixture
async def tg(database: Database, settings: Settings) -> AsyncIterator[Harness]:
    ticker = Ticker(settings.scheduler_tick_seconds)
    dispatcher = build_dispatcher(settings, database, get_i18n(), ticker)
    harness = Harness(dispatcher)
    try:
        yield harness
    finally:
        await harness.bot.session.close()


@pytest.fixture
def amani() -> LocalUser:
    return LocalUser(id=1001, first_name="Amani", username="amani", language_code="en")


@pytest.fixture
def bahati() -> LocalUser:
    return LocalUser(id=1002, first_name="Bahati", username="bahati", language_code="en")


@pytest.fixture
def carlos() -> LocalUser:
    return LocalUser(id=1003, first_name="Carlos", username="carlos", language_code="en")


@pytest.fixture
def reporter() -> LocalUser:
    return LocalUser(id=5005, first_name="Neema", username="neema", language_code="en")


@pytest.fixture
def fresh_report_keys(monkeypatch):
    """No report key from the environment, and no key cached from another test."""
    from bot.services.report_crypto import clear_cache

    monkeypatch.delenv("WGBOT_REPORT_KEY", raising=False)
    monkeypatch.delenv("WGBOT_REPORT_KEY_FILE", raising=False)
    clear_cache()
    yield
    clear_cache()


class Clock:
    """A clock the tests move by hand; the ticker and the handlers read it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock_start(request: pytest.FixtureRequest) -> datetime:
    """Where the clock starts: the test module's NOW unless a module overrides this fixture."""
    return request.module.NOW


@pytest.fixture
def clock(tg: Harness, clock_start: datetime) -> Clock:
    clock = Clock(clock_start)
    tg.dispatcher["ticker"].clock = clock
    return clock


GROUP_ID = -1001234567890


@pytest.fixture
async def group_chat(tg: Harness, amani: LocalUser) -> int:
    """A group chat whose creator is Amani; not registered yet."""
    return tg.group_chat(GROUP_ID, "South Kivu WG", creator=amani)


@pytest.fixture
async def registered_group(tg: Harness, amani: LocalUser, group_chat: int) -> int:
    await tg.send(amani, group_chat, "/setup South Kivu | Africa/Lubumbashi")
    assert "is now a working group" in tg.last_text(group_chat)
    return group_chat


@pytest.fixture
async def meeting_group(tg: Harness, clock: Clock, amani: LocalUser, bahati: LocalUser,
                        registered_group: int) -> int:
    """The registered group with a meeting on 2026-12-03 10:00 and Bahati as a member; both
    Amani and Bahati have a private chat with the bot."""
    await tg.send(amani, registered_group, "/schedule 2026-12-03 10:00 | Monthly meeting | Hall")
    await tg.send(bahati, registered_group, "/join")
    tg.private_chat(amani)
    tg.private_chat(bahati)
    return registered_group


class CommitFailures:
    """While `armed`, every commit fails at commit time, as a full disk or a lost connection
    would make it; `failed` counts the commits refused."""

    def __init__(self) -> None:
        self.armed = False
        self.failed = 0

    def __call__(self, session) -> None:
        if self.armed and not session.in_nested_transaction():  # savepoints are not commits
            self.failed += 1
            raise OperationalError("COMMIT", {}, Exception("injected failure at commit"))


@pytest.fixture
def failing_commits():
    failures = CommitFailures()
    event.listen(Session, "before_commit", failures)
    try:
        yield failures
    finally:
        event.remove(Session, "before_commit", failures)
