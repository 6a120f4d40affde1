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
    pin: bool = False  # pin the message when the bot has the right to
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
    def __init__(
        self, database: Database, sender: Sender, *, batch: int = 100, concurrency: int = 8,
        lease: timedelta = CLAIM_LEASE, clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.database = database
        self.sender = sender
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        self.clock = clock
        self.sleep = sleep
        self.worker = worker_name()
        self.stopping = False

    def stop(self) -> None:
        """Send nothing more: rows in flight finish, the rest of the batch is given back."""
        self.stopping = True

    async def run(self, now: datetime) -> int:
        """Deliver everything due at `now`; returns how many messages went out."""
        delivered = 0
        while not self.stopping:
            # Stamped with the current time: this tick may have begun long ago.
            rows = await claim_due(self.database, now, worker=self.worker, limit=self.batch,
                                   lease=self.lease, at=max(now, self.clock()))
            if rows:
                delivered += await self._deliver_batch(rows, now)
            if len(rows) < self.batch:
                break
        return delivered

    async def _deliver_batch(self, rows: list[OutboxMessage], now: datetime) -> int:
        held = {row.id for row in rows}
        by_chat: dict[int, list[OutboxMessage]] = {}
        for row in rows:
            by_chat.setdefault(row.chat_id, []).append(row)
        slots = asyncio.Semaphore(self.concurrency)

        async def one_chat(chat_rows: list[OutboxMessage]) -> int:
            sent = 0
            async with slots:
                for row in chat_rows:
                    if self.stopping:
                        break
                    sent += await self._deliver(row, now)
                    held.discard(row.id)
            return sent

        renewing = asyncio.create_task(self._keep_claims(held))
        try:
            return sum(await asyncio.gather(*(one_chat(r) for r in by_chat.values())))
        finally:
            renewing.cancel()
            if held:  # stopping (or cancelled): whatever is left goes back to the outbox
                given_back = await release(self.database, self.worker, held)
                log.info("gave back %s unsent outbox rows", given_back)

    async def _keep_claims(self, held: set[int]) -> None:
        period = max(self.lease.total_seconds() / 3, 0.05)
        while held:
            await self.sleep(period)
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
                message = await self.sender.send_message(chat_id, rendered.text,
                                                         reply_markup=rendered.reply_markup)
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
