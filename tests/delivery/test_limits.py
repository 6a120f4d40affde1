"""The send limiters (bot/delivery/limits.py) and the fake Bot API that enforces Telegram's
limits (bot/local_api_limits.py), on a controlled clock: nothing here sleeps for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery import limits
from bot.delivery.limits import MemoryLimiter, RedisLimiter
from bot.delivery.scheduler import Ticker
from bot.local_api import ApiCall
from bot.local_api_limits import LimitedBotAPI

GROUP = -1_001_234_567_890


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0)


def windows(times: list[float], span: float) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + span) for t in times)


async def send_times(limiter, chats: list[int], time: FakeTime) -> list[float]:
    times = []
    for chat in chats:
        await limiter.acquire(chat)
        times.append(time())
    return times


async def test_memory_limiter_keeps_under_30_per_second_evenly():
    time = FakeTime()
    limiter = MemoryLimiter(clock=time, sleep=time.sleep)
    times = await send_times(limiter, list(range(1, 301)), time)
    assert windows(times, 1.0) <= 30
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 0.95 * 30 <= rate < 30


async def test_memory_limiter_keeps_each_chat_to_its_own_limit():
    time = FakeTime()
    limiter = MemoryLimiter(clock=time, sleep=time.sleep)
    private = await send_times(limiter, [42] * 5, time)
    assert all(b - a >= 1.0 for a, b in zip(private, private[1:], strict=False))
    group = await send_times(limiter, [GROUP] * 45, time)
    assert windows(group, 60.0) <= 20
    assert all(b - a >= 3.0 for a, b in zip(group, group[1:], strict=False))


async def test_a_chat_that_is_not_ready_takes_no_global_slot():
    time = FakeTime()
    limiter = MemoryLimiter(clock=time, sleep=time.sleep)
    await limiter.acquire(42)
    assert await limiter.reserve(42) == (False, pytest.approx(limits.PRIVATE_INTERVAL))
    taken, delay = await limiter.reserve(43)  # another chat gets the very next slot
    assert taken and delay == pytest.approx(limits.GLOBAL_INTERVAL)


async def test_a_send_that_left_late_pushes_the_next_ones_back():
    """30 sends in a row woke so late that they left within half a second: the 31st waits
    until a second has passed since the first of them."""
    time = FakeTime()
    limiter = MemoryLimiter(clock=time, sleep=time.sleep, global_interval=0.0)
    first = time()
    for chat in range(1, 31):
        await limiter.acquire(chat)
        time.now += 0.5 / 30
    await limiter.acquire(31)
    assert time() >= first + 1.0


async def test_limited_api_answers_429_with_retry_after_and_counts_peaks():
    time = FakeTime()
    api = LimitedBotAPI(clock=time)
    api.chats.update({c: {"id": c, "type": "private", "first_name": "P"} for c in range(1, 40)})
    api.chats[GROUP] = {"id": GROUP, "type": "supergroup", "title": "WG"}

    def send(chat: int) -> dict:
        call = ApiCall("sendMessage", {"chat_id": chat, "text": "hi"})
        api.calls.append(call)
        return api._answer(call, {})

    assert all(send(chat)["ok"] for chat in range(1, 31))
    refused = send(31)
    assert refused["error_code"] == 429 and refused["parameters"]["retry_after"] == 1
    assert api.rejected == api.rejected_global == 1
    assert len(api.sent("sendMessage")) == 30, "a refused message is not delivered"
    time.now += 1.0
    assert send(1)["ok"]
    assert send(1)["error_code"] == 429  # one per second in a private chat
    for _ in range(20):
        time.now += 1.0
        assert send(GROUP)["ok"]
    time.now += 1.0
    assert send(GROUP)["parameters"]["retry_after"] >= 40  # 20 per minute in a group
    assert api.peak_per_second() == 30 and api.peak_per_group_minute() == 20


def test_a_long_fan_out_does_not_look_stalled():
    now = [datetime(2027, 3, 1, 8, tzinfo=UTC)]
    ticker = Ticker(60, clock=lambda: now[0])
    ticker._scheduler = object()  # started, without running APScheduler
    ticker.started_at = now[0]
    now[0] += timedelta(minutes=10)  # one tick has been sending for ten minutes
    assert not ticker.healthy()
    ticker.beat()  # ... and it just sent one more message
    assert ticker.healthy()


async def test_redis_limiter_is_shared_by_replicas_and_keeps_no_chat_id(redis):
    time = FakeTime(1_700_000_000.0)
    replicas = [RedisLimiter(redis, shared_clock=time, clock=time, sleep=time.sleep)
                for _ in range(2)]
    times = []
    for index in range(120):  # the replicas take turns, to different chats
        await replicas[index % 2].acquire(7_340_000_000 + index)
        times.append(time())
    assert windows(times, 1.0) <= 30
    # One chat, asked by both replicas: one per second.
    first = await replicas[0].reserve(7_340_091_234)
    second = await replicas[1].reserve(7_340_091_234)
    assert first[0] and not second[0] and second[1] >= 1.0 - 1e-6
    keys = [k.decode() for k in await redis.keys("*")]
    # No chat id in any key. (Not "7340" alone: the keys hold 32 hex digits of a keyed hash,
    # in which any four digits turn up by chance in about one run in twenty.)
    ids = [str(7_340_000_000 + index) for index in range(120)] + ["7340091234"]
    assert not any(chat_id in key for key in keys for chat_id in ids)
    assert all(key == "wgbot:send-key" or key.startswith("wgbot:") for key in keys)
    for key in keys:
        if key != "wgbot:send-key":
            ttl = await redis.pttl(key)
            assert ttl == -2 or 0 < ttl <= 62_000  # -2: expired since listed


async def test_redis_limiter_uses_the_servers_clock_by_default(redis):
    limiter = RedisLimiter(redis)
    taken, delay = await limiter.reserve(42)
    assert taken and delay == 0
    assert (await limiter.reserve(42))[0] is False


class BrokenLimiter(MemoryLimiter):
    """A shared limiter whose Redis went away after a few messages."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.left = after

    async def reserve(self, chat_id: int) -> tuple[bool, float]:
        if self.left == 0:
            raise ConnectionError("Redis went away")
        self.left -= 1
        return True, 0.0


async def test_a_failing_limiter_gives_every_unsent_claim_back(database):
    from sqlmodel import select

    from bot.delivery import outbox
    from bot.delivery.sender import Sender
    from bot.delivery.worker import Delivery
    from bot.local_api import LocalTelegram
    from storage.models import OutboxMessage
    from tests.delivery.test_outbox import NOW, _enqueue

    local = LocalTelegram(dispatcher=None)
    for chat in range(1001, 1011):
        local.api.chats[chat] = {"id": chat, "type": "private", "first_name": "P"}
        await _enqueue(database, f"note-{chat}", chat_id=chat)
    delivery = Delivery(database, Sender(local.bot, database, limiter=BrokenLimiter(3)),
                        concurrency=4)
    with pytest.raises(ExceptionGroup):
        await delivery.run(NOW)
    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    sent = sum(row.status == "sent" for row in rows)
    assert sent <= 3
    assert [row.status for row in rows].count("pending") == 10 - sent, "nothing left claimed"
    assert len(await outbox.claim_due(database, NOW, worker="other", limit=20)) == 10 - sent
