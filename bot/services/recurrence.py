"""Recurring meetings: RFC 5545 RRULEs, read from short phrases and expanded in local clock time.

A series is stored as its first occurrence's wall-clock time (naive, in the group's zone) plus an
RRULE without DTSTART. Expansion runs `dateutil.rrule` over naive local times and only then
attaches the zone, so a 10:00 meeting stays at 10:00 local across daylight-saving changes.
An UNTIL in the stored rule is a local wall-clock time too; `ics.py` converts it to UTC.

Phrases (English, French, Spanish and Swahili keywords; day names in every supported language;
times as `spoken_time` reads them, Swahili clock time included):
`every tuesday 10:00`, `every 2 weeks on monday 09:30`, `every other friday 14:00`,
`every first tuesday 10:00`, `every last thursday 15:00`, `every month on the 31st 10:00`,
`quarterly on the 15th 10:00`, `kila mwezi tarehe 15 saa 10:00`, each optionally followed by
`until 2027-06-30` or `6 times`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from dateutil.rrule import rrule, rrulestr

from bot.refusals import Refusal
from bot.services.spoken_time import AmbiguousClock, take_time

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_COUNT = 500


class RecurrenceError(Refusal):
    """A recurrence phrase could not be read; `code` names the reason."""


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _day_words() -> dict[str, int]:
    words: dict[str, int] = {}
    for locale in ("en", "fr", "es", "sw", "ln"):
        for width in ("wide", "abbreviated"):
            for index, name in get_day_names(width, locale=locale).items():
                words.setdefault(_fold(name).rstrip("."), index)
    return words


DAY_WORDS = _day_words()
EVERY_WORDS = {"every", "each", "chaque", "tous", "toutes", "les", "cada", "todos", "todas",
               "los", "las", "kila", "mokolo"}
FILLER_WORDS = {"on", "the", "at", "le", "la", "de", "del", "el", "a", "à", "of", "day", "jour",
                "dia", "du", "mois", "mes", "month", "months", "a.m.", "h", "tarehe", "saa",
                "ya", "na"}
ORDINALS = {
    "first": 1, "1st": 1, "premier": 1, "premiere": 1, "primer": 1, "primero": 1, "primera": 1,
    "second": 2, "2nd": 2, "deuxieme": 2, "second.": 2, "segundo": 2, "segunda": 2,
    "third": 3, "3rd": 3, "troisieme": 3, "tercer": 3, "tercero": 3, "tercera": 3,
    "fourth": 4, "4th": 4, "quatrieme": 4, "cuarto": 4, "cuarta": 4,
    "last": -1, "dernier": -1, "derniere": -1, "ultimo": -1, "ultima": -1,
}
WEEK_WORDS = {"week", "weeks", "semaine", "semaines", "semana", "semanas", "wiki"}
MONTH_WORDS = {"month", "months", "monthly", "mois", "mensuel", "mensuelle", "mes", "meses",
               "mensual", "mwezi"}
QUARTER_WORDS = {"quarter", "quarterly", "trimestre", "trimestriel", "trimestrielle",
                 "trimestral"}
OTHER_WORDS = {"other", "alternate"}
UNTIL_WORDS = {"until", "till", "jusqu'au", "jusqu", "au", "hasta", "mpaka", "tii"}
TIMES_WORDS = {"times", "fois", "veces", "mara"}
STARTING_WORDS = {"from", "starting", "des", "desde", "kuanzia", "depuis", "a partir du"}

TIME_RE = re.compile(r"^(\d{1,2})(?:[:h.](\d{2}))?h?$")
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
MONTHDAY_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er|e|o|º)?$")


@dataclass(frozen=True)
class Recurrence:
    rule: str  # RRULE body without DTSTART, e.g. "FREQ=MONTHLY;BYDAY=+1TU"
    first_local: datetime  # naive wall-clock time of the first occurrence


def looks_recurring(text: str) -> bool:
    words = _fold(text).split()
    if words[:1] == ["mokolo"] and "nyonso" not in words and words.count("mokolo") < 2:
        return False  # "mokolo ya mibale ekoya" is one day (next Tuesday), not every Tuesday
    return bool(words) and (
        words[0] in EVERY_WORDS | QUARTER_WORDS | {"weekly", "monthly", "hebdomadaire", "semanal"}
    )


@dataclass
class _Parts:
    freq: str = ""
    interval: int = 1
    weekday: int | None = None
    ordinal: int | None = None
    monthday: int | None = None
    at: time | None = None
    until: date | None = None
    count: int | None = None
    start: date | None = None


def _read_time(word: str) -> time | None:
    match = TIME_RE.match(word)
    if not match or (":" not in word and "h" not in word and "." not in word):
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise RecurrenceError("bad_time")
    return time(hour, minute)


def _read_date(word: str) -> date:
    match = DATE_RE.match(word)
    if not match:
        raise RecurrenceError("bad_end")
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise RecurrenceError("bad_end") from None


def _day(word: str) -> int | None:
    """A day name in any supported language, singular or plural ("mardis", "tuesdays")."""
    word = word.rstrip(".")
    if word in DAY_WORDS:
        return DAY_WORDS[word]
    if word.endswith("s") and word[:-1] in DAY_WORDS:
        return DAY_WORDS[word[:-1]]
    return None


def _tokens(text: str) -> list[str]:
    folded = _fold(text).replace(",", " ")
    folded = re.sub(r"\b(a partir du|a partir de)\b", "from", folded)
    folded = re.sub(r"\bjusqu'?\s*(au|a)\b", "until", folded)
    return folded.split()


def _parse_parts(text: str) -> _Parts:
    parts = _Parts()
    try:  # the time as people write it (saa 4 asubuhi, 10h, 3 pm), anywhere in the phrase
        rest, clock = take_time(text)
    except AmbiguousClock as err:
        raise RecurrenceError("ambiguous_saa", hour=err.hour, swahili=f"{err.swahili:02d}:00",
                              clock=f"{err.hour:02d}:00") from None
    if clock is not None:
        parts.at = time(*clock)
    words = _tokens(rest)
    i = 0
    while i < len(words):
        word = words[i].rstrip(".")
        nxt = words[i + 1] if i + 1 < len(words) else None
        if word in EVERY_WORDS or word in FILLER_WORDS:
            pass
        elif word in UNTIL_WORDS:
            if nxt is None:
                raise RecurrenceError("bad_end")
            parts.until = _read_date(nxt)
            i += 1
        elif word in STARTING_WORDS:
            if nxt is None:
                raise RecurrenceError("bad_start")
            try:
                parts.start = _read_date(nxt)
            except RecurrenceError:
                raise RecurrenceError("bad_start") from None
            i += 1
        elif word.isdigit() and nxt in TIMES_WORDS:
            parts.count = int(word)
            if not 1 <= parts.count <= MAX_COUNT:
                raise RecurrenceError("bad_count")
            i += 1
        elif word.isdigit() and nxt is not None and _fold(nxt) in WEEK_WORDS | MONTH_WORDS:
            parts.interval = int(word)
            if not 1 <= parts.interval <= 52:
                raise RecurrenceError("bad_interval")
        elif word in OTHER_WORDS:
            parts.interval = 2
        elif word in WEEK_WORDS or word in {"weekly", "hebdomadaire", "semanal"}:
            parts.freq = "WEEKLY"
        elif word in MONTH_WORDS:
            parts.freq = "MONTHLY"
        elif word in QUARTER_WORDS:
            parts.freq, parts.interval = "MONTHLY", 3
        elif word in ORDINALS and nxt is not None and _day(nxt) is not None:
            parts.ordinal = ORDINALS[word]
        elif _day(word) is not None:
            parts.weekday = _day(word)
        elif (at := _read_time(word)) is not None:
            parts.at = at
        elif MONTHDAY_RE.match(word):
            day = int(MONTHDAY_RE.match(word).group(1))
            if not 1 <= day <= 31:
                raise RecurrenceError("bad_monthday")
            parts.monthday = day
        else:
            raise RecurrenceError("unknown_word")
        i += 1
    return parts


def _rule_body(parts: _Parts) -> str:
    if parts.ordinal is not None:
        if parts.weekday is None:
            raise RecurrenceError("incomplete")
        freq = "MONTHLY"
        by = f"BYDAY={parts.ordinal:+d}{WEEKDAY_CODES[parts.weekday]}"
    elif parts.monthday is not None and parts.freq != "WEEKLY":
        freq = "MONTHLY"
        by = f"BYMONTHDAY={parts.monthday}"
    elif parts.weekday is not None and parts.freq in ("", "WEEKLY"):
        freq = "WEEKLY"
        by = f"BYDAY={WEEKDAY_CODES[parts.weekday]}"
    else:
        raise RecurrenceError("incomplete")
    interval = parts.interval
    body = f"FREQ={freq}"
    if interval != 1:
        body += f";INTERVAL={interval}"
    return f"{body};{by}"


MAX_START_DAYS = 3 * 366  # a series starts at most three years ahead, as a single meeting


def parse_recurrence(text: str, zone: str, now: datetime) -> Recurrence:
    """Read a recurrence phrase; the first occurrence is the first one after `now`."""
    parts = _parse_parts(text)
    if parts.at is None:
        raise RecurrenceError("series_no_time")
    body = _rule_body(parts)
    local_now = now.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    if parts.start is not None and parts.start > local_now.date() + timedelta(days=MAX_START_DAYS):
        raise RecurrenceError("too_far")  # also keeps the calendar's arithmetic within year 9999
    start_day = max(parts.start or local_now.date(), local_now.date())
    anchor = datetime.combine(start_day, parts.at)
    # The first matching day without the interval: "every 2 weeks on monday" starts next Monday,
    # and the interval then counts from there.
    plain = ";".join(p for p in body.split(";") if not p.startswith("INTERVAL="))
    first = rrulestr(f"RRULE:{plain}", dtstart=anchor).after(local_now, inc=False)
    if first is None:
        raise RecurrenceError("series_empty")
    if parts.until is not None:
        if parts.until < first.date():
            raise RecurrenceError("end_before_start")
        body += f";UNTIL={parts.until:%Y%m%d}T235959"
    if parts.count is not None:
        body += f";COUNT={parts.count}"
    return Recurrence(rule=body, first_local=first)


def make_rule(rule: str, first_local: datetime) -> rrule:
    return rrulestr(f"RRULE:{rule}", dtstart=first_local)


def localize(local: datetime, zone: str) -> datetime:
    """A naive wall-clock time in `zone` as a UTC instant."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def to_local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def occurrences(
    rule: str | None, first_local: datetime, zone: str, start: datetime, end: datetime
) -> Iterator[datetime]:
    """UTC instants of the occurrences starting in [start, end), in order."""
    if rule is None:
        instant = localize(first_local, zone)
        if start <= instant < end:
            yield instant
        return
    # A day of margin on each side covers any UTC offset; exact bounds are checked in UTC.
    local_start = to_local(start, zone) - timedelta(days=1)
    local_end = to_local(end, zone) + timedelta(days=1)
    for local in make_rule(rule, first_local).xafter(local_start, inc=True):
        if local > local_end:
            return
        instant = localize(local, zone)
        if start <= instant < end:
            yield instant


