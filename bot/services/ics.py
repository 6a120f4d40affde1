"""Calendar files (RFC 5545) with the icalendar library: one VEVENT per meeting or series, with
its RRULE, EXDATEs for cancelled occurrences and RECURRENCE-ID overrides for moved or edited
ones, and the VTIMEZONE of each zone used."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import calendar as cal
from bot.services import recurrence
from storage.calendar_tables import Meeting, MeetingException
from storage.deployment_tables import Deployment
from storage.models import WorkingGroup

PRODID = "-//wgbot//working group calendar//EN"
UNTIL_RE = re.compile(r"UNTIL=(\d{8}T\d{6})Z?")


UidOf = Callable[[Meeting], str]


def legacy_uid(meeting: Meeting) -> str:
    """The UID of events exported before deployments had a token."""
    return f"meeting-{meeting.id}@wgbot"


def uid_maker(deployment: Deployment) -> UidOf:
    """Event UIDs unique to this deployment: another installation's meeting #5 is another
    event. Meetings older than the token keep their first UID."""

    def uid(meeting: Meeting) -> str:
        if meeting.id is not None and meeting.id <= deployment.legacy_meeting_max:
            return legacy_uid(meeting)
        return f"meeting-{meeting.id}-{deployment.uid_token}@wgbot"

    return uid


async def get_deployment(session: AsyncSession) -> Deployment:
    """The deployment's row, made by migration 0013; made here if a database lacks it."""
    row = await session.get(Deployment, 1)
    if row is not None:
        return row
    newest = (await session.exec(select(func.max(Meeting.id)))).one()
    try:
        async with session.begin_nested():
            row = Deployment(id=1, uid_token=secrets.token_hex(8),
                             legacy_meeting_max=int(newest or 0))
            session.add(row)
    except IntegrityError:  # another process made it at the same moment
        row = await session.get(Deployment, 1, populate_existing=True)
        if row is None:
            raise
    return row


def _rule_for_ics(meeting: Meeting) -> vRecur:
    """The stored rule with its local UNTIL turned into UTC, as RFC 5545 requires with TZID."""

    def to_utc(match: re.Match[str]) -> str:
        local = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S")
        try:
            until = recurrence.localize(local, meeting.timezone)
        except OverflowError:  # "until 9999-12-31" behind UTC: no later instant exists
            until = datetime.max.replace(microsecond=0)
        return f"UNTIL={until:%Y%m%dT%H%M%SZ}"

    return vRecur.from_ical(UNTIL_RE.sub(to_utc, meeting.rrule or ""))


def _event(meeting: Meeting, start: datetime, title: str, place: str, stamp: datetime,
           uid: UidOf) -> Event:
    zone = ZoneInfo(meeting.timezone)
    local_start = start.astimezone(zone)
    event = Event()
    event.add("uid", uid(meeting))
    event.add("dtstamp", stamp)
    event.add("dtstart", local_start)
    event.add("dtend", local_start + timedelta(minutes=meeting.duration_minutes))
    event.add("summary", title)
    if place:
        event.add("location", place)
    event.add("sequence", meeting.sequence)
    event.add("categories", [meeting.kind.upper().replace("_", "-")])
    return event


def _meeting_events(
    meeting: Meeting, exceptions: list[MeetingException], stamp: datetime, uid: UidOf
) -> list[Event]:
    zone = ZoneInfo(meeting.timezone)
    first = recurrence.localize(meeting.start_local, meeting.timezone)
    master = _event(meeting, first, meeting.title, meeting.place, stamp, uid)
    if meeting.cancelled_at is not None:
        master.add("status", "CANCELLED")
    events = [master]
    if meeting.rrule is None:
        return events
    master.add("rrule", _rule_for_ics(meeting))
    cancelled = [cal.from_epoch(e.occurrence).astimezone(zone) for e in exceptions if e.cancelled]
    if cancelled:
        master.add("exdate", sorted(cancelled))
    for exc in exceptions:
        if exc.cancelled:
            continue
        original = cal.from_epoch(exc.occurrence)
        start = cal.as_utc(exc.new_start) if exc.new_start else original
        override = _event(meeting, start, exc.title or meeting.title,
                          exc.place if exc.place is not None else meeting.place, stamp, uid)
        override.add("recurrence-id", original.astimezone(zone))
        events.append(override)
    return events


def build_calendar(
    name: str, items: list[tuple[Meeting, list[MeetingException]]], stamp: datetime,
    uid: UidOf = legacy_uid,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for meeting, exceptions in items:
        for event in _meeting_events(meeting, exceptions, stamp, uid):
            calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


async def _with_exceptions(
    session: AsyncSession, meetings: list[Meeting]
) -> list[tuple[Meeting, list[MeetingException]]]:
    items = []
    for meeting in meetings:
        rows = await session.exec(select(MeetingException).where(
            MeetingException.meeting_id == meeting.id).order_by(MeetingException.occurrence))
        items.append((meeting, list(rows.all())))
    return items


async def group_ics(session: AsyncSession, group: WorkingGroup, now: datetime) -> bytes:
    """All the group's meetings and series, cancelled ones marked CANCELLED."""
    meetings = await cal.group_meetings(session, group, include_cancelled=True)
    uid = uid_maker(await get_deployment(session))
    return build_calendar(group.name, await _with_exceptions(session, meetings), now, uid)


async def meeting_ics(session: AsyncSession, meeting: Meeting, now: datetime) -> bytes:
    uid = uid_maker(await get_deployment(session))
    return build_calendar(meeting.title, await _with_exceptions(session, [meeting]), now, uid)


def filename(title: str) -> str:
    """A file name that keeps the title's letters in every script (`réunion-mensuelle.ics`, not
    `r-union-mensuelle.ics`), composed (NFC: an é typed as e + accent stays one letter), with
    what a file system or Telegram cannot hold (slashes, quotes, punctuation, spaces, control
    characters) turned into single dashes; at most 40 characters before `.ics`."""
    slug = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFC", title)).strip("-").lower()
    slug = slug[:40].strip("-")
    return f"{slug or 'calendar'}.ics"
