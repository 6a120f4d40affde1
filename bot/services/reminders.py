"""Meeting reminders and change notices as outbox rows; texts for each recipient at send time.

Every reminder is a row of the shared outbox (`bot.delivery.outbox`) with the key
`rem:{meeting}:{occurrence}:{start}:{offset}:{chat}`: one per occurrence, actual start, offset
and recipient, so it is sent once however often the rows are rebuilt. `sync_meeting` computes the
rows a meeting should have (group chat plus, privately, everyone who answered going or maybe and
has not muted reminders) for the occurrences whose reminders fall within a rolling horizon, adds
the missing ones and cancels the pending ones no longer wanted (a moved, cancelled or edited
meeting, a changed answer, new offsets). Open-ended series are never materialized: a ticker job
extends the horizon. Delivery is the outbox's job; a reminder whose moment passed less than the
grace period ago is sent with a note that it is late, an older one is skipped and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery import outbox
from bot.formatting import escape, format_day, format_when
from bot.i18n import N_, normalise_language, pick_locale, translate
from bot.refusals import Refusal
from bot.services import calendar as cal
from bot.services import words
from storage.calendar_tables import (
    CalendarSettings,
    Meeting,
    MeetingOccurrence,
    ReminderMute,
    Rsvp,
)
from storage.database import Database
from storage.models import OutboxMessage, OutboxStatus, Person, WorkingGroup

log = logging.getLogger(__name__)

REMINDER = "reminder"
CHANGE = "meeting_change"
HORIZON = timedelta(days=60)
GRACE = timedelta(minutes=30)
LATE_AFTER = timedelta(minutes=5)
HORIZON_EVERY = timedelta(hours=1)
MAX_OFFSETS = words.MAX_OFFSETS
MAX_OFFSET_MINUTES = words.MAX_OFFSET_MINUTES

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
KIND_LABELS = {
    "meeting": N_("Meeting"),
    "workshop": N_("Workshop"),
    "training": N_("Training"),
    "field_visit": N_("Field visit"),
}


class OffsetError(Refusal):
    """Reminder offsets could not be read; see Refusal."""


def parse_offsets(text: str) -> list[int]:
    """Reminder delays as minutes before the start, largest first, in any language's words
    (`3d 1d 2h`, `1w, 30m`, `3 j 2 h`, `wiki 1 siku 1`): see `bot.services.words`."""
    try:
        return words.parse_offsets(text)
    except words.OffsetWordsError as err:
        raise OffsetError(err.code, **err.params) from None


def format_offset(minutes: int, locale: str = "en") -> str:
    return words.format_offset(minutes, locale)


def format_offsets(offsets: list[int], locale: str = "en") -> str:
    return words.format_offsets(offsets, locale)


def kind_label(kind: str, locale: str) -> str:
    return translate(KIND_LABELS.get(kind, KIND_LABELS["meeting"]), locale)


def person_locale(person: Person, group: WorkingGroup) -> str:
    """A person's chosen language, else their app's unless it is English, else the group's.
    Telegram's apps have no Swahili or Lingala, so an English app says little about what a
    member who never chose reads; a French or Spanish app was chosen by its owner."""
    app = normalise_language(person.telegram_language)
    return pick_locale(person.language, None if app == "en" else app, group.language)


def person_zone(person: Person | None, group: WorkingGroup) -> str:
    return (person.timezone if person and person.timezone else None) or group.timezone


def describe(occ: cal.Occurrence, locale: str, zone: str) -> str:
    """Title, kind, time and place of one occurrence, in HTML for Telegram."""
    lines = [
        f"<b>{escape(occ.title)}</b> ({kind_label(occ.meeting.kind, locale)}, "
        f"#{occ.meeting.number})",
        "🗓 " + format_when(occ.start, locale, zone),
    ]
    if occ.place:
        lines.append("📍 " + escape(occ.place))
    return "\n".join(lines)


ORDINAL_LABELS = {1: N_("first"), 2: N_("second"), 3: N_("third"), 4: N_("fourth"),
                  -1: N_("last")}


def describe_rule(rule: str, locale: str) -> str:
    """A stored RRULE in words, in the reader's language ("every month on the first Tuesday")."""
    from babel.dates import get_day_names

    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    interval = int(parts.get("INTERVAL", "1"))
    days = get_day_names("wide", locale=locale)
    byday = parts.get("BYDAY", "")
    if parts.get("FREQ") == "WEEKLY":
        day = days[WEEKDAYS.index(byday[-2:])] if byday else ""
        text = (translate("every week on {day}", locale, day=day) if interval == 1 else
                translate("every {n} weeks on {day}", locale, n=interval, day=day))
    elif byday:
        ordinal = translate(ORDINAL_LABELS.get(int(byday[:-2] or 1), "first"), locale)
        day = days[WEEKDAYS.index(byday[-2:])]
        text = (translate("every month on the {ordinal} {day}", locale, ordinal=ordinal,
                          day=day) if interval == 1 else
                translate("every {n} months on the {ordinal} {day}", locale, n=interval,
                          ordinal=ordinal, day=day))
    else:
        monthday = parts.get("BYMONTHDAY", "")
        text = (translate("every month on day {monthday}", locale, monthday=monthday)
                if interval == 1 else
                translate("every {n} months on day {monthday}", locale, n=interval,
                          monthday=monthday))
    if "COUNT" in parts:
        text += ", " + translate("{count} times", locale, count=parts["COUNT"])
    if "UNTIL" in parts:
        until = datetime.strptime(parts["UNTIL"][:8], "%Y%m%d").date()
        text += ", " + translate("until {date}", locale,
                                 date=format_day(until, locale))
    return text


