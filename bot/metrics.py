"""Prometheus metrics and the count of updates in progress.

The metrics are process-wide (one registry per process, scraped at `/metrics` of each replica):
updates handled by type, handler latency, handler errors, outbox depth, messages sent, 429s and
send failures. No label ever carries a chat, a user or a text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

UPDATES = Counter("wgbot_updates_total", "Updates handled, by type", ["type"])
HANDLER_SECONDS = Histogram(
    "wgbot_handler_seconds", "Time to handle one update, by type", ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter("wgbot_errors_total", "Updates whose handler raised (users got an apology)")
IN_FLIGHT = Gauge("wgbot_updates_in_flight", "Updates being handled now")
OUTBOX = Gauge("wgbot_outbox_messages", "Outbox rows by status", ["status"])
OUTBOX_DUE = Gauge("wgbot_outbox_due", "Outbox rows due now and not sent yet")
SENT = Counter("wgbot_messages_sent_total", "Messages sent from the outbox, by kind", ["kind"])
RETRY_AFTER = Counter("wgbot_telegram_retry_after_total", "429 answers (flood waits) received")
SEND_FAILURES = Counter("wgbot_send_failures_total", "Outbox sends that failed, by reason",
                        ["reason"])
API_CALLS = Counter("wgbot_bot_api_calls_total",
                    "Bot API calls (handlers' replies included), by method and outcome",
                    ["method", "outcome"])
LAST_TICK = Gauge("wgbot_scheduler_last_tick_seconds", "Unix time of the last scheduler tick")


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


class UpdateTracker(BaseMiddleware):
    """Outer middleware on updates: counts and times them, and knows how many are in progress
    (graceful shutdown waits for that number to reach zero) and the highest update id seen.

    It also bounds how many updates are handled at once (`limit`): past the database's
    connections, more concurrency only makes updates wait for a connection until they time out
    (or, on SQLite, for the write lock); queued here, they wait their turn instead."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit) if limit else None
        self.in_flight = 0
        self.last_update_id: int | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = type(event).__name__
        if isinstance(event, Update):
            try:
                kind = event.event_type
            except UpdateTypeLookupError:  # a kind of update newer than this aiogram
                kind = "unknown"
            self.last_update_id = max(self.last_update_id or 0, event.update_id)
        self.in_flight += 1
        self._idle.clear()
        IN_FLIGHT.inc()
        started = time.perf_counter()
        try:
            if self._slots is None:
                return await handler(event, data)
            async with self._slots:
                return await handler(event, data)
        finally:
            HANDLER_SECONDS.labels(kind).observe(time.perf_counter() - started)
            UPDATES.labels(kind).inc()
            IN_FLIGHT.dec()
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no update is in progress; False if some still are after `timeout`."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class ApiCallCounter(BaseRequestMiddleware):
    """Counts every Bot API call by method and outcome ("ok", "429" or the error's type)."""

    async def __call__(self, make_request, bot: Bot, method: TelegramMethod):
        name = method.__api_method__
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            API_CALLS.labels(name, "429").inc()
            raise
        except Exception as exc:
            API_CALLS.labels(name, type(exc).__name__).inc()
            raise
        API_CALLS.labels(name, "ok").inc()
        return response
