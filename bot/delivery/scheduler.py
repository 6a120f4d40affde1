"""The scheduler only ticks: APScheduler calls `Ticker.tick` at a fixed interval inside the
running event loop, and each registered job looks in the database for what is due. The durable
truth stays in the database, so a restart loses nothing.

With several replicas, the jobs that scan the database run in one replica per tick (the one that
gets the cluster lock); the jobs marked `every_replica` (outbox delivery, metrics) run in all of
them: the outbox's atomic claims already share the work out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import utcnow
from bot.metrics import LAST_TICK

log = logging.getLogger(__name__)

TickJob = Callable[[datetime], Awaitable[None]]
Exclusive = Callable[[], AbstractAsyncContextManager[bool]]


class Ticker:
    def __init__(self, interval_seconds: float, clock: Callable[[], datetime] = utcnow) -> None:
        self.interval_seconds = interval_seconds
        self.clock = clock
        self.jobs: list[tuple[str, TickJob, bool]] = []
        self.last_tick: datetime | None = None
        self.started_at: datetime | None = None
        self.ticks = 0
        self.last_progress: datetime | None = None  # a long job in a tick said it moves on
        # Set by the composition root when replicas share a database: yields whether this
        # process may run the scanning jobs during this tick.
        self.exclusive: Exclusive | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._busy = asyncio.Lock()
        self._current: asyncio.Task | None = None

    def add(self, name: str, job: TickJob, *, every_replica: bool = False) -> None:
        self.jobs.append((name, job, every_replica))

    async def tick(self) -> None:
        """Run every job once for the current instant; one failing job does not stop the rest."""
        async with self._busy:
            self._current = asyncio.current_task()
            try:
                now = self.clock()
                if self.exclusive is None:
                    await self._run(now, everything=True)
                else:
                    async with self.exclusive() as leader:
                        await self._run(now, everything=leader)
                self.last_tick = now
                self.ticks += 1
                LAST_TICK.set(now.timestamp())
            finally:
                self._current = None

    async def _run(self, now: datetime, *, everything: bool) -> None:
        for name, job, every_replica in self.jobs:
            if not (everything or every_replica):
                continue
            try:
                await job(now)
            except Exception:
                log.exception("scheduled job %s failed", name)

    def start(self) -> None:
        """Start ticking; call from inside the running event loop."""
        if self._scheduler is not None:
            return
        self.started_at = self.clock()
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self.tick, "interval", seconds=self.interval_seconds, next_run_time=utcnow(),
            id="tick", max_instances=1, coalesce=True, misfire_grace_time=None,
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    def beat(self) -> None:
        """Called by a long job (a fan-out of thousands of reminders) each time it moves on: the
        tick is slow, not stalled."""
        self.last_progress = self.clock()

    def healthy(self) -> bool:
        """Ticking as it should: a tick within the last three intervals (or just started), or a
        tick in progress whose job moved on as recently."""
        if self._scheduler is None or self.started_at is None:
            return False
        now = self.clock()
        window = 3 * self.interval_seconds + 30
        last = max(self.last_tick or self.started_at, self.last_progress or self.started_at)
        return (now - last).total_seconds() <= window

    async def stop(self, timeout: float | None = None) -> None:
        """Stop ticking and let a tick in progress finish (its database work included), so
        nothing is left half-done or holding a connection when the process ends. After
        `timeout` seconds the tick is cancelled (its jobs clean up as they unwind)."""
        if self._scheduler is not None:
            self._scheduler.pause()  # no new tick; APScheduler's shutdown cancels running ones
        try:
            await asyncio.wait_for(self._busy.acquire(), timeout)
        except TimeoutError:
            log.warning("a scheduler tick still running after %s s is cancelled", timeout)
            if self._current is not None:
                self._current.cancel()
            await self._busy.acquire()
        try:
            self.shutdown()
        finally:
            self._busy.release()
