"""PostgreSQL connections are tested before use only after being idle (storage/database.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import storage.database as db_module
from storage.database import Database
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set")


async def _backend_pid(database: Database) -> int:
    async with database.session() as session:
        return (await session.exec(text("SELECT pg_backend_pid()"))).one()[0]


async def test_a_connection_that_died_while_idle_is_replaced(monkeypatch):
    database = Database(PG_URL)
    killer = Database(PG_URL)
    try:
        pid = await _backend_pid(database)
        assert await _backend_pid(database) == pid  # the same pooled connection, used again
        async with killer.session() as session:
            await session.exec(text(f"SELECT pg_terminate_backend({pid})"))
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)  # as if idle long enough
        assert await _backend_pid(database) != pid  # pinged, found dead, replaced: no error
    finally:
        await database.dispose()
        await killer.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(monkeypatch):
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    pings = []
    original = AsyncAdapt_asyncpg_connection.ping

    def counting(self):
        pings.append(1)
        return original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting)
    database = Database(PG_URL)
    try:
        for _ in range(3):  # one connection: made, then used again at once
            await _backend_pid(database)
        assert pings == []
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)
        await _backend_pid(database)
        assert pings == [1]
    finally:
        await database.dispose()
