"""Locale- and zone-aware formatting of dates and numbers (Babel), and Telegram-safe text."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from babel.numbers import format_decimal

TELEGRAM_TEXT_LIMIT = 4096

# Babel's abbreviated Lingala months ("dsb", "nvb") are not words people read: Lingala dates are
# written with the full month name.
FULL_MONTHS = {"ln"}

# Babel formats from its locale data on every call (about 50-100 microseconds a date or a
# number); a card shows the same few dates and counts to everyone who presses its buttons.
# The functions below are pure, so the last results are kept.
CACHED = 4096


@lru_cache(maxsize=CACHED)
def format_day(day: date | datetime, locale: str, fmt: str = "medium") -> str:
    """A date in the reader's language, with full month names where the abbreviations are
    unreadable."""
    if fmt == "medium" and locale in FULL_MONTHS:
        return format_date(day, "d MMMM y", locale=locale)
    return format_date(day, fmt, locale=locale)


def colon(locale: str) -> str:
    """What follows a label: French puts a narrow no-break space before the colon."""
    return "\u202f: " if locale == "fr" else ": "


@lru_cache(maxsize=CACHED)
def format_when(instant: datetime, locale: str, zone: str, fmt: str = "medium") -> str:
    """A UTC instant shown in the reader's zone and language: the date in the ``fmt`` length,
    the time without seconds (people set meetings to the minute)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    local = instant.astimezone(ZoneInfo(zone))
    pattern = str(get_datetime_format(fmt, locale=locale))
    return pattern.replace("{1}", format_day(local, locale, fmt)).replace(
        "{0}", format_time(local, "short", locale=locale))


@lru_cache(maxsize=CACHED)
def format_zone(zone: str, locale: str) -> str:
    try:
        name = get_timezone_name(ZoneInfo(zone), locale=locale)
    except LookupError:  # Babel's data lacks some names in some languages (UTC in Lingala)
        return zone
    return f"{zone} ({name})"


@lru_cache(maxsize=CACHED)
def format_number(value: float | int, locale: str) -> str:
    return format_decimal(value, locale=locale)


def escape(value: object) -> str:
    """Escape user-supplied text for Telegram's HTML parse mode."""
    return html.escape(str(value), quote=False)


def fill(template: str, **params: object) -> str:
    """A translated template with its `{placeholders}` filled by HTML-escaped values."""
    return template.format(**{key: escape(value) for key, value in params.items()})
