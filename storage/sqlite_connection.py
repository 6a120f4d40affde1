"""aiosqlite connections that cross to their thread once per statement instead of four times.

aiosqlite runs every call on the sqlite3 connection in the connection's own thread, and
SQLAlchemy's adapter makes four such calls per statement: create a cursor, execute, fetch the
rows, close the cursor. Each crossing wakes the thread and hands the GIL over and back, about
70 microseconds of CPU on the machine the benchmarks ran on: more than the statement itself, and
a fifth of the CPU of a short update on SQLite.

Here the statement and the fetch of its rows run in one crossing. Creating and closing a cursor
stay on the event loop's thread: they do no I/O, nothing else uses the connection meanwhile
(SQLAlchemy awaits each call in turn), and the sqlite3 connection is opened with
`check_same_thread=False` on an SQLite built serialized (`sqlite3.threadsafety == 3`).
Statements, commits and rollbacks still run in the thread, so a write waiting for another
connection's lock (busy timeout) never blocks the event loop; a commit or a rollback with no
transaction open, which sqlite3 would skip, does not cross at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

# An SQLite built otherwise (rare) gets aiosqlite's own connections.
SERIALIZED = sqlite3.threadsafety == 3


class Cursor(aiosqlite.Cursor):
    """An aiosqlite cursor whose rows come back with the statement that made them."""

    def __init__(self, conn: aiosqlite.Connection, cursor: sqlite3.Cursor) -> None:
        super().__init__(conn, cursor)
        self._rows: list[Any] = []

    def _execute_and_fetch(self, sql: str, parameters: Iterable[Any]) -> list[Any]:
        cursor = self._cursor
        cursor.execute(sql, parameters)
        return cursor.fetchall() if cursor.description is not None else []

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Cursor:
        self._rows = await self._execute(self._execute_and_fetch, sql,
                                         [] if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Cursor:
        self._rows = []
        await self._execute(self._cursor.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self._cursor.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []
        self._cursor.close()


class Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are `Cursor`, and whose commit and rollback stay on
    the loop's thread when no transaction is open."""

    @contextmanager  # what SQLAlchemy's adapter expects: awaitable and an async context
    async def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self, self._conn.cursor())

    # sqlite3 itself does nothing on a commit or a rollback outside a transaction (it checks
    # SQLite's autocommit flag, which `in_transaction` reads). Such calls are frequent: an update
    # that only read commits a transaction sqlite3 never began (it begins one before a write),
    # and SQLAlchemy rolls back every connection given back to its pool, after a commit too.
    # Each crossed to the thread for nothing.
    async def commit(self) -> None:
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()


def connect(database: str, **kwargs: Any) -> Connection:
    """Like `aiosqlite.connect`; the connection's thread does not keep the process alive."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **{**kwargs, "check_same_thread": False})

    connection = Connection(connector, iter_chunk_size=64)
    connection._thread.daemon = True
    return connection
