"""The async engine and session factory, shared by SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_connection

T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened; the message says why in one line."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - driver hook
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _private_files(path: Path) -> None:
    """The SQLite file readable and writable by the bot's user only. SQLite creates its -wal and
    -shm files with the mode of the database file, so creating that one 0600 covers them;
    files left more open by an earlier version are closed down."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:
        return  # opening it will say why, in one line
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if stat.S_IMODE(file.stat().st_mode) & 0o077:
                file.chmod(0o600)
        except OSError:  # missing, or owned by someone else
            continue


def _without_nul(value):
    """PostgreSQL's text and JSON cannot hold the NUL character: drop it from parameters."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_nul(v) for v in value)
    return value


def _strip_nul(conn, cursor, statement, parameters, context, executemany):  # pragma: no cover
    return statement, _without_nul(parameters)


# A pooled PostgreSQL connection is tested before use only when it has been idle a while: a
# connection the bot used a moment ago is alive, and testing it on every checkout (SQLAlchemy's
# pool_pre_ping) cost a round trip and 0.45 ms of CPU per update. One left idle (a database
# restarted meanwhile, a firewall that drops quiet connections) is pinged, and replaced if dead.
PING_AFTER_IDLE = 2.0  # seconds
_LAST_USE = "wgbot_last_use"


def _note_use(_dbapi_connection, record) -> None:  # pragma: no cover - pool hook
    record.info[_LAST_USE] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    last = record.info.get(_LAST_USE)
    if last is not None and time.monotonic() - last < PING_AFTER_IDLE:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:  # the driver's own exception types vary
        raise DisconnectionError(f"connection lost while idle: {type(exc).__name__}") from exc


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(
                    f"cannot create the database folder {folder}: {exc.strerror}"
                ) from None
            _private_files(Path(parsed.database))
        kwargs: dict = {"echo": echo}
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=10)
        elif sqlite_connection.SERIALIZED:
            kwargs.update(async_creator=self._connect_sqlite)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:  # a NUL typed (or forged) in a message must not make the transaction fail
            event.listen(self.engine.sync_engine, "before_cursor_execute", _strip_nul,
                         retval=True)
            pool = self.engine.sync_engine.pool
            event.listen(pool, "connect", _note_use)
            event.listen(pool, "checkin", _note_use)
            event.listen(pool, "checkout", _ping_if_idle)
        self.sessionmaker = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    async def _connect_sqlite(self) -> sqlite_connection.Connection:
        """An SQLite connection that crosses to its thread once per statement (see
        `storage.sqlite_connection`), opened with the arguments SQLAlchemy derives from the URL."""
        args, params = self.engine.dialect.create_connect_args(make_url(self.url))
        return await sqlite_connection.connect(*args, **params)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def check(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # the driver's own exception types vary
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(f"cannot reach the database: {reason}") from None

    async def dispose(self) -> None:
        await self.engine.dispose()


_BUILT: dict[tuple[Callable[[ModuleType], Any], str], Any] = {}


def per_dialect(connection: AsyncConnection, build: Callable[[ModuleType], T]) -> T:
    """The statement `build(dialect module)` makes for the connection's dialect (SQLite and
    PostgreSQL spell INSERT ... ON CONFLICT alike, each in its own module), built once per
    dialect: building it costs more CPU than running it in a short update. The statement must
    take its values as bound parameters, not inline."""
    name = connection.dialect.name
    statement = _BUILT.get((build, name))
    if statement is None:
        statement = _BUILT[(build, name)] = build(sqlite if name == "sqlite" else postgresql)
    return statement


# -- what one update's session has read already -------------------------------------------------
#
# `session.get` answers from the identity map for a row it has loaded, but asks the database
# again each time for a row that does not exist (a group without calendar settings, a person
# who muted nothing), and queries by other columns always go to the database. A session lives
# for one update: `get_known` remembers, for that session, the keys found absent; `memo` holds
# what a query read for later steps of the same update (a meeting's exceptions, a membership).
# Both are forgotten whenever the session flushes a change, so nothing the update itself wrote
# is hidden.

_ABSENT = "wgbot_absent"
_MEMO = "wgbot_memo"


def _forget(session: Session, _context: object, _instances: object = None) -> None:
    if session.new or session.dirty or session.deleted:
        session.info.pop(_ABSENT, None)
        session.info.pop(_MEMO, None)


event.listen(Session, "before_flush", _forget)


def memo(session: AsyncSession) -> dict:
    """A dict for this session's reads, emptied by any flush that writes ORM objects (writes
    through Core statements do not empty it: who writes that way forgets what it changed)."""
    return session.info.setdefault(_MEMO, {})


def note_absent(session: AsyncSession, model: type, key: object) -> None:
    session.info.setdefault(_ABSENT, set()).add((model, key))


async def get_known(session: AsyncSession, model: type, key: object):
    """`session.get(model, key)`, asking the database at most once per session for a row that
    does not exist, until the session writes."""
    if (model, key) in session.info.get(_ABSENT, ()):
        return None
    row = await session.get(model, key)
    if row is None:
        note_absent(session, model, key)
    return row