# --- building the rows ------------------------------------------------------------------------


def reminder_key(occ: cal.Occurrence, offset: int, chat_id: int) -> str:
    return f"rem:{occ.meeting.id}:{occ.key}:{cal.epoch(occ.start)}:{offset}:{chat_id}"


@dataclass(frozen=True)
class Wanted:
    key: str
    chat_id: int
    due_at: datetime
    payload: dict


async def _wanted(
    session: AsyncSession, meeting: Meeting, group: WorkingGroup, now: datetime
) -> dict[str, Wanted]:
    settings = await cal.read_settings(session, group)
    offsets = settings.reminder_offsets or []
    if not offsets or meeting.cancelled_at is not None:
        return {}
    window_end = now + HORIZON + timedelta(minutes=max(offsets))
    occurrences = await cal.occurrences_between(session, meeting, now, window_end)
    # Who attends which occurrence, and who muted reminders: two queries for the whole window,
    # not one per occurrence and one per attendee (an RSVP press resyncs the meeting).
    keys = [occ.key for occ in occurrences]
    rows = (await session.exec(
        select(Person, Rsvp.occurrence).join(Rsvp, Rsvp.person_id == Person.id)
        .where(Rsvp.meeting_id == meeting.id, col(Rsvp.occurrence).in_(keys),
               col(Rsvp.answer).in_(cal.ATTENDING)))).all() if keys else []
    ids = {person.id for person, _occurrence in rows}
    muted = set(await session.exec(select(ReminderMute.person_id).where(
        col(ReminderMute.person_id).in_(ids)))) if ids else set()
    attending: dict[int, list[tuple[int, int | None]]] = {}
    for person, occurrence in rows:
        if person.blocked_bot_at is None and person.id not in muted:
            attending.setdefault(occurrence, []).append((person.telegram_id, person.id))
    wanted: dict[str, Wanted] = {}
    for occ in occurrences:
        recipients = [(group.chat_id, None), *attending.get(occ.key, [])]
        for offset in offsets:
            due = occ.start - timedelta(minutes=offset)
            if due < now or due > now + HORIZON:
                continue
            for chat_id, person_id in recipients:
                key = reminder_key(occ, offset, chat_id)
                wanted[key] = Wanted(key, chat_id, due, {
                    "meeting": meeting.id, "occurrence": occ.key,
                    "start": cal.epoch(occ.start), "offset": offset, "person": person_id,
                })
    return wanted


