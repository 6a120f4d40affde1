"""The calendar service (no Telegram): series with exceptions, rescheduling, RSVP, quorum,
attendance and calendar files, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from bot.services import calendar as cal
from bot.services import groups, ics, people
from bot.services.groups import SetupRequest
from bot.services.people import TelegramIdentity
from storage.models import Role

NOW = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
PARIS = "Europe/Paris"


async def _person(session, telegram_id, name, pillar=None, language="en"):
    person = await people.touch_person(
        session, TelegramIdentity(telegram_id, name, language_code=language))
    person.pillar = pillar
    session.add(person)
    return person


async def _group(session, zone=PARIS, chat_id=-100):
    amani = await _person(session, 1, "Amani", "civil_society")
    group = await groups.register_group(
        session, chat_id, SetupRequest("Paris WG", zone), default_timezone=zone,
        default_language="en", secretariat=[amani])
    return group, amani


async def _series(session, group, rule="FREQ=WEEKLY;BYDAY=TU", first=datetime(2026, 9, 1, 10)):
    return await cal.create_meeting(session, group, title="Weekly", start_local=first, rule=rule,
                                    place="Room 1")


async def test_create_meeting_validation(session):
    group, _ = await _group(session)
    start = datetime(2026, 9, 3, 10)
    for kwargs, code in [
        ({"title": ""}, "title_empty"),
        ({"title": "x" * 201}, "title_long"),
        ({"title": "ok", "place": "p" * 301}, "place_long"),
        ({"title": "ok", "kind": "party"}, "kind"),
        ({"title": "ok", "duration_minutes": 1}, "duration"),
    ]:
        with pytest.raises(cal.CalendarError) as err:
            await cal.create_meeting(session, group, start_local=start, **kwargs)
        assert err.value.code == code


async def test_meeting_of_another_group_is_not_found(session):
    group, _ = await _group(session)
    other, _ = await _group(session, chat_id=-200)
    meeting = await _series(session, group)
    with pytest.raises(cal.CalendarError) as err:
        await cal.get_meeting(session, meeting.id, other)
    assert err.value.code == "not_found"


async def test_cancel_one_occurrence_and_move_another(session):
    group, _ = await _group(session)
    meeting = await _series(session, group)
    first, second, third = await cal.next_occurrences(session, meeting, NOW, 3)
    await cal.cancel_occurrence(session, second, NOW)
    moved_to = datetime(2026, 9, 16, 14, 0, tzinfo=UTC)
    await cal.reschedule_occurrence(session, third, moved_to, NOW)
    coming = await cal.next_occurrences(session, meeting, NOW, 3)
    assert [o.start for o in coming] == [first.start, moved_to, coming[2].start]
    assert coming[1].moved and coming[1].key == third.key
    assert coming[2].start == datetime(2026, 9, 22, 8, 0, tzinfo=UTC)
    with pytest.raises(cal.CalendarError):
        await cal.cancel_occurrence(session, await cal.get_occurrence(
            session, meeting, second.key), NOW)
    with pytest.raises(cal.CalendarError) as err:
        await cal.get_occurrence(session, meeting, second.key + 60)
    assert err.value.code == "no_occurrence"
    window = await cal.occurrences_between(session, meeting, NOW, NOW + timedelta(days=16),
                                           include_cancelled=True)
    assert [o.cancelled for o in window] == [False, True, False]


async def test_reschedule_started_series_splits_it(session):
    group, amani = await _group(session)
    meeting = await _series(session, group, rule="FREQ=WEEKLY;BYDAY=TU;COUNT=10")
    later = NOW + timedelta(days=10)  # 11 September: two occurrences held
    successor = await cal.reschedule_series(
        session, meeting, datetime(2026, 9, 17, 13, 0, tzinfo=UTC), later)
    assert successor.id != meeting.id
    assert meeting.rrule == "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260908T100000"
    assert successor.rrule == "FREQ=WEEKLY;BYDAY=TU;COUNT=8"
    assert successor.start_local == datetime(2026, 9, 17, 15, 0)
    old = await cal.occurrences_between(session, meeting, NOW, NOW + timedelta(days=100))
    assert len(old) == 2
    new = await cal.next_occurrences(session, successor, later, 100)
    assert len(new) == 8 and {o.start.hour for o in new} >= {13}
    with pytest.raises(cal.CalendarError) as err:
        await cal.reschedule_series(session, successor, later - timedelta(days=1), later)
    assert err.value.code == "past"


async def test_reschedule_series_not_started_changes_in_place(session):
    group, _ = await _group(session)
    meeting = await _series(session, group, first=datetime(2026, 9, 8, 10))
    same = await cal.reschedule_series(session, meeting,
                                       datetime(2026, 9, 9, 7, 0, tzinfo=UTC), NOW)
    assert same.id == meeting.id and meeting.start_local == datetime(2026, 9, 9, 9, 0)


async def test_rsvp_counts_and_closed_after_the_meeting(session):
    group, amani = await _group(session)
    bahati = await _person(session, 2, "Bahati", "company")
    meeting = await cal.create_meeting(session, group, title="One", start_local=datetime(
        2026, 9, 3, 10))
    occ = (await cal.next_occurrences(session, meeting, NOW, 1))[0]
    await cal.set_rsvp(session, occ, amani, "going", NOW)
    await cal.set_rsvp(session, occ, bahati, "maybe", NOW)
    await cal.set_rsvp(session, occ, bahati, "going", NOW)
    assert await cal.counts(session, meeting, occ.key) == cal.RsvpCounts(going=2)
    with pytest.raises(cal.CalendarError) as err:
        await cal.set_rsvp(session, occ, amani, "perhaps", NOW)
    assert err.value.code == "answer"
    with pytest.raises(cal.CalendarError) as err:
        await cal.set_rsvp(session, occ, amani, "no", occ.end)
    assert err.value.code == "over"


async def test_quorum_by_number_and_pillars(session):
    group, amani = await _group(session)
    bahati = await _person(session, 2, "Bahati", "company")
    meeting = await cal.create_meeting(session, group, title="One", start_local=datetime(
        2026, 9, 3, 10))
    occ = (await cal.next_occurrences(session, meeting, NOW, 1))[0]
    assert (await cal.quorum(session, group, occ)).required is False
    await cal.set_quorum(session, group, 2, ["company", "civil_society"])
    await cal.set_rsvp(session, occ, amani, "going", NOW)
    status = await cal.quorum(session, group, occ)
    assert (status.met, status.confirmed, status.missing_pillars) == (False, 1, ["company"])
    await cal.set_rsvp(session, occ, bahati, "maybe", NOW)
    assert (await cal.quorum(session, group, occ)).met is False  # maybe is not confirmed
    await cal.set_rsvp(session, occ, bahati, "going", NOW)
    assert (await cal.quorum(session, group, occ)).met is True
    with pytest.raises(cal.CalendarError) as err:
        await cal.set_quorum(session, group, 2, ["dragons"])
    assert err.value.code == "quorum_pillar"
    with pytest.raises(cal.CalendarError):
        await cal.set_quorum(session, group, -1, [])


async def test_attendance_rates(session):
    group, amani = await _group(session)
    bahati = await _person(session, 2, "Bahati")
    await groups.ensure_member(session, group, bahati, role=Role.MEMBER)
    carlos = await _person(session, 3, "Carlos")
    meeting = await _series(session, group)
    one, two = await cal.next_occurrences(session, meeting, NOW, 2)
    with pytest.raises(cal.CalendarError) as err:
        await cal.mark_attendance(session, group, one, bahati, True, NOW)
    assert err.value.code == "not_started"
    later = two.end
    await cal.mark_attendance(session, group, one, bahati, True, later)
    await cal.mark_attendance(session, group, two, bahati, True, later)
    await cal.mark_attendance(session, group, two, amani, True, later)
    await cal.mark_attendance(session, group, one, amani, False, later)
    with pytest.raises(cal.CalendarError) as err:
        await cal.mark_attendance(session, group, one, carlos, True, later)
    assert err.value.code == "not_member"
    rates = {r.person.full_name: (r.attended, r.total)
             for r in await cal.attendance_rates(session, group)}
    assert rates == {"Amani": (1, 2), "Bahati": (2, 2)}


async def test_ics_has_rrule_exdate_override_and_vtimezone(session):
    group, _ = await _group(session)
    meeting = await _series(session, group,
                            rule="FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231T235959")
    _first, second, third = await cal.next_occurrences(session, meeting, NOW, 3)
    await cal.cancel_occurrence(session, second, NOW)
    await cal.reschedule_occurrence(session, third, datetime(2026, 9, 16, 14, tzinfo=UTC), NOW)
    await cal.create_meeting(session, group, title="Field visit", kind="field_visit",
                             start_local=datetime(2026, 10, 3, 9), place="Mine")
    data = await ics.group_ics(session, group, NOW)
    parsed = Calendar.from_ical(data)
    [zone] = parsed.walk("VTIMEZONE")
    assert str(zone["TZID"]) == PARIS
    events = parsed.walk("VEVENT")
    master = next(e for e in events if e.get("RRULE") and "RECURRENCE-ID" not in e)
    assert master["RRULE"]["UNTIL"][0] == datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC)
    assert master.decoded("DTSTART").hour == 10
    exdates = [d.dt for d in master["EXDATE"].dts]
    assert [d.date().isoformat() for d in exdates] == ["2026-09-08"]
    override = next(e for e in events if "RECURRENCE-ID" in e)
    assert override.decoded("RECURRENCE-ID").date().isoformat() == "2026-09-15"
    assert override["UID"] == master["UID"]
    assert override.decoded("DTSTART").astimezone(UTC).hour == 14
    assert sorted(str(e["SUMMARY"]) for e in events) == ["Field visit", "Weekly", "Weekly"]
    single = Calendar.from_ical(await ics.meeting_ics(session, meeting, NOW))
    assert len(single.walk("VEVENT")) == 2
    assert ics.filename("Réunion mensuelle!") == "réunion-mensuelle.ics"  # letters kept
    assert ics.filename("../Mkutano: \"kesho\"") == "mkutano-kesho.ics"


async def test_muting_stores_a_person_met_only_in_a_private_chat(session):
    from bot.services.calendar import is_muted, set_muted
    from bot.services.people import TelegramIdentity, touch_person

    person = await touch_person(session, TelegramIdentity(4242, "Zawadi"), create=False)
    assert await is_muted(session, person) is False
    await set_muted(session, person, False)
    assert person.id is None  # unmuting someone unknown stores nothing
    await set_muted(session, person, True)
    assert person.id is not None and await is_muted(session, person) is True
