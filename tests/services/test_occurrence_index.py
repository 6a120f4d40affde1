"""The occurrence index and the reminder horizon's watermark: the scheduled jobs read a time
window of the index instead of expanding every meeting, so they must see exactly what a full
expansion would: series extended as time moves, changed meetings rebuilt, cancelled ones gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.services import calendar as cal
from bot.services import groups, people, reminders
from bot.services.groups import SetupRequest
from bot.services.people import TelegramIdentity
from storage.calendar_tables import Meeting, MeetingOccurrence
from storage.models import OutboxMessage, WorkingGroup

NOW = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
WEEKLY = "FREQ=WEEKLY;BYDAY=TH"


async def _series(database, rule=WEEKLY) -> int:
    async with database.session() as session:
        amani = await people.touch_person(session, TelegramIdentity(1001, "Amani"))
        bahati = await people.touch_person(session, TelegramIdentity(1002, "Bahati"))
        group = await groups.register_group(
            session, -100500, SetupRequest("WG", "Africa/Lubumbashi"),
            default_timezone="Africa/Lubumbashi", default_language="en", secretariat=[amani])
        await groups.ensure_member(session, group, bahati)
        meeting = await cal.create_meeting(session, group, title="Plenary", rule=rule,
                                           start_local=datetime(2026, 9, 3, 10, 0))
        occ = (await cal.next_occurrences(session, meeting, NOW, 1))[0]
        await cal.set_rsvp(session, occ, bahati, "going", NOW)
        return meeting.id


async def _index(database) -> list[MeetingOccurrence]:
    async with database.session() as session:
        return list((await session.exec(
            select(MeetingOccurrence).order_by(MeetingOccurrence.start_at))).all())


async def _refresh(database, now) -> None:
    async with database.session() as session:
        await cal.refresh_index(session, now)


async def test_the_index_follows_series_changes_and_cancellations(database):
    meeting_id = await _series(database)
    await _refresh(database, NOW)
    rows = await _index(database)
    starts = [cal.as_utc(r.start_at) for r in rows]
    assert starts[0] == datetime(2026, 9, 3, 8, 0, tzinfo=UTC)  # 10:00 in Lubumbashi
    assert all(b - a == timedelta(days=7) for a, b in zip(starts, starts[1:], strict=False))
    assert starts[-1] >= NOW + cal.INDEX_AHEAD - timedelta(days=7)

    # A month later: the series is extended, occurrences long past are dropped.
    later = NOW + timedelta(days=30)
    await _refresh(database, later)
    moved = [cal.as_utc(r.start_at) for r in await _index(database)]
    assert moved[0] >= later - cal.INDEX_KEEP
    assert moved[-1] >= later + cal.INDEX_AHEAD - timedelta(days=7)

    # One occurrence moved by a day: its row follows at the next refresh.
    async with database.session() as session:
        meeting = await session.get(Meeting, meeting_id)
        occ = (await cal.next_occurrences(session, meeting, later, 1))[0]
        await cal.reschedule_occurrence(session, occ, occ.start + timedelta(days=1), later)
    await _refresh(database, later)
    rows = {r.occurrence: cal.as_utc(r.start_at) for r in await _index(database)}
    assert rows[occ.key] == occ.start + timedelta(days=1)

    # The series cancelled: nothing of it is left in the index.
    async with database.session() as session:
        meeting = await session.get(Meeting, meeting_id)
        await cal.cancel_series(session, meeting, later)
    await _refresh(database, later)
    assert await _index(database) == []


async def _pending(database) -> set[str]:
    async with database.session() as session:
        return set((await session.exec(select(OutboxMessage.key).where(
            OutboxMessage.status == "pending"))).all())


async def test_the_horizon_queues_what_a_full_sync_would(database):
    meeting_id = await _series(database)
    assert await reminders.extend_horizon(database, NOW) > 0  # first run: a full sync
    first = await _pending(database)
    # Three weeks later, only the reminders entering the 60-day horizon are queued...
    later = NOW + timedelta(days=21)
    added = await reminders.extend_horizon(database, later)
    windowed = await _pending(database)
    assert added == len(windowed - first) > 0
    # ...and they are exactly those a full expansion of the meeting wants.
    async with database.session() as session:
        meeting = await session.get(Meeting, meeting_id)
        wanted = await reminders._wanted(session, meeting,
                                         await session.get(WorkingGroup, meeting.group_id),
                                         later)
    due_later = {key for key in windowed
                 if int(key.split(":")[3]) - int(key.split(":")[4]) * 60 >= later.timestamp()}
    assert due_later == set(wanted)
    assert await reminders.extend_horizon(database, later) == 0  # nothing twice
