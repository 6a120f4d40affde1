"""Locks between processes sharing one database.

- `InstanceLock`: held for a process's life. Polling mode takes it so that a second poller on the
  same database refuses to start (Telegram would give each update to only one of them, and both
  would run the scheduled jobs). On PostgreSQL it is a session advisory lock on a connection kept
  open; on SQLite an exclusive `flock` on a file beside the database. Both vanish with the
  process, even after SIGKILL, so a crash never leaves a stale lock behind.
- `cluster_lock`: taken for a moment (one scheduler tick) so that, of several replicas, only one
  runs the jobs that scan the database; the others skip that tick's scan.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import Database


class AlreadyRunning(Exception):
    """Another process holds the lock; the message says what to do."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks."""
    digest = hashlib.sha256(f"wgbot:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _sqlite_lock_path(database: Database, name: str) -> Path | None:
    path = make_url(database.url).database
    if not path or path == ":memory:":
        return None
    return Path(f"{path}.{name}.lock")


class InstanceLock:
    def __init__(self, database: Database, name: str) -> None:
        self.database = database
        self.name = name
        self._connection: AsyncConnection | None = None
        self._fd: int | None = None

    async def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning."""
        if self.database.is_sqlite:
            self._acquire_file()
            return
        connection = await self.database.engine.connect()
        try:
            got = (await connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.name)}
            )).scalar()
            await connection.commit()  # a session lock outlives the transaction
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            raise AlreadyRunning(self._message())
        self._connection = connection

    def _acquire_file(self) -> None:
        import fcntl

        path = _sqlite_lock_path(self.database, self.name)
        if path is None:
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(self._message()) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def _message(self) -> str:
        return (
            "another wgbot process is already running against this database (it holds the "
            f"{self.name!r} lock): stop it first. Several replicas can share a PostgreSQL "
            "database in webhook mode (`wgbot run --webhook`), not in polling mode"
        )

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
        if self._connection is not None:
            try:
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(self.name)})
                await self._connection.commit()
            finally:
                await self._connection.close()
                self._connection = None


@asynccontextmanager
async def cluster_lock(database: Database, name: str) -> AsyncIterator[bool]:
    """Yield True if this process got `name` (no other replica holds it), else False.

    SQLite databases are never shared between processes (polling takes the instance lock), so
    there the answer is always True.
    """
    if database.is_sqlite:
        yield True
        return
    key = lock_key(name)
    async with database.engine.connect() as connection:
        got = bool((await connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": key})).scalar())
        await connection.commit()
        try:
            yield got
        finally:
            if got:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await connection.commit()
