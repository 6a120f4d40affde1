"""Reading WHEN a meeting happens: ISO first, then natural language with `dateparser`.

Natural language is read in the user's language plus English only (a short language list is both
faster and less ambiguous), preferring future dates, relative to a controlled `now` expressed in
the group's time zone, and a time of day is required. dateparser's coverage differs by language:
French, Spanish and English read relative words ("demain", "mañana", "tomorrow") and month
names; Swahili reads month names and "kesho"; Lingala reads month names only ("3 sánzá ya zómi
na míbalé 10:00"), so Lingala speakers are pointed to the ISO and English forms in the error text.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.refusals import Refusal
from bot.services.recurrence import localize, to_local

ISO_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2})[:h](\d{2})\s*$")
FRENCH_HOUR_RE = re.compile(r"\b(\d{1,2})\s?h\s?(\d{2})?\b")
MAX_AHEAD_DAYS = 3 * 366


class DateError(Refusal):
    """WHEN could not be used; `code` is "unreadable", "no_time", "past" or "too_far"."""


def _languages(locale: str) -> list[str]:
    return [locale] if locale == "en" else [locale, "en"]


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
    if local is None:
        from dateparser.date import DateDataParser  # slow to import: only when text is read

        base = to_local(now, zone)
        parser = DateDataParser(
            languages=_languages(locale),
            settings={
                "PREFER_DATES_FROM": "future",
                "RELATIVE_BASE": base,
            },
        )
        data = parser.get_date_data(_normalise(text))
        if data.date_obj is None:
            raise DateError("unreadable")
        if "time" not in (getattr(data, "parts", None) or ()):
            raise DateError("no_time")
        local = data.date_obj.replace(tzinfo=None, second=0, microsecond=0)
    return local


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
