"""The agenda of a meeting occurrence: proposals (named or anonymous), the secretariat's review
(accept, decline, move up or down), late proposals to "any other business" or the next meeting,
publication at the deadline through the outbox, and carry-over of undiscussed items to the next
meeting of the series. No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import false
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.outbox import enqueue
from bot.refusals import Refusal
from bot.services import calendar as cal
from bot.services.groups import get_membership, is_secretariat, secretariat_members
from storage.agenda_tables import AgendaItem, AgendaSettings
from storage.calendar_tables import Meeting, MeetingOccurrence
from storage.database import Database
from storage.models import Person, WorkingGroup

TEXT_MAX = 400
DEFAULT_DEADLINE_HOURS = 48
REMINDER_BEFORE_DEADLINE = timedelta(hours=24)
LOOKAHEAD = timedelta(days=60)
ACTIONS = ("accept", "decline", "up", "down", "aob", "next")


class AgendaError(Refusal):
    """An agenda operation was refused; `code` names the reason for a localized message."""


@dataclass(frozen=True)
class Target:
    group: WorkingGroup
    occ: cal.Occurrence
    deadline: datetime


async def deadline_hours(session: AsyncSession, group: WorkingGroup) -> int:
    settings = await session.get(AgendaSettings, group.id)
    return settings.deadline_hours if settings else DEFAULT_DEADLINE_HOURS


async def set_deadline_hours(session: AsyncSession, group: WorkingGroup, hours: int) -> None:
    if not 1 <= hours <= 24 * 30:
        raise AgendaError("deadline_range")
    settings = await session.get(AgendaSettings, group.id) or AgendaSettings(group_id=group.id)
    settings.deadline_hours = hours
    session.add(settings)
    await session.flush()


async def target(
    session: AsyncSession, group: WorkingGroup, now: datetime, meeting_id: int | None = None
) -> Target:
    """The occurrence an agenda is about: the group's next one, or meeting N's next one."""
    if meeting_id is None:
        coming, _ = await cal.upcoming(session, group, now, limit=1)
        if not coming:
            raise AgendaError("no_meeting")
        occ = coming[0]
    else:
        try:
            meeting = await cal.get_meeting(session, meeting_id, group)
        except cal.CalendarError:
            raise AgendaError("not_found", number=meeting_id) from None
        coming = await cal.next_occurrences(session, meeting, now, 1)
        if not coming:
            raise AgendaError("no_meeting")
        occ = coming[0]
    hours = await deadline_hours(session, group)
    return Target(group, occ, occ.start - timedelta(hours=hours))


def clean(text: str) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise AgendaError("text_empty")
    if len(value) > TEXT_MAX:
        raise AgendaError("text_long", max=TEXT_MAX)
    return value


async def _next_position(session: AsyncSession, meeting_id: int, occurrence: int) -> int:
    rows = await session.exec(select(AgendaItem.position).where(
        AgendaItem.meeting_id == meeting_id, AgendaItem.occurrence == occurrence))
    return max(rows.all(), default=0) + 1


async def propose(
    session: AsyncSession, where: Target, person: Person, text: str, now: datetime, *,
    draft: bool = False,
) -> AgendaItem:
    """A new proposal; late when the deadline has passed. A draft waits for the name choice."""
    value = clean(text)
    if not await cal.is_member(session, where.group, person):
        raise AgendaError("not_member")
    item = AgendaItem(
        group_id=where.group.id, meeting_id=where.occ.meeting.id, occurrence=where.occ.key,
        text=value, proposer_id=person.id, status="draft" if draft else "pending",
        late=now >= where.deadline,
        position=await _next_position(session, where.occ.meeting.id, where.occ.key),
    )
    session.add(item)
    await session.flush()
    if not draft:
        await notify_secretariat(session, where.group, item, now)
    return item


async def add_from_concern(
    session: AsyncSession, where: Target, text: str, now: datetime
) -> AgendaItem:
    """An item the secretariat puts on the agenda from a concern report: accepted at once, at
    the end of the main items, anonymous and without a proposer (nothing of the reporter)."""
    item = AgendaItem(
        group_id=where.group.id, meeting_id=where.occ.meeting.id, occurrence=where.occ.key,
        text=clean(text), proposer_id=None, anonymous=True, from_concern=True,
        status="accepted", section="main", reviewed_at=now,
        position=await _next_position(session, where.occ.meeting.id, where.occ.key),
    )
    session.add(item)
    await session.flush()
    return item


async def finish_draft(
    session: AsyncSession, item_id: int, person: Person, anonymous: bool, now: datetime
) -> AgendaItem:
    item = await session.get(AgendaItem, item_id)
    if item is None or item.proposer_id != person.id or item.status != "draft":
        raise AgendaError("gone")
    item.anonymous = anonymous
    item.status = "pending"
    session.add(item)
    await session.flush()
    group = await session.get(WorkingGroup, item.group_id)
    await notify_secretariat(session, group, item, now)
    return item


async def notify_secretariat(
    session: AsyncSession, group: WorkingGroup, item: AgendaItem, now: datetime
) -> None:
    for person in await secretariat_members(session, group):
        await enqueue(session, key=f"agenda:review:{item.id}:{person.id}",
                      kind="agenda_review", chat_id=person.telegram_id, due_at=now,
                      payload={"item": item.id, "person": person.id})


async def item_for_secretariat(
    session: AsyncSession, item_id: int, person: Person | None
) -> tuple[AgendaItem, WorkingGroup]:
    """The item, only for a member of its group's secretariat (a forged id gives "gone")."""
    item = await session.get(AgendaItem, item_id)
    if item is None or item.status in ("draft", "closed"):
        raise AgendaError("gone")
    group = await session.get(WorkingGroup, item.group_id)
    if person is None or group is None:
        raise AgendaError("not_secretariat")
    if not is_secretariat(await get_membership(session, group, person)):
        raise AgendaError("not_secretariat")
    return item, group