async def sync_meeting(
    session: AsyncSession, meeting: Meeting, now: datetime
) -> tuple[int, int]:
    """Make the meeting's pending reminders match what it needs now; (added, cancelled)."""
    group = await session.get(WorkingGroup, meeting.group_id)
    if group is None:
        return 0, 0
    wanted = await _wanted(session, meeting, group, now)
    existing = (await session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.key).startswith(f"rem:{meeting.id}:", autoescape=True),
            OutboxMessage.kind == REMINDER))).all()
    by_key = {row.key: row for row in existing}
    # Rows already due belong to delivery (its renderer drops what no longer applies).
    stale = [row.id for row in existing
             if row.status == OutboxStatus.PENDING.value and row.key not in wanted
             and cal.as_utc(row.due_at) > now]
    revive = [by_key[key].id for key in wanted
              if key in by_key and by_key[key].status == OutboxStatus.CANCELLED.value]
    if stale:
        await session.exec(update(OutboxMessage).where(
            col(OutboxMessage.id).in_(stale), OutboxMessage.status == OutboxStatus.PENDING.value,
        ).values(status=OutboxStatus.CANCELLED.value))
    if revive:
        await session.exec(update(OutboxMessage).where(
            col(OutboxMessage.id).in_(revive),
            OutboxMessage.status == OutboxStatus.CANCELLED.value,
        ).values(status=OutboxStatus.PENDING.value))
    added = len(revive)
    for item in wanted.values():
        if item.key not in by_key:
            added += await outbox.enqueue(session, key=item.key, kind=REMINDER,
                                          chat_id=item.chat_id, due_at=item.due_at,
                                          payload=item.payload)
    return added, len(stale)


async def sync_answer(
    session: AsyncSession, occ: cal.Occurrence, person: Person, answer: str, now: datetime
) -> tuple[int, int]:
    """After `person` answered `answer` for `occ`, make their own reminders of that occurrence
    follow: only the rows of that person and occurrence are read and written, so the cost does
    not grow with the meeting's other attendees. (`sync_meeting` is for changes of the meeting
    itself.) Returns (added, cancelled), as `sync_meeting` does."""
    meeting = occ.meeting
    group = await session.get(WorkingGroup, meeting.group_id)
    if group is None or person.id is None:
        return 0, 0
    settings = await cal.read_settings(session, group)
    offsets = settings.reminder_offsets or []
    if not offsets or meeting.cancelled_at is not None or occ.cancelled:
        return 0, 0
    due_of = {}
    for offset in offsets:
        due = occ.start - timedelta(minutes=offset)
        if now <= due <= now + HORIZON:
            due_of[reminder_key(occ, offset, person.telegram_id)] = (offset, due)
    if not due_of:
        return 0, 0
    wanted = (answer in cal.ATTENDING and person.blocked_bot_at is None
              and not await cal.is_muted(session, person))
    if not wanted:
        return 0, await outbox.cancel_keys(session, list(due_of), due_after=now)
    added = await outbox.enqueue_or_revive(session, [
        {"key": key, "kind": REMINDER, "chat_id": person.telegram_id, "due_at": due,
         "payload": {"meeting": meeting.id, "occurrence": occ.key,
                     "start": cal.epoch(occ.start), "offset": offset, "person": person.id}}
        for key, (offset, due) in due_of.items()])
    return added, 0


