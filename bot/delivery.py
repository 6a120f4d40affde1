"""Delivery of the outbox: claim what is due, render it for its recipient, send, mark.

Features register a renderer per kind of row; rendering happens at send time, so the text is in
the recipient's current language and reflects the current state (a cancelled meeting's reminder
renders to None and is skipped).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.outbox import claim_due, mark_failed, mark_sent, mark_skipped
from bot.sender import Sender
from storage.database import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)


@dataclass
class Rendered:
    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    document: tuple[str, bytes] | None = None
    pin: bool = False  # pin the message when the bot has the right to


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
    def __init__(self, database: Database, sender: Sender, *, batch: int = 100) -> None:
        self.database = database
        self.sender = sender
        self.batch = batch
        self.worker = worker_name()

    async def run(self, now: datetime) -> int:
        """Deliver everything due at `now`; returns how many messages went out."""
        delivered = 0
        while True:
            rows = await claim_due(self.database, now, worker=self.worker, limit=self.batch)
            for row in rows:
                delivered += await self._deliver(row, now)
            if len(rows) < self.batch:
                return delivered

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
        try:
            if rendered.document is not None:
                name, data = rendered.document
                message = await self.sender.send_document(row.chat_id, name, data,
                                                          caption=rendered.text or None)
            else:
                message = await self.sender.send_message(row.chat_id, rendered.text,
                                                         reply_markup=rendered.reply_markup)
        except TelegramAPIError as exc:
            log.warning("sending outbox row %s failed: %s", row.id, type(exc).__name__)
            await mark_failed(self.database, row, type(exc).__name__)
            return 0
        if message is None:
            await mark_skipped(self.database, row.id, "recipient blocked the bot")
            return 0
        await mark_sent(self.database, row.id, now)
        if rendered.pin:
            await self.sender.pin(row.chat_id, message.message_id)
        return 1
