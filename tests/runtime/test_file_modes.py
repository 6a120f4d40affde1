"""Files at rest are the bot's user's only: the SQLite database with its -wal and -shm files,
and the report key file, which is refused when every user of the machine can read it."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.services.report_crypto import ReportKeySettings, load_master_key, new_key
from storage.database import Database
from tests.runtime.test_cli import GOOD_TOKEN, _one_line_error, wgbot


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_files_are_created_private(tmp_path):
    path = tmp_path / "data" / "wgbot.db"
    with umask(0o022):
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with database.engine.begin() as connection:
                await connection.execute(text("create table t (x integer)"))
                await connection.execute(text("insert into t values (1)"))
            wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
            assert wal.exists() and shm.exists()
            assert [_mode(p) for p in (path, wal, shm)] == [0o600, 0o600, 0o600]
        finally:
            await database.dispose()


async def test_an_open_sqlite_file_left_by_an_earlier_version_is_closed_down(tmp_path):
    path = tmp_path / "wgbot.db"
    path.touch()
    path.chmod(0o644)
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.dispose()
    assert _mode(path) == 0o600


def test_the_report_key_file_is_created_private(tmp_path, monkeypatch):
    monkeypatch.delenv("WGBOT_REPORT_KEY", raising=False)
    monkeypatch.delenv("WGBOT_REPORT_KEY_FILE", raising=False)
    with umask(0o000):
        load_master_key(ReportKeySettings(_env_file=None, WGBOT_DATA_DIR=tmp_path))
    assert _mode(tmp_path / "report.key") == 0o600


@pytest.mark.parametrize("mode", [0o644])
def test_a_key_file_every_user_can_read_is_refused(tmp_path, mode):
    key = tmp_path / "report.key"
    key.write_text(new_key() + "\n")
    key.chmod(mode)
    result = wgbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=GOOD_TOKEN, WGBOT_REPORT_KEY_FILE=str(key))
    _one_line_error(result, "open to every user of the machine")
    assert "chmod 600" in result.stderr
