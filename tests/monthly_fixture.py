"""A hand-built working group whose November 2026 figures are known (see the expectations in
tests/services/test_monthly.py); times are in Africa/Lubumbashi (UTC+2)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.services.calendar import epoch
from storage.agenda_tables import ActionItem, CochairTurn, Decision
from storage.calendar_tables import Attendance, Meeting, MeetingException
from storage.models import Membership, Person, WorkingGroup
from storage.report_tables import ReportCase

ZONE = "Africa/Lubumbashi"
NOV5 = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)  # 10:00 local
NOV19 = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
SEP5 = datetime(2026, 9, 5, 8, 0, tzinfo=UTC)
OCT5 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
JOINED = datetime(2026, 1, 1, tzinfo=UTC)


def _at(y, m, d, h=9) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=UTC)


async def build(session, *, chat_id: int = -100777, telegram_base: int = 7000,
                language: str = "en") -> dict:
    group = WorkingGroup(chat_id=chat_id, code=f"G{abs(chat_id)}"[:16], name="Bukavu WG",
                         timezone=ZONE, language=language, created_at=_at(2026, 1, 1))
    other = WorkingGroup(chat_id=chat_id - 1, code=f"H{abs(chat_id)}"[:16], name="Other WG",
                         timezone=ZONE, created_at=_at(2026, 1, 1))
    session.add_all([group, other])
    await session.flush()
    people = {}
    for n, (name, pillar, org) in enumerate([
            ("Amani", "company", "Banro Mining"), ("Bahati", "civil_society", "CENADEP"),
            ("Carlos", "public_security", "PNC"), ("Dina", "company", " banro  mining")]):
        person = Person(telegram_id=telegram_base + n, full_name=name, username=name.lower(),
                        pillar=pillar, organisation=org, telegram_language="en")
        session.add(person)
        people[name] = person
    await session.flush()
    for name, role, joined in [("Amani", "secretariat", JOINED), ("Bahati", "member", JOINED),
                               ("Carlos", "member", JOINED),
                               ("Dina", "member", _at(2026, 11, 10))]:
        session.add(Membership(group_id=group.id, person_id=people[name].id, role=role,
                               joined_at=joined))
    series = Meeting(group_id=group.id, title="Monthly meeting", start_local=datetime(
        2026, 6, 5, 10, 0), timezone=ZONE, rrule="FREQ=MONTHLY;BYMONTHDAY=5",
        created_at=_at(2026, 5, 20))
    single = Meeting(group_id=group.id, title="Extra meeting",
                     start_local=datetime(2026, 11, 19, 10, 0), timezone=ZONE,
                     created_at=_at(2026, 11, 1))
    dropped = Meeting(group_id=group.id, title="Field visit",
                      start_local=datetime(2026, 11, 26, 10, 0), timezone=ZONE,
                      cancelled_at=_at(2026, 11, 20), created_at=_at(2026, 11, 1))
    elsewhere = Meeting(group_id=other.id, title="Other group's meeting",
                        start_local=datetime(2026, 11, 12, 10, 0), timezone=ZONE,
                        created_at=_at(2026, 11, 1))
    session.add_all([series, single, dropped, elsewhere])
    await session.flush()
    session.add(MeetingException(meeting_id=series.id, occurrence=epoch(OCT5), cancelled=True))
    a, b, c, d = (people[n].id for n in ("Amani", "Bahati", "Carlos", "Dina"))
    marks = [(series, NOV5, a, True), (series, NOV5, b, True), (series, NOV5, c, False),
             (single, NOV19, a, True), (single, NOV19, d, True),
             (series, SEP5, a, True), (series, SEP5, b, True), (series, SEP5, c, True)]
    for meeting, start, person_id, present in marks:
        session.add(Attendance(meeting_id=meeting.id, occurrence=epoch(start),
                               person_id=person_id, present=present))
    for meeting, start, person_id, status in [
            (series, NOV5, a, "accepted"), (series, NOV5, b, "override"),
            (single, NOV19, d, "invited"), (single, NOV19, b, "declined"),
            (series, SEP5, c, "accepted")]:
        session.add(CochairTurn(group_id=group.id, meeting_id=meeting.id,
                                occurrence=epoch(start), person_id=person_id, status=status))
    for meeting, start, text in [(series, NOV5, "Hold a joint patrol review"),
                                 (single, NOV19, "Write to the governor"),
                                 (series, SEP5, "An older decision")]:
        session.add(Decision(group_id=group.id, meeting_id=meeting.id, occurrence=epoch(start),
                             text=text, created_at=start))
    for owner, created, due, done_at, text in [
            (a, _at(2026, 10, 6), date(2026, 11, 1), None, "A1"),
            (b, _at(2026, 11, 5), date(2026, 11, 20), _at(2026, 11, 18), "A2"),
            (c, _at(2026, 11, 5), date(2026, 11, 25), None, "A3"),
            (c, _at(2026, 11, 19), date(2026, 12, 10), None, "A4"),
            (b, _at(2026, 11, 19), date(2026, 11, 25), _at(2026, 12, 1), "A5"),
            (a, _at(2026, 9, 5), date(2026, 9, 30), _at(2026, 10, 1), "A6")]:
        session.add(ActionItem(group_id=group.id, meeting_id=series.id, owner_id=owner, due=due,
                               text=text, created_at=created, done_at=done_at,
                               status="done" if done_at else "open"))
    cases = ([("land", False, "received")] * 5 + [("environment", False, "resolved")] * 2
             + [("employment", True, "closed")] + [("employment", False, "closed")]
             + [("employment", False, "received")] + [("employment", False, "resolved")])
    n = 0
    for category, urgent, status in cases:
        n += 1
        session.add(_case(group.id, n, category, urgent, status, date(2026, 11, 3 + n)))
    for group_id, day in [(group.id, date(2026, 10, 20)), (other.id, date(2026, 11, 10)),
                          (group.id, date(2026, 12, 1))]:
        n += 1
        session.add(_case(group_id, n, "land", False, "received", day))
    await session.flush()
    return {"group": group, "other": other, "people": people, "series": series,
            "single": single}


def _case(group_id, n, category, urgent, status, day) -> ReportCase:
    return ReportCase(group_id=group_id, key_id="k", category=category, urgent=urgent,
                      language="en", status=status, submitted_on=day, ack_due_on=day,
                      receipt_hash=f"h{group_id}-{n}", content=b"x")
