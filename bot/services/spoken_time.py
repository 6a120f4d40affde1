"""Times and relative days as people type them, before a date library reads the rest.

`dateparser` reads month names, ISO and most English, French and Spanish phrases, but not what
many people in eastern DR Congo write:

* Swahili clock time counts the hours from dawn (06:00): `saa 4 asubuhi` is 10:00, `saa 8 mchana`
  14:00, `saa 1 jioni` 19:00. With its day-period word (asubuhi, mchana, alasiri, jioni, usiku)
  it is unambiguous; a bare `saa 10` may mean 16:00 (Swahili count) or 10:00 (the clock on the
  phone), so it is asked back (`AmbiguousClock`). A time written like a digital clock (`saa
  10:00`, `saa 16`) is read as written.
* French hours (`10h`, `10h30`, `10 h 30`), also before the date (`10h 15 décembre` is 10:00 on
  15 December, not 10:15), Spanish `a las 4 de la tarde`, English `3 pm`.
* Relative days and weekdays in the five languages (`lobi` is tomorrow in Lingala, and also
  yesterday: meetings are in the future), with "next" in each (`mardi prochain`, `martes
  próximo`, `Jumanne ijayo`), and "in N weeks".

`take_time` pulls the time out of a phrase; `take_day` reads what is left when it is only a
relative day. Both work on any of the five languages at once: people mix them (French typed in a
Lingala conversation).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta


class AmbiguousClock(ValueError):
    """A Swahili hour without its day period (`saa 10`): 16:00 or 10:00? Ask."""

    def __init__(self, hour: int) -> None:
        super().__init__(hour)
        self.hour = hour
        self.swahili = swahili_hour(hour, "jioni" if hour in (10, 11, 12) else "asubuhi")


class NoDay(ValueError):
    """A week without its day ("next week 10:00"): which day? Ask."""


def fold(text: str) -> str:
    """Lower case, without accents, Lingala's open vowels as plain ones, one space between words."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ɔ", "o").replace("ɛ", "e"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("’", "'").split())


SWAHILI_PERIODS = ("asubuhi", "mchana", "alasiri", "jioni", "usiku")


def swahili_hour(hour: int, period: str) -> int:
    """The 24-hour clock hour of Swahili `saa HOUR PERIOD` (hours counted from 06:00)."""
    base = (hour + 6) % 12  # saa 1 -> 7, saa 6 -> 12 -> 0, saa 12 -> 6
    if period == "asubuhi":
        return 12 if hour == 6 else base
    if period in ("mchana", "alasiri", "jioni"):
        return 12 if hour == 6 else base + 12
    # usiku: saa 1-5 are 19:00-23:00, saa 6 midnight, saa 7-11 after midnight
    return base + 12 if 1 <= hour <= 5 else base


_SAA_RE = re.compile(
    r"\bsaa\s*(\d{1,2})(?:\s*([:.h])\s*(\d{2}))?"
    r"(?:\s+(?:za\s+|ya\s+)?(asubuhi|mchana|alasiri|jioni|usiku))?\b")
_PERIOD_RE = re.compile(r"\b(?:za\s+|ya\s+)?(asubuhi|mchana|alasiri|jioni|usiku)\b")
# 10:00, 10.30 (not the 15.12 of 15.12.2026), 10:00 pm
_CLOCK_RE = re.compile(
    r"(?<![\d./-])(\d{1,2})\s*(?::|\.(?=\d{2}(?![\d./-])))\s*(\d{2})(?![\d./-])"
    r"(?:\s*(am|pm|a\.m\.|p\.m\.))?")
_SPANISH_RE = re.compile(
    r"\ba las\s+(\d{1,2})(?:\s*[:.]\s*(\d{2}))?(?:\s+de la\s+(manana|tarde|noche))?\b")
_AMPM_RE = re.compile(r"\b(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.)(?![\w])")
_CONNECTORS_RE = re.compile(r"(?:^|\s)(?:a|at|à|vers|na|ya|saa|kwa)\s*$")


def _valid(hour: int, minute: int) -> tuple[int, int] | None:
    return (hour, minute) if 0 <= hour <= 23 and 0 <= minute <= 59 else None


def take_time(text: str) -> tuple[str, tuple[int, int] | None]:
    """(the folded phrase without its time, (hour, minute) or None); raises AmbiguousClock.

    An hour or minute out of range is left in the phrase (the caller finds it unreadable)."""
    folded = fold(text)
    match = _SAA_RE.search(folded)
    if match:
        hour, minute = int(match.group(1)), int(match.group(3) or 0)
        period = match.group(4)
        if period is None and (other := _PERIOD_RE.search(folded)):
            period = other.group(1)
        if period is not None and 1 <= hour <= 12:
            clock = _valid(swahili_hour(hour, period), minute)
        elif match.group(2) or hour >= 13 or hour == 0:
            clock = _valid(hour, minute)  # written like a digital clock: read as written
        else:
            raise AmbiguousClock(hour)
        rest = _PERIOD_RE.sub(" ", folded[:match.start()] + " " + folded[match.end():])
        return _tidy(rest), clock
    for pattern in (_SPANISH_RE, _CLOCK_RE, _AMPM_RE, _FRENCH_RE):
        match = pattern.search(folded)
        if not match:
            continue
        hour = int(match.group(1))
        if pattern is _FRENCH_RE:
            minute = int(match.group(2) or match.group(3) or 0)
            suffix = None
        elif pattern is _AMPM_RE:
            minute, suffix = 0, match.group(2)
        else:
            minute, suffix = int(match.group(2) or 0), match.group(3)
        if suffix in ("pm", "p.m.", "tarde", "noche") and 1 <= hour <= 11:
            hour += 12
        elif suffix in ("am", "a.m.") and hour == 12:
            hour = 0
        clock = _valid(hour, minute)
        if clock is None:
            return folded, None
        return _tidy(folded[:match.start()] + " " + folded[match.end():]), clock
    return folded, None


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    while (stripped := _CONNECTORS_RE.sub("", text).strip()) != text:
        text = stripped
    return text.strip(" ,")


