"""Recurrence phrases to RRULEs, expanded in local clock time (DST, 31st, last weekday, ends),
and WHEN parsing (ISO and natural language in each supported language)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.dates import DateError, parse_local, parse_when
from bot.services.recurrence import (
    RecurrenceError,
    first_after,
    localize,
    looks_recurring,
    occurrences,
    parse_recurrence,
    remaining_rule,
    truncate_rule,
)

NOW = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
PARIS = "Europe/Paris"


def _local(instants, zone=PARIS):
    return [i.astimezone(ZoneInfo(zone)).replace(tzinfo=None) for i in instants]


@pytest.mark.parametrize(("phrase", "rule", "first"), [
    ("every tuesday 10:00", "FREQ=WEEKLY;BYDAY=TU", datetime(2026, 9, 1, 10, 0)),
    ("every 2 weeks on monday 09:30", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
     datetime(2026, 9, 7, 9, 30)),
    ("every other friday 14h", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", datetime(2026, 9, 4, 14, 0)),
    ("every first tuesday 10:00", "FREQ=MONTHLY;BYDAY=+1TU", datetime(2026, 9, 1, 10, 0)),
    ("every second wednesday 10:00", "FREQ=MONTHLY;BYDAY=+2WE", datetime(2026, 9, 9, 10, 0)),
    ("every last thursday 15:00", "FREQ=MONTHLY;BYDAY=-1TH", datetime(2026, 9, 24, 15, 0)),
    ("every month on the 31st 10:00", "FREQ=MONTHLY;BYMONTHDAY=31",
     datetime(2026, 10, 31, 10, 0)),
    ("quarterly on the 15th 10:00", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15",
     datetime(2026, 9, 15, 10, 0)),
    ("every tuesday 10:00 until 2026-12-31", "FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231T235959",
     datetime(2026, 9, 1, 10, 0)),
    ("every tuesday 10:00 6 times", "FREQ=WEEKLY;BYDAY=TU;COUNT=6", datetime(2026, 9, 1, 10, 0)),
    ("chaque premier mardi 10h", "FREQ=MONTHLY;BYDAY=+1TU", datetime(2026, 9, 1, 10, 0)),
    ("tous les mardis 10h", "FREQ=WEEKLY;BYDAY=TU", datetime(2026, 9, 1, 10, 0)),
    ("cada último jueves 15:00", "FREQ=MONTHLY;BYDAY=-1TH", datetime(2026, 9, 24, 15, 0)),
    ("kila Jumanne 10:00", "FREQ=WEEKLY;BYDAY=TU", datetime(2026, 9, 1, 10, 0)),
    ("every tuesday 10:00 from 2026-10-01", "FREQ=WEEKLY;BYDAY=TU",
     datetime(2026, 10, 6, 10, 0)),
])
def test_phrases_become_rrules(phrase, rule, first):
    assert looks_recurring(phrase)
    parsed = parse_recurrence(phrase, PARIS, NOW)
    assert (parsed.rule, parsed.first_local) == (rule, first)


@pytest.mark.parametrize(("phrase", "code"), [
    ("every tuesday", "series_no_time"),
    ("every 10:00", "incomplete"),
    ("every tuesday 25:00", "bad_time"),
    ("every month on the 32nd 10:00", "bad_monthday"),
    ("every tuesday 10:00 until tomorrow", "bad_end"),
    ("every tuesday 10:00 until 2026-02-30", "bad_end"),
    ("every tuesday 10:00 until 2026-08-01", "end_before_start"),
    ("every tuesday 10:00 0 times", "bad_count"),
    ("every blue moon 10:00", "unknown_word"),
])
def test_bad_phrases_are_refused_with_a_reason(phrase, code):
    with pytest.raises(RecurrenceError) as err:
        parse_recurrence(phrase, PARIS, NOW)
    assert err.value.code == code


def test_series_stays_at_ten_local_across_october_dst_change():
    rec = parse_recurrence("every tuesday 10:00", PARIS, datetime(2026, 10, 10, tzinfo=UTC))
    found = list(occurrences(rec.rule, rec.first_local, PARIS,
                             datetime(2026, 10, 10, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)))
    assert [i.day for i in found] == [13, 20, 27, 3]
    assert [i.hour for i in found] == [8, 8, 9, 9]  # UTC+2 before 25 October, UTC+1 after
    assert {t.time().isoformat() for t in _local(found)} == {"10:00:00"}


def test_thirty_first_skips_short_months_and_last_thursday_is_last():
    rec = parse_recurrence("every month on the 31st 10:00", PARIS, NOW)
    dates = [d.date().isoformat() for d in _local(first_after(
        rec.rule, rec.first_local, PARIS, NOW, 5))]
    assert dates == ["2026-10-31", "2026-12-31", "2027-01-31", "2027-03-31", "2027-05-31"]
    rec = parse_recurrence("every last thursday 15:00", PARIS, NOW)
    dates = [d.date().isoformat() for d in _local(first_after(
        rec.rule, rec.first_local, PARIS, NOW, 4))]
    assert dates == ["2026-09-24", "2026-10-29", "2026-11-26", "2026-12-31"]


def test_series_end_until_and_count():
    rec = parse_recurrence("every tuesday 10:00 until 2026-09-22", PARIS, NOW)
    assert len(first_after(rec.rule, rec.first_local, PARIS, NOW, 100)) == 4
    rec = parse_recurrence("every tuesday 10:00 3 times", PARIS, NOW)
    assert len(first_after(rec.rule, rec.first_local, PARIS, NOW, 100)) == 3


def test_truncate_and_remaining_rules():
    first = datetime(2026, 9, 1, 10, 0)
    cut = truncate_rule("FREQ=WEEKLY;BYDAY=TU;COUNT=10", datetime(2026, 9, 15, 10, 0))
    assert cut == "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260915T100000"
    assert len(first_after(cut, first, PARIS, NOW, 100)) == 3
    assert remaining_rule("FREQ=WEEKLY;BYDAY=TU;COUNT=10", 4) == "FREQ=WEEKLY;BYDAY=TU;COUNT=6"
    assert remaining_rule("FREQ=WEEKLY;BYDAY=TU", 4) == "FREQ=WEEKLY;BYDAY=TU"


def test_single_meeting_occurrence_window():
    local = datetime(2026, 9, 3, 10, 0)
    instant = localize(local, PARIS)
    assert list(occurrences(None, local, PARIS, instant, instant + timedelta(seconds=1))) == [
        instant]
    assert first_after(None, local, PARIS, instant + timedelta(seconds=1), 3) == []


# --- WHEN -------------------------------------------------------------------------------------

BASE = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # Saturday, 12:00 in Lubumbashi
ZONE = "Africa/Lubumbashi"


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("2026-12-03 10:00", "en", datetime(2026, 12, 3, 10, 0)),
    ("2026-12-03T09:30", "fr", datetime(2026, 12, 3, 9, 30)),
    ("tomorrow 15:00", "en", datetime(2026, 11, 22, 15, 0)),
    ("3 December 10:00", "en", datetime(2026, 12, 3, 10, 0)),
    ("3 décembre 10:00", "fr", datetime(2026, 12, 3, 10, 0)),
    ("demain 15h", "fr", datetime(2026, 11, 22, 15, 0)),
    ("3 décembre 15h30", "fr", datetime(2026, 12, 3, 15, 30)),
    ("mañana 15:00", "es", datetime(2026, 11, 22, 15, 0)),
    ("3 de diciembre 10:00", "es", datetime(2026, 12, 3, 10, 0)),
    ("3 Desemba 10:00", "sw", datetime(2026, 12, 3, 10, 0)),
    ("3 sánzá ya zómi na míbalé 10:00", "ln", datetime(2026, 12, 3, 10, 0)),
    ("tomorrow 15:00", "ln", datetime(2026, 11, 22, 15, 0)),  # English always understood
    ("tuesday 10:00", "en", datetime(2026, 11, 24, 10, 0)),
    ("tomorrow 12:00", "en", datetime(2026, 11, 22, 12, 0)),  # same clock time as now
    ("in 2 hours", "en", datetime(2026, 11, 21, 14, 0)),
])
def test_when_in_each_language(text, locale, expected):
    assert parse_local(text, locale, ZONE, BASE) == expected


def test_when_is_read_in_the_group_zone():
    assert parse_when("2026-12-03 10:00", "en", ZONE, BASE) == datetime(
        2026, 12, 3, 8, 0, tzinfo=UTC)
    assert parse_when("2026-12-03 10:00", "en", "America/Bogota", BASE) == datetime(
        2026, 12, 3, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "code"), [
    ("", "unreadable"),
    ("blorp", "unreadable"),
    ("2026-02-30 10:00", "unreadable"),
    ("friday", "no_time"),
    ("tomorrow", "no_time"),
    ("3 December", "no_time"),
    ("2020-01-01 10:00", "past"),
    ("2035-01-01 10:00", "too_far"),
    ("x" * 150, "unreadable"),
])
def test_bad_when_is_refused(text, code):
    with pytest.raises(DateError) as err:
        parse_when(text, "en", ZONE, BASE)
    assert err.value.code == code