async def items(
    session: AsyncSession, meeting_id: int, occurrence: int, *, statuses: tuple[str, ...] = (
        "accepted",)
) -> list[AgendaItem]:
    rows = await session.exec(select(AgendaItem).where(
        AgendaItem.meeting_id == meeting_id, AgendaItem.occurrence == occurrence,
        col(AgendaItem.status).in_(statuses),
    ).order_by(AgendaItem.section.desc(), AgendaItem.position, AgendaItem.id))
    # "main" sorts after "aob" alphabetically; descending puts the main items first.
    return list(rows.all())


async def _swap(session: AsyncSession, item: AgendaItem, step: int) -> None:
    siblings = [i for i in await items(session, item.meeting_id, item.occurrence)
                if i.section == item.section]
    index = next((n for n, i in enumerate(siblings) if i.id == item.id), None)
    if index is None:
        raise AgendaError("not_accepted")
    other = index + step
    if not 0 <= other < len(siblings):
        raise AgendaError("edge")
    neighbour = siblings[other]
    item.position, neighbour.position = neighbour.position, item.position
    if item.position == neighbour.position:
        item.position += step
    session.add(item)
    session.add(neighbour)


async def review(
    session: AsyncSession, item: AgendaItem, group: WorkingGroup, action: str, now: datetime,
    reason: str = "",
) -> AgendaItem:
    """Apply the secretariat's choice; a decline queues a private notice to the proposer."""
    if action not in ACTIONS:
        raise AgendaError("gone")
    if action in ("up", "down"):
        await _swap(session, item, -1 if action == "up" else 1)
    elif action == "decline":
        if item.status == "declined":
            raise AgendaError("already")
        item.status = "declined"
        reason = " ".join(reason.split())
        if len(reason) > TEXT_MAX:
            raise AgendaError("text_long", max=TEXT_MAX)
        proposer = await session.get(Person, item.proposer_id) if item.proposer_id else None
        if proposer is not None:
            await enqueue(session, key=f"agenda:declined:{item.id}", kind="agenda_declined",
                          chat_id=proposer.telegram_id, due_at=now,
                          payload={"item": item.id, "reason": reason})
    elif action == "next":
        meeting = await session.get(Meeting, item.meeting_id)
        after = cal.from_epoch(item.occurrence) + timedelta(seconds=1)
        coming = await cal.next_occurrences(session, meeting, max(after, now), 1)
        if not coming:
            coming, _ = await cal.upcoming(session, group, max(after, now), limit=1)
            coming = [o for o in coming if o.key != item.occurrence or o.meeting.id !=
                      item.meeting_id]
        if not coming:
            raise AgendaError("no_next")
        item.meeting_id, item.occurrence = coming[0].meeting.id, coming[0].key
        item.status, item.late, item.section = "accepted", False, "main"
        item.position = await _next_position(session, item.meeting_id, item.occurrence)
    else:
        if item.status == "accepted" and action == "accept":
            raise AgendaError("already")
        item.status = "accepted"
        item.section = "aob" if action == "aob" else "main"
        item.position = await _next_position(session, item.meeting_id, item.occurrence)
    item.reviewed_at = now
    session.add(item)
    await session.flush()
    return item


async def merge(session: AsyncSession, item: AgendaItem, group: WorkingGroup, into_id: int,
                now: datetime) -> AgendaItem:
    """Fold `item` into another item of the same meeting: its text is appended there."""
    target = await session.get(AgendaItem, into_id)
    if (target is None or target.id == item.id or target.group_id != group.id
            or (target.meeting_id, target.occurrence) != (item.meeting_id, item.occurrence)
            or target.status not in ("pending", "accepted") or item.status == "merged"):
        raise AgendaError("merge_target", number=into_id)
    text = f"{target.text} / {item.text}"
    if len(text) > 500:
        raise AgendaError("text_long", max=500)
    target.text = text
    item.status, item.reviewed_at = "merged", now
    session.add(target)
    session.add(item)
    await session.flush()
    return target