async def resume_reminders(session: AsyncSession, person: Person, now: datetime) -> int:
    """Someone who had blocked the bot writes to it again: they are reachable, and the reminders
    of the meetings they attend come back. Returns the reminders queued again."""
    person.blocked_bot_at = None
    session.add(person)
    await session.flush()
    meeting_ids = (await session.exec(
        select(Rsvp.meeting_id).where(Rsvp.person_id == person.id,
                                      col(Rsvp.answer).in_(cal.ATTENDING)).distinct())).all()
    added = 0
    for meeting_id in meeting_ids:
        meeting = await session.get(Meeting, meeting_id)
        if meeting is not None and meeting.cancelled_at is None:
            added += (await sync_meeting(session, meeting, now))[0]
    return added


async def sync_group(session: AsyncSession, group: WorkingGroup, now: datetime) -> None:
    for meeting in await cal.group_meetings(session, group):
        await sync_meeting(session, meeting, now)


async def notify_change(
    session: AsyncSession, meeting: Meeting, change: str, now: datetime,
    *, occurrence: cal.Occurrence | None = None, old_start: datetime | None = None,
    people: list[Person] | None = None,
) -> int:
    """Tell everyone who answered going or maybe, privately, that the meeting changed.

    `change` is "cancelled", "rescheduled" or "edited"; for a whole series the attendees of its
    coming occurrences are told once each. Returns the number of notices queued.
    """
    if people is None:
        if occurrence is not None:
            people = await cal.attendees(session, meeting, occurrence.key)
        else:
            seen: dict[int, Person] = {}
            for occ in await cal.next_occurrences(session, meeting, now, 50):
                for person in await cal.attendees(session, meeting, occ.key):
                    seen.setdefault(person.id, person)
            people = list(seen.values())
    scope = occurrence.key if occurrence is not None else "series"
    queued = 0
    for person in people:
        if person.blocked_bot_at is not None:
            continue
        queued += await outbox.enqueue(
            session, key=f"chg:{meeting.id}:{scope}:{meeting.sequence}:{person.id}", kind=CHANGE,
            chat_id=person.telegram_id, due_at=now,
            payload={"meeting": meeting.id, "occurrence": occurrence.key if occurrence else None,
                     "change": change, "person": person.id,
                     "old_start": cal.epoch(old_start) if old_start else None})
    return queued


# --- rendering at send time -----------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    text: str
    locale: str
    occurrence: cal.Occurrence | None
    group: WorkingGroup


async def _reader(
    session: AsyncSession, payload: dict, group: WorkingGroup
) -> tuple[Person | None, str, str]:
    person_id = payload.get("person")
    if person_id is None:
        return None, group.language, group.timezone
    person = await session.get(Person, person_id)
    if person is None:
        return None, group.language, group.timezone
    return person, person_locale(person, group), person_zone(person, group)