def first_after(
    rule: str | None, first_local: datetime, zone: str, after: datetime, limit: int
) -> list[datetime]:
    """Up to `limit` occurrences starting at or after `after` (open-ended series stay lazy)."""
    if rule is None:
        instant = localize(first_local, zone)
        return [instant] if instant >= after else []
    found: list[datetime] = []
    local_after = to_local(after, zone) - timedelta(days=1)
    for local in make_rule(rule, first_local).xafter(local_after, inc=True):
        instant = localize(local, zone)
        if instant >= after:
            found.append(instant)
            if len(found) >= limit:
                break
    return found


def rule_end(rule: str | None) -> str | None:
    """The UNTIL or COUNT part of a rule, for display."""
    if not rule:
        return None
    for part in rule.split(";"):
        if part.startswith(("UNTIL=", "COUNT=")):
            return part
    return None


def truncate_rule(rule: str, last_local: datetime) -> str:
    """The same rule ending at `last_local` (its COUNT or UNTIL replaced)."""
    kept = [p for p in rule.split(";") if not p.startswith(("UNTIL=", "COUNT="))]
    kept.append(f"UNTIL={last_local:%Y%m%dT%H%M%S}")
    return ";".join(kept)


def remaining_rule(rule: str, held: int) -> str:
    """The rule for the rest of a series of which `held` occurrences took place (COUNT reduced)."""
    parts = rule.split(";")
    count = next((int(p[6:]) for p in parts if p.startswith("COUNT=")), None)
    if count is None:
        return rule
    left = max(count - held, 1)
    return ";".join([p for p in parts if not p.startswith("COUNT=")] + [f"COUNT={left}"])
