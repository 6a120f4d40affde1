"""Anti-abuse counters of concern reports: nothing linkable at rest, nothing in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect

from bot.rate_limits import MemoryCounters, RedisCounters

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def test_memory_counters_forget_the_day_and_its_key():
    counters = MemoryCounters()
    assert await counters.hit("report", 7340091234, NOW) == 1
    assert await counters.hit("report", 7340091234, NOW) == 2
    assert await counters.count("report", 7340091235, NOW) == 0
    first_key = counters._key
    assert await counters.count("report", 7340091234, NOW + timedelta(days=1)) == 0
    assert counters._key != first_key and counters._counts == {}
    assert await counters.hit("receipt", 7, NOW) == 1
    assert await counters.count("receipt", 7, NOW + timedelta(hours=1)) == 0


async def test_redis_counters_hold_no_id_and_expire(redis):
    counters = RedisCounters(redis)
    assert await counters.hit("report", 7340091234, NOW) == 1
    assert await counters.hit("report", 7340091234, NOW) == 2
    assert await RedisCounters(redis).count("report", 7340091234, NOW) == 2  # replicas
    keys = [k.decode() for k in await redis.keys("*")]
    values = [await redis.get(k) for k in keys]
    assert not any("7340091234" in k for k in keys), keys
    assert not any(b"7340091234" in v for v in values if v)
    for key in keys:
        assert 0 < await redis.ttl(key) <= 2 * 86400, key


async def test_the_counter_table_is_gone(database):
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert "report_counter" not in tables and "report_case" in tables
