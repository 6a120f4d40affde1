"""Reading WHEN a meeting happens: ISO first, then phrases as people write them.

`spoken_time` takes the time out of the phrase (Swahili clock time counted from dawn, French
`10h` before or after the date, Spanish `a las 4 de la tarde`, `3 pm`) and reads relative days
and weekdays in the five languages (`lobi`, `kesho`, `mardi prochain`, `el martes`, `Jumanne
ijayo`, `in two weeks`); what remains (month names, numeric dates) is read by `dateparser` in the
user's language plus French and English (people mix them: French typed in a Lingala
conversation), day first (15/12 is 15 December), preferring future dates, relative to a
controlled `now` in the group's time zone. A time of day is required. What could be read two ways
is refused with a code that asks back (`ambiguous_saa`), never guessed.
"""

from __future__ import annotations

import re
from datetime import datetime, time

from bot.refusals import Refusal
from bot.services.recurrence import localize, to_local
from bot.services.spoken_time import AmbiguousClock, NoDay, take_day, take_time

ISO_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2})[:h](\d{2})\s*$")
FRENCH_HOUR_RE = re.compile(r"\b(\d{1,2})\s?h\s?(\d{2})?\b")
MAX_AHEAD_DAYS = 3 * 366


class DateError(Refusal):
    """WHEN could not be used; `code` is "unreadable", "no_time", "past", "too_far" or
    "ambiguous_saa" (a Swahili hour without its day period; params `hour`, `swahili`, `clock`)
    or "no_day" (a week without its day)."""


def _languages(locale: str) -> list[str]:
    return list(dict.fromkeys([locale, "fr", "en"]))


def ambiguous_clock(err: AmbiguousClock) -> dict[str, object]:
    """The params of an "ambiguous_saa" refusal: the hour as typed and its two readings."""
    return {"hour": err.hour, "swahili": f"{err.swahili:02d}:00", "clock": f"{err.hour:02d}:00"}


def _normalise(text: str) -> str:
    """`15h`, `15h30`, `15 h 30` (French style) become `15:00`, `15:30`."""
    return FRENCH_HOUR_RE.sub(lambda m: f"{m.group(1)}:{m.group(2) or '00'}", text.strip())


def _iso(text: str) -> datetime | None:
    match = ISO_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        raise DateError("unreadable") from None


def parse_local(text: str, locale: str, zone: str, now: datetime) -> datetime:
    """WHEN as a naive wall-clock time in `zone`; raises DateError."""
    if not text or not text.strip() or len(text) > 100:
        raise DateError("unreadable")
    local = _iso(text)
    if local is not None:
        return local
    try:
        rest, clock = take_time(text)
    except AmbiguousClock as err:
        raise DateError("ambiguous_saa", **ambiguous_clock(err)) from None
    base = to_local(now, zone)
    try:
        day = take_day(rest, base.date())
    except NoDay:
        raise DateError("no_day") from None
    if day is not None:
        if clock is None:
            raise DateError("no_time")
        return datetime.combine(day, time(*clock))
    rest = re.sub(r"\btarehe\b", " ", rest)
    phrases = [f"{rest} {clock[0]:02d}:{clock[1]:02d}" if clock else rest, _normalise(text)]
    from dateparser.date import DateDataParser  # slow to import: only when text is read

    parser = DateDataParser(
        languages=_languages(locale),
        settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base, "DATE_ORDER": "DMY"},
    )
    for phrase in phrases:
        data = parser.get_date_data(phrase)
        if data.date_obj is None:
            continue
        if "time" not in (getattr(data, "parts", None) or ()):
            raise DateError("no_time")
        return data.date_obj.replace(tzinfo=None, second=0, microsecond=0)
    raise DateError("unreadable")


def parse_when(text: str, locale: str, zone: str, now: datetime) -> datetime:
    """WHEN as a UTC instant, refused when it is past or more than three years ahead."""
    local = parse_local(text, locale, zone, now)
    try:
        instant = localize(local, zone)
    except OverflowError:  # the last hours of year 9999 in a zone behind UTC
        raise DateError("too_far") from None
    if instant <= now:
        raise DateError("past")
    if (instant - now).days > MAX_AHEAD_DAYS:
        raise DateError("too_far")
    return instant
