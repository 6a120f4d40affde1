"""Every user-facing message exists in en, fr, sw, es and ln; catalogs compile; locale choice."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import LANGUAGES
from bot.formatting import format_number, format_when
from bot.i18n import LOCALES_DIR, normalise_language, pick_locale, translate

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "__": None, "N_": None, "translate": None}
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?\w+>")


def source_messages() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def load_catalog(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=language)


def test_source_has_messages():
    assert len(source_messages()) > 50


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    catalog = load_catalog(language)
    missing = []
    for msgid in sorted(source_messages()):
        entry = catalog.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(msgid)
    assert missing == [], f"{language}: {len(missing)} untranslated, first: {missing[:3]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_compiles_and_keeps_placeholders_and_tags(language):
    catalog = load_catalog(language)
    assert not [error for _msg, errors in catalog.check() for error in errors]
    write_mo(io.BytesIO(), catalog)
    for message in catalog:
        if not message.id or not message.string:
            continue
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(
            PLACEHOLDER.findall(message.id)), (language, message.id)
        assert sorted(TAG.findall(message.string)) == sorted(TAG.findall(message.id)), (
            language, message.id)


def test_translate_fills_placeholders_in_each_language():
    texts = {lang: translate("Time zone: {zone}", lang, zone="Africa/Lubumbashi")
             for lang in LANGUAGES}
    assert texts["en"] == "Time zone: Africa/Lubumbashi"
    assert all("Africa/Lubumbashi" in text for text in texts.values())
    assert len(set(texts.values())) == len(LANGUAGES)


@pytest.mark.parametrize(
    ("stored", "telegram", "group", "expected"),
    [
        ("ln", "fr", "es", "ln"),
        (None, "fr-CA", "es", "fr"),
        (None, "pt-br", "es", "es"),
        (None, None, "sw", "sw"),
        (None, "de", None, "en"),
        ("xx", None, None, "en"),
    ],
)
def test_pick_locale_order(stored, telegram, group, expected):
    assert pick_locale(stored, telegram, group) == expected


def test_normalise_language():
    assert normalise_language("SW_ke") == "sw"
    assert normalise_language("") is None


def test_dates_are_formatted_by_babel_in_reader_locale_and_zone_without_seconds():
    instant = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert format_when(instant, "en", "Africa/Lubumbashi") == "Dec 3, 2026, 10:00\u202fAM"
    assert format_when(instant, "fr", "Africa/Lubumbashi") == "3 déc. 2026, 10:00"
    assert format_when(instant, "es", "America/Bogota") == "3 dic 2026, 3:00"
    assert format_when(instant, "sw", "Africa/Nairobi").endswith("2026 11:00")
    assert format_when(instant, "ln", "Africa/Kinshasa").endswith("2026 09:00")
    assert format_when(instant, "fr", "Africa/Lubumbashi", "full") == "jeudi 3 décembre 2026, 10:00"
    assert format_number(1234.5, "fr") == "1\u202f234,5"