WEEKDAYS = {
    **dict.fromkeys(("monday", "mon", "lundi", "lunes", "jumatatu", "mokolo ya yambo"), 0),
    **dict.fromkeys(("tuesday", "tue", "mardi", "martes", "jumanne", "mokolo ya mibale"), 1),
    **dict.fromkeys(("wednesday", "wed", "mercredi", "miercoles", "jumatano",
                     "mokolo ya misato"), 2),
    **dict.fromkeys(("thursday", "thu", "jeudi", "jueves", "alhamisi", "mokolo ya minei"), 3),
    **dict.fromkeys(("friday", "fri", "vendredi", "viernes", "ijumaa", "mokolo ya mitano"), 4),
    **dict.fromkeys(("saturday", "sat", "samedi", "sabado", "jumamosi", "mposo"), 5),
    **dict.fromkeys(("sunday", "sun", "dimanche", "domingo", "jumapili", "lomingo", "eyenga"), 6),
}
DAY_OFFSETS = {
    **dict.fromkeys(("today", "aujourd'hui", "aujourdhui", "hoy", "leo", "lelo"), 0),
    **dict.fromkeys(("tomorrow", "demain", "manana", "kesho", "lobi"), 1),
    **dict.fromkeys(("day after tomorrow", "apres-demain", "apres demain", "pasado manana",
                     "keshokutwa", "kesho kutwa"), 2),
}
NUMBERS = {
    **dict.fromkeys(("1", "one", "a", "un", "une", "uno", "una", "moja", "moko"), 1),
    **dict.fromkeys(("2", "two", "deux", "dos", "mbili", "mibale"), 2),
    **dict.fromkeys(("3", "three", "trois", "tres", "tatu", "misato"), 3),
    **dict.fromkeys(("4", "four", "quatre", "cuatro", "nne", "minei"), 4),
}
FILLERS = {"next", "this", "coming", "on", "the", "prochain", "prochaine", "ce", "le", "la",
           "proximo", "proxima", "que", "viene", "el", "este", "ijayo", "hii", "ekoya", "oyo",
           "ya", "siku", "tarehe", "mokolo"}
# 10h, 10h30, 10 h 30; minutes after a space only when no month follows (10h 15 decembre), a
# relative day may (10 h 30 demain).
_DAY_WORDS = "|".join(sorted(map(re.escape, {*DAY_OFFSETS, *WEEKDAYS, *FILLERS}), key=len,
                             reverse=True))
_FRENCH_RE = re.compile(
    rf"\b(\d{{1,2}})\s?h(?:(\d{{2}})|\s(\d{{2}})(?!\s+(?!(?:{_DAY_WORDS})\b)[^\W\d_]))?(?![\w])")
WEEK_ONLY_RE = re.compile(
    r"^(?:(?:la\s+)?semaine prochaine|next week|(?:la\s+)?semana (?:que viene|proxima)|"
    r"(?:la\s+)?proxima semana|wiki ijayo|poso (?:oyo )?ekoya)$")
_WEEKS_RE = re.compile(
    r"^(?:(?:in|dans|en)\s+(\S+)\s+(?:weeks?|semaines?|semanas?)"
    r"|(?:baada ya|nsima ya|sima ya)\s+(?:wiki|poso)\s+(\S+))$")


def take_day(rest: str, today: date) -> date | None:
    """The day a folded phrase (its time already taken) names, when it is only a relative day,
    a weekday (the next one after today) or "in N weeks"; None otherwise."""
    if not rest:
        return None
    if WEEK_ONLY_RE.match(rest):
        raise NoDay
    if (match := _WEEKS_RE.match(rest)) and (count := match.group(1) or match.group(2)) in NUMBERS:
        return today + timedelta(weeks=NUMBERS[count])
    for phrase, offset in sorted(DAY_OFFSETS.items(), key=lambda item: -len(item[0])):
        if re.search(rf"(?:^|\s){re.escape(phrase)}(?:\s|$)", rest):
            left = rest.replace(phrase, " ").split()
            if all(word in FILLERS for word in left):
                return today + timedelta(days=offset)
    for phrase, weekday in sorted(WEEKDAYS.items(), key=lambda item: -len(item[0])):
        if re.search(rf"(?:^|\s){re.escape(phrase)}(?:\s|$)", rest):
            left = rest.replace(phrase, " ").split()
            if all(word in FILLERS for word in left):
                ahead = (weekday - today.weekday() - 1) % 7 + 1
                return today + timedelta(days=ahead)
            return None
    return None
