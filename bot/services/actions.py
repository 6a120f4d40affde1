"""Decisions and action items of a working group: recording them against the latest meeting, due
dates read as ISO or natural language, open items by owner, private reminders to the owner (the
day before and on the day) and a weekly digest of overdue items to the secretariat, both through
the outbox; done and new-date answers; the meeting summary's content. No Telegram here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import String, cast, exists, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.outbox import cancel_pending, enqueue, enqueue_many
from bot.refusals import Refusal
from bot.services import calendar as cal
from bot.services import concerns
from bot.services.recurrence import localize, to_local
from bot.services.spoken_time import NoDay, fold, take_day
from storage.agenda_tables import ActionItem, Decision
from storage.database import Database
from storage.models import Membership, OutboxMessage, Person, Role, WorkingGroup

TEXT_MAX = 400
REMIND_AT = time(9, 0)  # local time of the owner reminders and the digest
ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
LOOKBACK = timedelta(days=400)
DIGEST_WEEKDAY = 0  # Monday


class ActionError(Refusal):
    """An action-item operation was refused; see Refusal."""


@dataclass(frozen=True)
class Summary:
    occ: cal.Occurrence
    decisions: list[Decision]
    actions: list[tuple[ActionItem, Person]]
    next_occ: cal.Occurrence | None


def clean(text: str) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise ActionError("text_empty")
    if len(value) > TEXT_MAX:
        raise ActionError("text_long", max=TEXT_MAX)
    return value


def _read_date(text: str, locale: str, today: date) -> date | None:
    if ISO_DATE.match(text):
        try:
            return date(*(int(p) for p in text.split("-")))
        except ValueError:
            return None
    try:  # relative days and weekdays with their "next" (vendredi prochain, Ijumaa ijayo)
        day = take_day(fold(text), today)
    except NoDay:
        return None
    if day is not None:
        return day
    from dateparser.date import DateDataParser  # slow to import: only when a date is read

    parser = DateDataParser(languages=list(dict.fromkeys([locale, "fr", "en"])),
                            settings={"PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY",
                                      "RELATIVE_BASE": datetime.combine(today, time(12, 0))})
    data = parser.get_date_data(text)
    return data.date_obj.date() if data.date_obj is not None else None


def split_due(words: list[str], locale: str, zone: str, now: datetime) -> tuple[date, str]:
    """The due date from the first one to three words, and the rest as text."""
    today = to_local(now, zone).date()
    for size in (3, 2, 1):
        if len(words) <= size:
            continue
        due = _read_date(" ".join(words[:size]), locale, today)
        if due is not None:
            if due < today:
                raise ActionError("past_date")
            if due > today + timedelta(days=3 * 366):
                raise ActionError("far_date")
            return due, " ".join(words[size:])
    raise ActionError("bad_date")


async def latest_occurrence(session: AsyncSession, group: WorkingGroup, now: datetime
                            ) -> cal.Occurrence:
    """The group's most recent occurrence that has started."""
    latest: cal.Occurrence | None = None
    for meeting in await cal.group_meetings(session, group):
        past = await cal.occurrences_between(session, meeting, now - LOOKBACK, now)
        if past and (latest is None or past[-1].start > latest.start):
            latest = past[-1]
    if latest is None:
        raise ActionError("no_meeting")
    return latest


async def _item_id(session: AsyncSession, group: WorkingGroup, item_id: int | None) -> int | None:
    """The agenda item a decision or action is recorded for (`#N`), checked to be the group's."""
    if item_id is None:
        return None
    try:
        return (await concerns.group_item(session, group, item_id)).id
    except concerns.ConcernError:
        raise ActionError("item_not_found", number=item_id) from None


async def record_decision(session: AsyncSession, group: WorkingGroup, author: Person, text: str,
                          now: datetime, item_id: int | None = None) -> Decision:
    value = clean(text)
    linked = await _item_id(session, group, item_id)
    occ = await latest_occurrence(session, group, now)
    decision = Decision(group_id=group.id, meeting_id=occ.meeting.id, occurrence=occ.key,
                        text=value, created_by=author.id, item_id=linked)
    session.add(decision)
    await session.flush()
    return decision


def _at(day: date, zone: str) -> datetime:
    return localize(datetime.combine(day, REMIND_AT), zone)


async def _schedule_reminders(session: AsyncSession, group: WorkingGroup, item: ActionItem,
                              owner: Person, now: datetime) -> None:
    await cancel_pending(session, key_prefix=f"action:remind:{item.id}:")
    zone = owner.timezone or group.timezone
    for label, day in (("before", item.due - timedelta(days=1)), ("day", item.due)):
        due_at = max(_at(day, zone), now)
        if _at(day, zone) + timedelta(hours=15) < now:
            continue
        await enqueue(session, key=f"action:remind:{item.id}:{item.due.isoformat()}:{label}",
                      kind="action_reminder", chat_id=owner.telegram_id, due_at=due_at,
                      payload={"item": item.id, "due": item.due.isoformat(), "when": label})


