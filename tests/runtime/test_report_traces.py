"""A report filed through the real Dispatcher with a Redis that writes everything to disk (append
only file and snapshots): afterwards neither Redis's files nor the database hold the reporter's
Telegram id, username or name, nor the draft's fields in clear."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.exceptions import ResponseError
from sqlalchemy.engine import make_url

from bot.app import build_app
from bot.config import Settings
from bot.fsm_privacy import ExpiringMemoryStorage
from bot.local_api import LocalUser
from storage.database import Database
from tests.conftest import Clock, Harness
from tests.report_helpers import make_report

pytestmark = [pytest.mark.usefixtures("fresh_report_keys"),
              pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed")]

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
REPORTER = LocalUser(id=7340091234, first_name="Zawadikivu", username="zawadi_kivu_77",
                     language_code="en")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def persistent_redis(tmp_path: Path):
    """A redis-server of this test only, writing its append-only file and snapshots."""
    folder = tmp_path / "redis"
    folder.mkdir()
    port = _free_port()
    process = subprocess.Popen(  # noqa: ASYNC220  (started once, before the test runs)
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--appendonly", "yes", "--appendfsync", "always", "--save", "1 1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from redis.asyncio import Redis

    client = Redis(port=port)
    try:
        for _attempt in range(200):  # wait for the server to accept connections
            try:
                await client.ping()
                break
            except OSError:
                await asyncio.sleep(0.025)
            except Exception:  # noqa: BLE001  (redis' ConnectionError while it starts)
                await asyncio.sleep(0.025)
        yield f"redis://127.0.0.1:{port}/0", client, folder
    finally:
        await client.aclose()
        process.terminate()
        process.wait(timeout=10)


def _database_bytes(database: Database, tmp_path: Path) -> bytes:
    url = make_url(database.url)
    if url.get_backend_name() == "sqlite":
        return b"".join(path.read_bytes() for path in tmp_path.glob("test.db*"))
    dump = subprocess.run(
        ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database or ""],
        check=True, capture_output=True)
    return dump.stdout


def _files_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


async def test_a_filed_report_leaves_no_trace_of_its_reporter(database, tmp_path, amani,
                                                              persistent_redis):
    redis_url, client, folder = persistent_redis
    settings = Settings(_env_file=None, database_url=database.url, WGBOT_DATA_DIR=tmp_path / "d",
                        WGBOT_REDIS_URL=redis_url)
    app = await build_app(settings)
    local = Harness(app.dispatcher)
    try:
        group_chat = local.group_chat(-1001234567890, "South Kivu WG", creator=amani)
        await local.send(amani, group_chat, "/setup South Kivu | Africa/Lubumbashi")
        assert "is now a working group" in local.last_text(group_chat)
        local.private_chat(REPORTER)
        await make_report(local, database, REPORTER, group_chat,
                          where="Near the Zongo bridge", texts=("Guards beat two men.",))
        # While the report is written, and after, Redis is written to disk at every command.
        for _ in range(100):  # the "--save 1 1" policy may have a background save running
            try:
                await client.save()
                break
            except ResponseError as err:
                if "in progress" not in str(err):
                    raise
                await asyncio.sleep(0.1)
        else:
            pytest.fail("Redis never finished its background save")
    finally:
        await local.bot.session.close()
        await app.close()
    on_disk = _files_bytes(folder)
    assert on_disk, "redis wrote nothing to disk"
    stored = _database_bytes(database, tmp_path)
    for trace in (str(REPORTER.id), REPORTER.username, REPORTER.first_name):
        assert trace.encode() not in on_disk, f"{trace} in Redis's files"
        assert trace.encode() not in stored, f"{trace} in the database"
    for field in ("public_security", "Zongo", "Guards", '"language"', '"en"', "group_id",
                  "messages"):
        assert field.encode() not in on_disk, f"{field} in clear in Redis's files"


async def test_conversations_in_memory_expire(tg, database, reporter, registered_group, clock):
    """Polling mode keeps conversations in memory: a draft abandoned for a day is gone."""
    await tg.send(reporter, tg.private_chat(reporter), "/report")
    key = StorageKey(bot_id=tg.bot.id, chat_id=reporter.id, user_id=reporter.id)
    storage = tg.dispatcher.fsm.storage
    assert await storage.get_state(key) is not None
    clock.now += timedelta(hours=23)
    assert await storage.get_state(key) is not None
    clock.now += timedelta(hours=1, seconds=1)
    assert await storage.get_state(key) is None
    assert await storage.get_data(key) == {}


async def test_a_conversation_touched_again_outlives_a_newer_idle_one():
    """Expiry follows the last touch, not the first: a conversation still in use stays while
    one that started later and went quiet is forgotten."""
    clock = Clock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    storage = ExpiringMemoryStorage(timedelta(hours=1), clock=lambda: clock.now)
    first, second = (StorageKey(bot_id=1, chat_id=n, user_id=n) for n in (1, 2))
    await storage.set_state(first, "draft")
    clock.now += timedelta(minutes=10)
    await storage.set_state(second, "draft")
    clock.now += timedelta(minutes=40)
    await storage.set_data(first, {"step": 2})
    clock.now += timedelta(minutes=15)  # second idle 55 min, first 15 min
    assert await storage.get_state(second) == "draft"
    clock.now += timedelta(minutes=10)  # second idle 65 min, first 25 min
    assert await storage.get_state(second) is None
    assert await storage.get_data(second) == {}
    assert await storage.get_state(first) == "draft"
    assert await storage.get_data(first) == {"step": 2}
    clock.now += timedelta(hours=1)
    assert await storage.get_state(first) is None


def test_the_compose_redis_never_writes_to_disk():
    import yaml

    compose = yaml.safe_load((Path(__file__).parents[2] / "compose.yaml").read_text())
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"
    assert not redis.get("volumes")
