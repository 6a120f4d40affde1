"""Delivery of the outbox: claim what is due, render it for its recipient, send, mark.

Features register a renderer per kind of row; rendering happens at send time, so the text is in
the recipient's current language and reflects the current state (a cancelled meeting's reminder
renders to None and is skipped).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import utcnow
from bot.delivery.outbox import (
    CLAIM_LEASE,
    claim_due,
    mark_failed,
    mark_sent,
    mark_skipped,
    release,
    renew,
)
from bot.delivery.sender import Sender
from bot.metrics import SEND_FAILURES, SENT
from storage.database import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)


@dataclass
class Rendered:
    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    document: tuple[str, bytes] | None = None
    pin: bool = False  # pin the message (its first part) when the bot has the right to
    chat_id: int | None = None  # where to send, for rows that keep no chat id in clear


Renderer = Callable[[AsyncSession, OutboxMessage, datetime], Awaitable[Rendered | None]]
RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the renderer of one kind of outbox row."""

    def register(function: Renderer) -> Renderer:
        RENDERERS[kind] = function
        return function

    return register


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class Delivery:
    """Claims due rows and sends them continuously with `concurrency` workers: the limiter, not
    the batching, sets the pace. Rows are claimed `batch` at a time, and again as soon as half
    of them are done; one chat is served by one worker at a time, in the order of its rows, and
    goes to the back of the line after each message so that a slow chat holds up nobody."""

    def __init__(
        self, database: Database, sender: Sender, *, batch: int = 100, concurrency: int = 16,
        lease: timedelta = CLAIM_LEASE, clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        progress: Callable[[], None] | None = None,
    ) -> None:
        self.database = database
        self.sender = sender
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        self.clock = clock
        self.sleep = sleep
        self.progress = progress  # called after each row: a long fan-out is not a stall
        self.worker = worker_name()
        self.stopping = False

    def stop(self) -> None:
        """Send nothing more: rows in flight finish, the rest of the claims are given back."""
        self.stopping = True

    async def run(self, now: datetime) -> int:
        """Deliver everything due at `now`; returns how many messages went out."""
        run = _Run(self, now)
        renewing = asyncio.create_task(self._keep_claims(run.held))
        try:
            # A worker that fails (Redis gone, the database gone) stops the others: every claim
            # not sent is then given back, none is left behind by a worker still running.
            async with asyncio.TaskGroup() as workers:
                for _ in range(max(self.concurrency, 1)):
                    workers.create_task(run.work())
        finally:
            renewing.cancel()
            if run.held:  # stopping (or cancelled): whatever is left goes back to the outbox
                given_back = await release(self.database, self.worker, run.held)
                log.info("gave back %s unsent outbox rows", given_back)
        return run.delivered

    async def _keep_claims(self, held: set[int]) -> None:
        period = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await self.sleep(period)
            if not held:
                continue
            try:
                await renew(self.database, self.worker, set(held), self.clock())
            except Exception:  # a failed renewal only risks a takeover by another replica
                log.warning("could not renew outbox claims", exc_info=True)

    async def _deliver(self, row: OutboxMessage, now: datetime) -> int:
        render = RENDERERS.get(row.kind)
        if render is None:
            await mark_skipped(self.database, row.id, f"no renderer for {row.kind}")
            log.error("outbox row %s has kind %s, which nothing renders", row.id, row.kind)
            return 0
        try:
            async with self.database.session() as session:
                rendered = await render(session, row, now)
        except Exception as exc:
            log.exception("rendering outbox row %s (%s) failed", row.id, row.kind)
            await mark_failed(self.database, row, type(exc).__name__)
            return 0
        if rendered is None:
            await mark_skipped(self.database, row.id, "nothing to send")
            return 0
        chat_id = rendered.chat_id if rendered.chat_id is not None else row.chat_id
        try:
            if rendered.document is not None:
                name, data = rendered.document
                message = await self.sender.send_document(chat_id, name, data,
                                                          caption=rendered.text or None)
            else:
                parts = await self.sender.send_parts(chat_id, rendered.text,
                                                     reply_markup=rendered.reply_markup)
                message = parts[0] if parts else None  # the first part is the one pinned
        except TelegramAPIError as exc:
            log.warning("sending outbox row %s failed: %s", row.id, type(exc).__name__)
            SEND_FAILURES.labels(type(exc).__name__).inc()
            await mark_failed(self.database, row, type(exc).__name__)
            return 0
        if message is None:
            SEND_FAILURES.labels("blocked").inc()
            await mark_skipped(self.database, row.id, "recipient blocked the bot")
            return 0
        await mark_sent(self.database, row.id, now)
        SENT.labels(row.kind).inc()
        if rendered.pin:
            await self.sender.pin(chat_id, message.message_id)
        return 1


class _Run:
    """The state of one `Delivery.run`: rows held, chats waiting their turn, rows sent."""

    def __init__(self, delivery: Delivery, now: datetime) -> None:
        self.delivery = delivery
        self.now = now
        self.held: set[int] = set()  # claimed, not finished
        self.chats: dict[int, deque[OutboxMessage]] = {}  # rows per chat, in order
        self.ready: deque[int] = deque()  # chats with a row and no worker serving them
        self.exhausted = False  # the last claim found less than it asked for
        self.delivered = 0
        self.claiming = asyncio.Lock()
        self.changed = asyncio.Event()

    async def refill(self) -> None:
        delivery = self.delivery
        async with self.claiming:
            if self.exhausted or delivery.stopping or len(self.held) > delivery.batch // 2:
                return
            wanted = delivery.batch - len(self.held)
            # Stamped with the current time: this tick may have begun long ago.
            rows = await claim_due(delivery.database, self.now, worker=delivery.worker,
                                   limit=wanted, lease=delivery.lease,
                                   at=max(self.now, delivery.clock()))
            self.exhausted = len(rows) < wanted
            for row in rows:
                if row.id in self.held:  # a claim of ours that looked stale: still ours
                    continue
                self.held.add(row.id)
                if row.chat_id not in self.chats:
                    self.chats[row.chat_id] = deque()
                    self.ready.append(row.chat_id)
                self.chats[row.chat_id].append(row)
            self._wake()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def work(self) -> None:
        delivery = self.delivery
        while not delivery.stopping:
            if not self.exhausted and len(self.held) <= delivery.batch // 2:
                await self.refill()
                continue
            if not self.ready:
                if self.exhausted:
                    return  # the workers still sending finish their chats
                await self.changed.wait()
                continue
            chat = self.ready.popleft()
            row = self.chats[chat].popleft()
            try:
                sent = await delivery._deliver(row, self.now)
            except BaseException:
                self.chats[chat].appendleft(row)  # not sent: held, given back at the end
                raise
            self.delivered += sent
            self.held.discard(row.id)
            if self.chats[chat]:
                self.ready.append(chat)
            else:
                del self.chats[chat]
            self._wake()
            if delivery.progress is not None:
                delivery.progress()