async def reminder_notice(
    session: AsyncSession, row: OutboxMessage, now: datetime
) -> Notice | None:
    """The reminder's text for its recipient now, or None when it must not be sent."""
    payload = row.payload
    meeting = await session.get(Meeting, payload["meeting"])
    if meeting is None or meeting.cancelled_at is not None:
        return None
    group = await session.get(WorkingGroup, meeting.group_id)
    if group is None:
        return None
    late = now - cal.as_utc(row.due_at)
    if late > GRACE:
        log.warning("reminder %s skipped: due %s minutes ago (grace %s)", row.id,
                    int(late.total_seconds() // 60), int(GRACE.total_seconds() // 60))
        return None
    try:
        occ = await cal.get_occurrence(session, meeting, payload["occurrence"])
    except cal.CalendarError:
        return None
    if occ.cancelled or cal.epoch(occ.start) != payload["start"] or occ.start <= now:
        return None
    person, locale, zone = await _reader(session, payload, group)
    if payload.get("person") is not None:
        if person is None or await cal.is_muted(session, person):
            return None
        if await cal.answer_of(session, meeting, occ.key, person) not in cal.ATTENDING:
            return None
    lines = [translate("⏰ Reminder: {name} starts in {delay}.", locale,
                       name=escape(occ.title), delay=_delay(payload["offset"], locale)),
             "", describe(occ, locale, zone)]
    if late > LATE_AFTER:
        lines += ["", translate("(Sent late: the bot was unavailable at the planned time.)",
                                locale)]
    if person is not None:
        lines += ["", translate("Send /mute to me to stop private reminders.", locale)]
    return Notice("\n".join(lines), locale, occ, group)


def _delay(minutes: int, locale: str) -> str:
    from babel.dates import format_timedelta

    return format_timedelta(timedelta(minutes=minutes), locale=locale)


async def change_notice(
    session: AsyncSession, row: OutboxMessage, now: datetime
) -> Notice | None:
    payload = row.payload
    meeting = await session.get(Meeting, payload["meeting"])
    person = await session.get(Person, payload["person"])
    if meeting is None or person is None:
        return None
    group = await session.get(WorkingGroup, meeting.group_id)
    if group is None:
        return None
    locale, zone = person_locale(person, group), person_zone(person, group)
    occ = None
    if payload.get("occurrence") is not None:
        try:
            occ = await cal.get_occurrence(session, meeting, payload["occurrence"])
        except cal.CalendarError:
            occ = None
    elif meeting.cancelled_at is None:
        coming = await cal.next_occurrences(session, meeting, now, 1)
        occ = coming[0] if coming else None
    title = escape(occ.title if occ else meeting.title)
    old = payload.get("old_start")
    old_text = format_when(cal.from_epoch(old), locale, zone) if old else ""
    change = payload["change"]
    if change == "cancelled":
        text = translate("❌ {name} ({when}) is cancelled.", locale, name=title,
                         when=old_text or "-")
    elif change == "cancelled_series":
        text = translate("❌ The series {name} is cancelled.", locale, name=title)
    elif change == "rescheduled":
        text = translate("🔁 {name} has moved.", locale, name=title)
        if old_text:
            text += "\n" + translate("It was planned for {when}.", locale, when=old_text)
    else:
        text = translate("✏️ {name} has changed.", locale, name=title)
    if occ is not None and change not in ("cancelled", "cancelled_series"):
        text += "\n\n" + describe(occ, locale, zone)
    return Notice(text, locale, occ if change not in ("cancelled", "cancelled_series") else None,
                  group)


# --- ticker job ---------------------------------------------------------------------------------


def register_jobs(ticker, database: Database) -> None:
    """Add the reminder-horizon job to the ticker (call from the composition root)."""
    state: dict[str, datetime | None] = {"last": None}

    async def extend_reminder_horizon(now: datetime) -> None:
        last = state["last"]
        if last is not None and now - last < HORIZON_EVERY:
            return
        await extend_horizon(database, now)
        state["last"] = now

    ticker.add("reminder_horizon", extend_reminder_horizon)


HORIZON_MARK = "reminder_horizon"


async def extend_horizon(database: Database, now: datetime) -> int:
    """Queue the reminders that entered the rolling horizon; returns how many were added.

    The horizon's end moved from `last + HORIZON` (the job's watermark, kept in the database) to
    `now + HORIZON`: for each reminder offset in use, the occurrences starting in
    (last + HORIZON + offset, now + HORIZON + offset] are found in the occurrence index with one
    indexed query, so the work follows what enters the window, not the size of the calendar.
    Changed meetings are not this job's concern: their handlers rebuild their rows at once.
    The first run ever (no watermark) syncs every meeting that may need rows.
    """
    async with database.session() as session:
        await cal.refresh_index(session, now)
        last = await cal.job_mark(session, HORIZON_MARK)
    if last is None:
        added = await _sync_all(database, now)
    elif last >= now:
        added = 0
    else:
        added = await _queue_entering(database, last, now)
    async with database.session() as session:
        await cal.set_job_mark(session, HORIZON_MARK, max(now, last or now))
    return added


async def _sync_all(database: Database, now: datetime) -> int:
    added = 0
    async with database.session() as session:
        # Series, and single meetings not long past (start_local is local: a day of margin).
        recent = (now - timedelta(days=2)).replace(tzinfo=None)
        ids = (await session.exec(
            select(Meeting.id).where(
                Meeting.cancelled_at.is_(None),
                or_(col(Meeting.rrule).is_not(None), Meeting.start_local >= recent),
            ).order_by(Meeting.id))).all()
    for meeting_id in ids:
        async with database.session() as session:
            meeting = await session.get(Meeting, meeting_id)
            if meeting is not None:
                added += (await sync_meeting(session, meeting, now))[0]
    return added


async def _queue_entering(database: Database, last: datetime, now: datetime) -> int:
    """Rows whose due time is in (last + HORIZON, now + HORIZON] and not before `now`."""
    low, high = last + HORIZON, now + HORIZON
    added = 0
    async with database.session() as session:
        offsets_of = {group_id: list(offsets or []) for group_id, offsets in (await session.exec(
            select(CalendarSettings.group_id, CalendarSettings.reminder_offsets))).all()}
        in_use = set(cal.DEFAULT_OFFSETS).union(*offsets_of.values())
        due: list[tuple[MeetingOccurrence, int]] = []
        for offset in sorted(in_use):
            shift = timedelta(minutes=offset)
            rows = (await session.exec(select(MeetingOccurrence).where(
                MeetingOccurrence.start_at > low + shift,
                MeetingOccurrence.start_at <= high + shift))).all()
            for row in rows:
                if offset in offsets_of.get(row.group_id, cal.DEFAULT_OFFSETS):
                    due.append((row, offset))
        if not due:
            return 0
        occurrences = {(occ.meeting.id, occ.key): occ
                       for occ in await cal.occurrences_of(session, [row for row, _ in due])}
        group_ids = sorted({row.group_id for row, _ in due})
        chats = dict((await session.exec(select(WorkingGroup.id, WorkingGroup.chat_id).where(
            col(WorkingGroup.id).in_(group_ids)))).all())
        attending = await _attending(session, sorted({row.meeting_id for row, _ in due}))
        wanted: dict[str, dict] = {}
        for row, offset in due:
            occ = occurrences.get((row.meeting_id, row.occurrence))
            if occ is None or row.group_id not in chats:
                continue
            when = occ.start - timedelta(minutes=offset)
            if when < now:
                continue
            recipients = [(chats[row.group_id], None)] + attending.get(
                (row.meeting_id, row.occurrence), [])
            for chat_id, person_id in recipients:
                key = reminder_key(occ, offset, chat_id)
                wanted[key] = {"key": key, "kind": REMINDER, "chat_id": chat_id, "due_at": when,
                               "payload": {"meeting": occ.meeting.id, "occurrence": occ.key,
                                           "start": cal.epoch(occ.start), "offset": offset,
                                           "person": person_id}}
        added = await outbox.enqueue_many(session, list(wanted.values()))
    return added


async def _attending(
    session: AsyncSession, meeting_ids: list[int]
) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """(meeting, occurrence) -> (chat, person) of everyone going or maybe who gets reminders."""
    found: dict[tuple[int, int], list[tuple[int, int]]] = {}
    muted = select(ReminderMute.person_id)
    for i in range(0, len(meeting_ids), 500):
        rows = (await session.exec(
            select(Rsvp.meeting_id, Rsvp.occurrence, Person.telegram_id, Person.id)
            .join(Person, Person.id == Rsvp.person_id)
            .where(col(Rsvp.meeting_id).in_(meeting_ids[i:i + 500]),
                   col(Rsvp.answer).in_(cal.ATTENDING), col(Person.blocked_bot_at).is_(None),
                   col(Person.id).not_in(muted))
            .order_by(Person.full_name, Person.id))).all()
        for meeting_id, occurrence, chat_id, person_id in rows:
            found.setdefault((meeting_id, occurrence), []).append((chat_id, person_id))
    return found