async def record_action(session: AsyncSession, group: WorkingGroup, author: Person,
                        owner: Person, due: date, text: str, now: datetime,
                        item_id: int | None = None) -> ActionItem:
    value = clean(text)
    linked = await _item_id(session, group, item_id)
    if not await cal.is_member(session, group, owner):
        raise ActionError("owner_not_member", name=owner.full_name)
    try:
        occ = await latest_occurrence(session, group, now)
    except ActionError:
        occ = None
    item = ActionItem(group_id=group.id, meeting_id=occ.meeting.id if occ else None,
                      occurrence=occ.key if occ else None, owner_id=owner.id, due=due,
                      text=value, created_by=author.id, item_id=linked)
    session.add(item)
    await session.flush()
    await _schedule_reminders(session, group, item, owner, now)
    return item


async def open_items(session: AsyncSession, group: WorkingGroup | None = None,
                     owner: Person | None = None) -> list[tuple[ActionItem, Person]]:
    query = select(ActionItem, Person).join(Person, Person.id == ActionItem.owner_id).where(
        ActionItem.status == "open")
    if group is not None:
        query = query.where(ActionItem.group_id == group.id)
    if owner is not None:
        query = query.where(ActionItem.owner_id == owner.id)
    rows = (await session.exec(query.order_by(Person.full_name, ActionItem.due,
                                              ActionItem.id))).all()
    return [(item, person) for item, person in rows]


async def owned_item(session: AsyncSession, item_id: int, person: Person | None) -> ActionItem:
    item = await session.get(ActionItem, item_id)
    if item is None or person is None or item.owner_id != person.id:
        raise ActionError("gone")
    if item.status != "open":
        raise ActionError("already_done")
    return item


async def mark_done(session: AsyncSession, item: ActionItem, now: datetime) -> None:
    item.status, item.done_at = "done", now
    session.add(item)
    await cancel_pending(session, key_prefix=f"action:remind:{item.id}:")
    await session.flush()
    await concerns.action_done(session, item, now)


async def postpone(session: AsyncSession, item: ActionItem, days: int, now: datetime) -> date:
    if days not in (7, 14):
        raise ActionError("gone")
    group = await session.get(WorkingGroup, item.group_id)
    owner = await session.get(Person, item.owner_id)
    base = max(item.due, to_local(now, owner.timezone or group.timezone).date())
    item.due = base + timedelta(days=days)
    session.add(item)
    await session.flush()
    await _schedule_reminders(session, group, item, owner, now)
    return item.due


async def overdue(session: AsyncSession, group: WorkingGroup, now: datetime
                  ) -> list[tuple[ActionItem, Person]]:
    today = to_local(now, group.timezone).date()
    return [(i, p) for i, p in await open_items(session, group) if i.due < today]


async def summary(session: AsyncSession, group: WorkingGroup, now: datetime) -> Summary:
    occ = await latest_occurrence(session, group, now)
    decisions = list((await session.exec(select(Decision).where(
        Decision.meeting_id == occ.meeting.id, Decision.occurrence == occ.key,
    ).order_by(Decision.id))).all())
    rows = (await session.exec(select(ActionItem, Person).join(
        Person, Person.id == ActionItem.owner_id).where(
        ActionItem.meeting_id == occ.meeting.id, ActionItem.occurrence == occ.key,
    ).order_by(ActionItem.due, ActionItem.id))).all()
    coming, _more = await cal.upcoming(session, group, now, limit=1)
    return Summary(occ, decisions, [(i, p) for i, p in rows], coming[0] if coming else None)


async def queue_digests(database: Database, now: datetime) -> int:
    """On Mondays from 09:00 group time, one digest per secretariat member and week.

    Only the time zones where it is Monday after 09:00 are considered, and the database
    returns only the secretariat members of their groups whose digest of the week is not
    queued yet: on other days the job reads the list of zones in use and nothing else.
    """
    added = 0
    async with database.session() as session:
        weeks: dict[str, list[str]] = {}
        for zone in (await session.exec(select(WorkingGroup.timezone).distinct())).all():
            local = to_local(now, zone)
            if local.weekday() == DIGEST_WEEKDAY and local.time() >= REMIND_AT:
                weeks.setdefault(local.date().isoformat(), []).append(zone)
        for week, zones in sorted(weeks.items()):
            key = (literal("action:digest:") + cast(WorkingGroup.id, String) + literal(":")
                   + literal(week) + literal(":") + cast(Person.id, String))
            rows = (await session.exec(
                select(WorkingGroup.id, Person.id, Person.telegram_id)
                .join(Membership, Membership.group_id == WorkingGroup.id)
                .join(Person, Person.id == Membership.person_id)
                .where(col(WorkingGroup.timezone).in_(zones),
                       Membership.role == Role.SECRETARIAT.value,
                       ~exists().where(OutboxMessage.key == key))
                .order_by(WorkingGroup.id, Person.full_name, Person.id))).all()
            added += await enqueue_many(session, [
                {"key": f"action:digest:{group_id}:{week}:{person_id}", "kind": "action_digest",
                 "chat_id": telegram_id, "due_at": now,
                 "payload": {"group": group_id, "person": person_id}}
                for group_id, person_id, telegram_id in rows])
    return added


def register_jobs(ticker, database: Database) -> None:
    """Add the weekly overdue digest to the ticker (owner reminders are queued on creation)."""

    async def action_digest(now: datetime) -> None:
        await queue_digests(database, now)

    ticker.add("action_digest", action_digest)
