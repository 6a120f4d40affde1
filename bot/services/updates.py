"""Handling each Telegram update once: webhook mode records the ids of the updates it handled,
in the same transaction as what the update changed, so an update Telegram delivers again (the
replica died, or answered an error) is handled only if its first handling was not committed."""

from __future__ import annotations

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import HandledUpdate

KEEP = 100_000  # ids kept: Telegram redelivers within hours, far fewer updates than this


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """Record `update_id` as handled in this transaction; False when it already was."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = insert(HandledUpdate).values(update_id=update_id).on_conflict_do_nothing()
    result = await session.exec(statement)
    return bool(result.rowcount)


async def prune_handled(session: AsyncSession, keep: int = KEEP) -> int:
    """Forget all but the newest `keep` ids (by id, which Telegram increases; no time kept)."""
    newest = (await session.exec(select(func.max(HandledUpdate.update_id)))).one()
    if newest is None:
        return 0
    result = await session.exec(delete(HandledUpdate).where(
        HandledUpdate.update_id <= newest - keep))
    return result.rowcount or 0
