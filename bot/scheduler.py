"""The scheduler only ticks: APScheduler calls `Ticker.tick` at a fixed interval inside the
running event loop, and each registered job looks in the database for what is due. The durable
truth stays in the database, so a restart loses nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

TickJob = Callable[[datetime], Awaitable[None]]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Ticker:
    def __init__(self, interval_seconds: float, clock: Callable[[], datetime] = utcnow) -> None:
        self.interval_seconds = interval_seconds
        self.clock = clock
        self.jobs: list[tuple[str, TickJob]] = []
        self.last_tick: datetime | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._busy = asyncio.Lock()

    def add(self, name: str, job: TickJob) -> None:
        self.jobs.append((name, job))

    async def tick(self) -> None:
        """Run every job once for the current instant; one failing job does not stop the rest."""
        async with self._busy:
            now = self.clock()
            for name, job in self.jobs:
                try:
                    await job(now)
                except Exception:
                    log.exception("scheduled job %s failed", name)
            self.last_tick = now

    def start(self) -> None:
        """Start ticking; call from inside the running event loop."""
        if self._scheduler is not None:
            return
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

    async def stop(self) -> None:
        """Stop ticking and let a tick in progress finish (its database work included), so
        nothing is left half-done or holding a connection when the process ends."""
        if self._scheduler is not None:
            self._scheduler.pause()  # no new tick; APScheduler's shutdown cancels running ones
        async with self._busy:
            self.shutdown()
