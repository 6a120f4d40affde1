"""The outbox: every message to send later is a row with a unique key, claimed atomically.

A restart loses nothing (the rows stay), two replicas never send the same row (claims are atomic:
`FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional UPDATE on SQLite), and a claim left behind
by a crashed process is taken over after a lease. A worker renews the lease of the rows it still
holds while it sends them (a batch for one group can take minutes at 20 messages a minute), and
gives back the rows it did not send when it stops.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import Database, per_dialect
from storage.models import OutboxMessage, OutboxStatus, utcnow

_OUTBOX = OutboxMessage.__table__
CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


async def enqueue(
    session: AsyncSession, *, key: str, kind: str, chat_id: int, due_at: datetime,
    payload: dict | None = None, created_at: datetime | None = None,
) -> bool:
    """Add a row unless one with `key` exists; returns whether it was added. `created_at`
    defaults to now (a row that must not tell when it was made gives a coarser time).

    One statement, INSERT ... ON CONFLICT (key) DO NOTHING, on SQLite and PostgreSQL alike: a row
    queued meanwhile by another process is not an error and leaves the transaction intact."""
    connection = await session.connection()
    values = {"key": key, "kind": kind, "chat_id": chat_id, "due_at": due_at,
              "payload": payload or {}, "status": OutboxStatus.PENDING.value, "attempts": 0,
              "created_at": created_at if created_at is not None else utcnow()}
    result = await connection.execute(per_dialect(connection, _enqueue), values)
    return result.rowcount == 1


def _enqueue(dialect):
    return dialect.insert(_OUTBOX).on_conflict_do_nothing(index_elements=["key"])


async def enqueue_or_revive(session: AsyncSession, rows: list[dict]) -> int:
    """Queue rows (key, kind, chat_id, due_at, payload), and put back to pending the ones
    already queued and cancelled; a row already pending, sent or failed is left as it is.
    One statement: INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE cancelled. Returns how many
    rows were added or revived."""
    if not rows:
        return 0
    connection = await session.connection()
    now = utcnow()
    result = await connection.execute(per_dialect(connection, _enqueue_or_revive), [
        {"status": OutboxStatus.PENDING.value, "attempts": 0, "created_at": now,
         "payload": {}, **row} for row in rows])
    return len(result.all())


def _enqueue_or_revive(dialect):
    """Built once per dialect (see `storage.database.per_dialect`): an RSVP press runs it."""
    return dialect.insert(_OUTBOX).on_conflict_do_update(
        index_elements=["key"], set_={"status": OutboxStatus.PENDING.value},
        where=_OUTBOX.c.status == OutboxStatus.CANCELLED.value,
    ).returning(_OUTBOX.c.id)


_CANCEL_KEYS = (
    update(_OUTBOX)
    .where(_OUTBOX.c.key.in_(bindparam("keys", expanding=True)),
           _OUTBOX.c.status == OutboxStatus.PENDING.value,
           _OUTBOX.c.due_at > bindparam("due_after"))
    .values(status=OutboxStatus.CANCELLED.value))


async def cancel_keys(session: AsyncSession, keys: list[str], *, due_after: datetime) -> int:
    """Cancel the pending rows with these keys due after `due_after` (the ones due already
    belong to delivery, whose renderer drops what no longer applies)."""
    if not keys:
        return 0
    connection = await session.connection()
    result = await connection.execute(_CANCEL_KEYS, {"keys": list(keys), "due_after": due_after})
    return result.rowcount or 0


async def enqueue_many(session: AsyncSession, rows: list[dict]) -> int:
    """`enqueue` for many rows (key, kind, chat_id, due_at, payload) at once: the keys
    already queued are read in one query and the others inserted together; if another process
    queued some of them meanwhile, the batch falls back to one row at a time."""
    added = 0
    for i in range(0, len(rows), 500):
        batch = rows[i:i + 500]
        existing = set((await session.exec(select(OutboxMessage.key).where(
            col(OutboxMessage.key).in_([row["key"] for row in batch])))).all())
        fresh = [{"status": OutboxStatus.PENDING.value, "attempts": 0, "created_at": utcnow(),
                  **row} for row in batch if row["key"] not in existing]
        if not fresh:
            continue
        try:
            async with session.begin_nested():
                connection = await session.connection()
                await connection.execute(insert(_OUTBOX), fresh)
            added += len(fresh)
        except IntegrityError:
            for row in fresh:
                added += await enqueue(session, key=row["key"], kind=row["kind"],
                                              chat_id=row["chat_id"], due_at=row["due_at"],
                                              payload=row["payload"])
    return added


async def cancel_pending(session: AsyncSession, *, key_prefix: str) -> int:
    """Cancel the rows not sent yet whose key starts with `key_prefix`."""
    escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.key).like(f"{escaped}%", escape="\\"),
            OutboxMessage.status == OutboxStatus.PENDING.value,
        )
        .values(status=OutboxStatus.CANCELLED.value)
    )
    return result.rowcount or 0


def _claimable(now: datetime, lease: timedelta = CLAIM_LEASE, at: datetime | None = None):
    stale = (at or now) - lease
    return (
        OutboxMessage.due_at <= now,
        or_(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            (OutboxMessage.status == OutboxStatus.CLAIMED.value)
            & (OutboxMessage.claimed_at < stale),
        ),
    )


async def claim_due(
    database: Database, now: datetime, *, worker: str, limit: int = 100,
    lease: timedelta = CLAIM_LEASE, at: datetime | None = None,
) -> list[OutboxMessage]:
    """Claim up to `limit` rows due at `now` for `worker`, oldest first; nobody else gets them.

    `at` is the current time (default `now`): claims are stamped with it and other workers'
    claims are stale when older than `at - lease`. A long tick claims batch after batch for
    the same `now`; stamping them with that old instant would hand them to another replica."""
    async with database.session() as session:
        if database.is_sqlite:
            return await _claim_sqlite(session, now, worker, limit, lease, at or now)
        return await _claim_locking(session, now, worker, limit, lease, at or now)


async def _claim_locking(session: AsyncSession, now, worker, limit, lease, at
                         ) -> list[OutboxMessage]:
    rows = list((await session.exec(
        select(OutboxMessage)
        .where(*_claimable(now, lease, at))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )).all())
    for row in rows:
        row.status, row.claimed_by, row.claimed_at = OutboxStatus.CLAIMED.value, worker, at
        row.attempts += 1
        session.add(row)
    return rows


async def _claim_sqlite(session: AsyncSession, now, worker, limit, lease, at
                       ) -> list[OutboxMessage]:
    candidates = (await session.exec(
        select(OutboxMessage.id)
        .where(*_claimable(now, lease, at))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )).all()
    claimed: list[OutboxMessage] = []
    for row_id in candidates:
        result = await session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, *_claimable(now, lease, at))
            .values(status=OutboxStatus.CLAIMED.value, claimed_by=worker, claimed_at=at,
                    attempts=OutboxMessage.attempts + 1)
        )
        if result.rowcount == 1:
            claimed.append(await session.get(OutboxMessage, row_id))
    return claimed


async def _finish(database: Database, row_id: int, status: OutboxStatus, *,
                  at: datetime | None = None, error: str | None = None) -> None:
    values: dict = {"status": status.value}
    if status == OutboxStatus.PENDING:  # given back; a finished row keeps who handled it
        values["claimed_by"] = None
    if at is not None:
        values["sent_at"] = at
    if error is not None:
        values["last_error"] = error[:200]
    async with database.session() as session:
        await session.exec(
            update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
        )


async def mark_sent(database: Database, row_id: int, at: datetime) -> None:
    await _finish(database, row_id, OutboxStatus.SENT, at=at)


async def mark_skipped(database: Database, row_id: int, reason: str) -> None:
    await _finish(database, row_id, OutboxStatus.SKIPPED, error=reason)


async def mark_failed(database: Database, row: OutboxMessage, error: str) -> None:
    """Give the row back for a later tick, or fail it for good after MAX_ATTEMPTS."""
    final = row.attempts >= MAX_ATTEMPTS
    await _finish(database, row.id, OutboxStatus.FAILED if final else OutboxStatus.PENDING,
                  error=error)


async def renew(database: Database, worker: str, ids: set[int] | list[int], now: datetime
                ) -> int:
    """Extend the lease of rows `worker` still holds; returns how many it still holds."""
    if not ids:
        return 0
    async with database.session() as session:
        result = await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(ids)), OutboxMessage.claimed_by == worker,
                   OutboxMessage.status == OutboxStatus.CLAIMED.value)
            .values(claimed_at=now))
        return result.rowcount or 0


async def release(database: Database, worker: str, ids: set[int] | list[int]) -> int:
    """Give back claimed rows that were not sent, for any replica's next tick; the attempt
    they cost is not counted."""
    if not ids:
        return 0
    async with database.session() as session:
        result = await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(ids)), OutboxMessage.claimed_by == worker,
                   OutboxMessage.status == OutboxStatus.CLAIMED.value)
            .values(status=OutboxStatus.PENDING.value, claimed_by=None, claimed_at=None,
                    attempts=OutboxMessage.attempts - 1))
        return result.rowcount or 0


async def depth(database: Database, now: datetime) -> tuple[dict[str, int], int]:
    """Rows waiting, being sent and failed for good (by status), and rows due now."""
    waiting = (OutboxStatus.PENDING.value, OutboxStatus.CLAIMED.value, OutboxStatus.FAILED.value)
    async with database.session() as session:
        counts = {status: int(count) for status, count in (await session.exec(
            select(OutboxMessage.status, func.count()).where(
                col(OutboxMessage.status).in_(waiting)).group_by(OutboxMessage.status)
        )).all()}
        due = int((await session.exec(
            select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.due_at <= now)
        )).one())
    return {status: counts.get(status, 0) for status in waiting}, due


async def pending_count(database: Database) -> int:
    async with database.session() as session:
        result = await session.exec(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING.value))
        return int(result.one())