async def mark_discussed(
    session: AsyncSession, group: WorkingGroup, item_id: int, discussed: bool = True
) -> AgendaItem:
    item = await session.get(AgendaItem, item_id)
    if item is None or item.group_id != group.id or item.status != "accepted":
        raise AgendaError("item_not_found", number=item_id)
    item.discussed = discussed
    session.add(item)
    await session.flush()
    return item


def publication_key(occ: cal.Occurrence) -> str:
    return f"agenda:pub:{occ.meeting.id}:{occ.key}"


async def schedule_publications(database: Database, now: datetime) -> int:
    """Queue the reminder 24 h before each deadline and the publication at the deadline.

    Only what is due is read: per deadline setting in use (48 hours unless a group chose
    otherwise), the occurrence index gives the occurrences not yet published that start within
    the deadline, and those not yet reminded that start within the day before it (two indexed
    range queries on (flag, start) that return the due rows and nothing else in steady state).
    The outbox keys stay the guarantee that nothing is queued twice.
    """
    added = 0
    async with database.session() as session:
        await cal.refresh_index(session, now)
        custom = dict((await session.exec(
            select(AgendaSettings.group_id, AgendaSettings.deadline_hours))).all())
        due: list[tuple[MeetingOccurrence, str]] = []
        for hours in sorted(set(custom.values()) | {DEFAULT_DEADLINE_HOURS}):
            deadline = now + timedelta(hours=hours)
            for flag, low, high, what in (
                    (MeetingOccurrence.agenda_published, now, deadline, "publish"),
                    (MeetingOccurrence.agenda_reminded, deadline,
                     deadline + REMINDER_BEFORE_DEADLINE, "remind")):
                rows = (await session.exec(select(MeetingOccurrence).where(
                    flag == false(), MeetingOccurrence.start_at > low,
                    MeetingOccurrence.start_at <= high))).all()
                due += [(row, what) for row in rows
                        if custom.get(row.group_id, DEFAULT_DEADLINE_HOURS) == hours]
        if not due:
            return 0
        chats = dict((await session.exec(select(WorkingGroup.id, WorkingGroup.chat_id).where(
            col(WorkingGroup.id).in_(sorted({row.group_id for row, _ in due}))))).all())
        for row, what in sorted(due, key=lambda item: (item[0].start_at, item[0].meeting_id)):
            payload = {"meeting": row.meeting_id, "occurrence": row.occurrence}
            if row.group_id not in chats:
                continue
            if what == "remind":
                added += await enqueue(
                    session, key=f"agenda:remind:{row.meeting_id}:{row.occurrence}",
                    kind="agenda_deadline", chat_id=chats[row.group_id], due_at=now,
                    payload=payload)
                row.agenda_reminded = True
            else:
                added += await enqueue(
                    session, key=f"agenda:pub:{row.meeting_id}:{row.occurrence}",
                    kind="agenda_publish", chat_id=chats[row.group_id], due_at=now,
                    payload=payload)
                row.agenda_published = True
            session.add(row)
        await session.flush()
    return added


async def carry_over(database: Database, now: datetime) -> int:
    """Accepted, undiscussed items of ended occurrences move to the series' next occurrence."""
    moved = 0
    async with database.session() as session:
        open_items = (await session.exec(select(AgendaItem).where(
            AgendaItem.status == "accepted", col(AgendaItem.discussed).is_(False),
            AgendaItem.occurrence < int(now.timestamp())))).all()
        for item in open_items:
            meeting = await session.get(Meeting, item.meeting_id)
            try:
                occ = await cal.get_occurrence(session, meeting, item.occurrence)
            except cal.CalendarError:
                occ = None
            if occ is not None and occ.end > now:
                continue
            coming = await cal.next_occurrences(session, meeting, now, 1) if meeting else []
            if not coming:
                item.status = "closed"
            else:
                item.occurrence = coming[0].key
                item.carried = True
                item.section = "main"
                item.position = await _next_position(session, meeting.id, coming[0].key)
                moved += 1
            session.add(item)
            await session.flush()
    return moved


def register_jobs(ticker, database: Database) -> None:
    """Add the agenda jobs to the ticker (call from the composition root)."""

    async def agenda_publication(now: datetime) -> None:
        await schedule_publications(database, now)

    async def agenda_carry_over(now: datetime) -> None:
        await carry_over(database, now)

    ticker.add("agenda_publication", agenda_publication)
    ticker.add("agenda_carry_over", agenda_carry_over)
