"""SQLite connections cross to their thread once per statement, and still never block the loop."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage import sqlite_connection
from storage.database import Database


@pytest.fixture
async def db(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wg.db'}")
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
    yield database
    await database.engine.dispose()


def _count_crossings(monkeypatch) -> list[str]:
    crossed: list[str] = []
    original = sqlite_connection.Connection._execute

    async def counting(self, fn, *args, **kwargs):
        crossed.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(sqlite_connection.Connection, "_execute", counting)
    return crossed


async def test_a_select_crosses_once_and_returns_its_rows(db, monkeypatch):
    async with db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # the connection is open and initialised
        crossed = _count_crossings(monkeypatch)
        rows = (await connection.execute(text("SELECT :a AS a, :b AS b"),
                                         {"a": 1, "b": "x"})).all()
    assert [tuple(row) for row in rows] == [(1, "x")]
    assert crossed[0] == "_execute_and_fetch"
    assert crossed.count("_execute_and_fetch") == 1
    # what follows the statement is the connection going back to the pool (its rollback)
    assert all(name != "cursor" and name != "close" for name in crossed)


async def test_commit_and_rollback_cross_only_when_a_transaction_is_open(db, monkeypatch):
    """sqlite3 skips a commit or a rollback outside a transaction: so does the connection,
    without crossing to its thread (an update that only read, a connection back in the pool)."""
    crossed = _count_crossings(monkeypatch)

    def ends() -> list[str]:
        found = [name for name in crossed if name in ("commit", "rollback")]
        crossed.clear()
        return found

    async with db.session() as session:  # reads only: sqlite3 began no transaction
        assert (await (await session.connection()).execute(
            text("SELECT count(*) FROM t"))).scalar() == 0
    assert ends() == []
    async with db.session() as session:  # a write: committed in the thread
        await (await session.connection()).execute(text("INSERT INTO t (name) VALUES ('kept')"))
    assert ends() == ["commit"]
    async with db.sessionmaker() as session:  # a write undone
        await (await session.connection()).execute(
            text("INSERT INTO t (name) VALUES ('undone')"))
        await session.rollback()
    assert ends() == ["rollback"]
    async with db.engine.connect() as connection:  # given back mid-transaction: rolled back
        await connection.execute(text("INSERT INTO t (name) VALUES ('dropped')"))
    assert ends() == ["rollback"]
    async with db.session() as session:
        names = (await (await session.connection()).execute(
            text("SELECT name FROM t"))).scalars().all()
    assert names == ["kept"]


async def test_writes_returning_many_rows_and_streamed_reads(db):
    async with db.engine.begin() as connection:
        inserted = (await connection.execute(
            text("INSERT INTO t (name) VALUES ('a'), ('b'), ('c') RETURNING id, name"))).all()
        assert sorted(name for _id, name in inserted) == ["a", "b", "c"]
        await connection.execute(text("INSERT INTO t (name) VALUES (:name)"),
                                 [{"name": f"n{i}"} for i in range(5)])  # executemany
        updated = await connection.execute(text("UPDATE t SET name = upper(name)"))
        assert updated.rowcount == 8
        streamed = await connection.stream(text("SELECT name FROM t ORDER BY id"))
        names = [row[0] async for row in streamed]
    assert names == ["A", "B", "C", "N0", "N1", "N2", "N3", "N4"]
    async with db.engine.connect() as connection:
        result = await connection.execute(text("SELECT name FROM t ORDER BY id"))
        assert result.fetchone()[0] == "A"
        assert [row[0] for row in result.fetchmany(2)] == ["B", "C"]
        assert len(result.fetchall()) == 5


async def test_an_error_in_a_statement_is_the_database_error(db):
    from sqlalchemy.exc import OperationalError

    async with db.engine.connect() as connection:
        with pytest.raises(OperationalError, match="no such table"):
            await connection.execute(text("SELECT * FROM missing"))
        assert (await connection.execute(text("SELECT 2"))).scalar() == 2


async def test_a_write_waiting_for_a_lock_leaves_the_loop_running(db):
    """The statement still runs in the connection's thread: while one connection holds the
    write lock, another's write waits there, and the holder can go on and commit."""
    ticks = 0

    async def ticking():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        async with db.engine.connect() as holder, db.engine.connect() as waiter:
            await holder.execute(text("INSERT INTO t (name) VALUES ('first')"))  # holds the lock

            async def second_write():
                await waiter.execute(text("INSERT INTO t (name) VALUES ('second')"))
                await waiter.commit()

            waiting = asyncio.create_task(second_write())
            await asyncio.sleep(0.2)
            assert not waiting.done()
            assert ticks >= 5  # the loop kept running while the second write waited
            await holder.commit()
            await asyncio.wait_for(waiting, 5)
    finally:
        ticker.cancel()
    async with db.engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars()
        assert list(names) == ["first", "second"]
