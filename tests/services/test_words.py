"""Command words in the reader's language: reminder delays, pillars, /settings keywords, and
the examples every error message gives (each must work when typed back)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.config import LANGUAGES
from bot.i18n import translate
from bot.services import reminders, words
from bot.services.actions import split_due
from bot.services.dates import parse_when
from bot.services.recurrence import looks_recurring, parse_recurrence
from storage.models import Pillar

NOW = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
ZONE = "Africa/Lubumbashi"
WEEK_DAY_HOUR = [10080, 1440, 60]


@pytest.mark.parametrize(("text", "minutes"), [
    ("1w 1d 1h", WEEK_DAY_HOUR),
    ("1 sem 1 j 1 h", WEEK_DAY_HOUR),
    ("1 semaine, 1 jour, 1 heure", WEEK_DAY_HOUR),
    ("wiki 1 siku 1 saa 1", WEEK_DAY_HOUR),
    ("Wiki 1, Siku 1, Saa 1", WEEK_DAY_HOUR),
    ("poso 1 mokolo 1 ngonga 1", WEEK_DAY_HOUR),
    ("pɔsɔ 1 mokolo 1 ngɔnga 1", WEEK_DAY_HOUR),
    ("1 semana 1 día 1 hora", WEEK_DAY_HOUR),
    ("3j 2h", [4320, 120]),
    ("mikolo 3 dakika 30", [4320, 30]),
    ("1 sem siku 1 1h", WEEK_DAY_HOUR),  # languages mixed
])
def test_delays_are_read_in_every_language(text, minutes):
    assert reminders.parse_offsets(text) == minutes


@pytest.mark.parametrize(("locale", "shown"), [
    ("en", "1w 1d 1h"),
    ("fr", "1 sem, 1 j, 1 h"),
    ("sw", "wiki 1, siku 1, saa 1"),
    ("es", "1 sem, 1 d, 1 h"),
    ("ln", "poso 1, mokolo 1, ngonga 1"),
])
def test_delays_are_shown_in_the_readers_words_and_read_back(locale, shown):
    assert reminders.format_offsets(WEEK_DAY_HOUR, locale) == shown
    assert reminders.parse_offsets(shown) == WEEK_DAY_HOUR
    assert words.format_offsets([4320, 30], locale) in {
        "3d 30m", "3 j, 30 min", "siku 3, dakika 30", "3 d, 30 min", "mikolo 3, miniti 30"}


@pytest.mark.parametrize(("text", "code", "value"), [
    ("3x", "offset_bad", "3x"),
    ("siku", "offset_bad", "siku"),
    ("3 jours 2", "offset_bad", "2"),
    ("0 j", "offset_range", "0 j"),
    ("siku 61", "offset_range", "siku 61"),
])
def test_bad_delays_are_quoted_as_typed(text, code, value):
    with pytest.raises(reminders.OffsetError) as err:
        reminders.parse_offsets(text)
    assert (err.value.code, err.value.params.get("value")) == (code, value)


@pytest.mark.parametrize(("word", "pillar"), [
    ("company", "company"), ("Entreprise", "company"), ("kampuni", "company"),
    ("empresa", "company"), ("kompani", "company"), ("jamii", "community"),
    ("communauté", "community"), ("communaute", "community"), ("bato_ya_mboka", "community"),
    ("société_civile", "civil_society"), ("asasi_za_kiraia", "civil_society"),
    ("sécurité_privée", "private_security"), ("serikali", "host_government"),
    ("army", "public_security"),
])
def test_pillars_are_read_in_every_language(word, pillar):
    assert words.pillar_code(word) == pillar


def test_every_pillar_word_shown_reads_back_as_its_pillar():
    for locale in LANGUAGES:
        for pillar in Pillar:
            assert words.pillar_code(words.pillar_word(pillar.value, locale)) == pillar.value


def test_settings_topics_and_off_in_every_language():
    assert {words.topic(w) for w in ("reminders", "rappels", "vikumbusho", "recordatorios",
                                     "bikundoli")} == {"reminders"}
    assert {words.topic(w) for w in ("quorum", "akidi", "quórum")} == {"quorum"}
    assert all(words.is_off(words.off_word(locale)) for locale in LANGUAGES)
    assert words.topic("nonsense") is None


def _examples(msgid: str, locale: str) -> list[str]:
    text = translate(msgid, locale)
    listed = re.split(r"[:：]\s", text, maxsplit=1)[1].rstrip(".")
    return [part.strip() for part in listed.split(", ") if part.strip()]


@pytest.mark.parametrize("locale", LANGUAGES)
def test_date_examples_in_every_language_work_when_typed(locale):
    """The examples an error message gives are in the reader's language and are read."""
    msgid = ("I could not read that date. Examples that work: 2026-12-03 10:00, 3 December "
             "10:00, tomorrow 15:00, every first tuesday 10:00.")
    examples = _examples(msgid, locale)
    assert len(examples) >= 4
    for example in examples:
        if looks_recurring(example):
            assert parse_recurrence(example, ZONE, NOW).rule, example
        else:
            assert parse_when(example, locale, ZONE, NOW) > NOW, example
    if locale in {"sw", "ln"}:
        assert "tomorrow" not in translate(msgid, locale)


@pytest.mark.parametrize("locale", LANGUAGES)
def test_due_date_examples_in_every_language_work_when_typed(locale):
    """Each /action example of the due-date error is read as typed: its first word is the due
    date (today or later) and the rest is the action."""
    text = translate("I could not read the due date. Examples: /action @amani 2026-12-15 Send "
                     "the report, or /action @amani tomorrow Call the police chief.", locale)
    examples = [part.split(", ")[0].split() for part in text.rstrip(".").split("/action ")[1:]]
    assert len(examples) == 2 and all(words_[0] == "@amani" for words_ in examples), text
    for words_ in examples:
        due, rest = split_due(words_[1:], locale, ZONE, NOW)
        assert due >= NOW.date() and rest == " ".join(words_[2:]), words_
    if locale != "en":
        assert "tomorrow" not in text


@pytest.mark.parametrize("locale", LANGUAGES)
def test_delay_examples_in_every_language_work_when_typed(locale):
    text = translate("Give one to five delays, for example: /settings reminders 3d 1d 2h",
                     locale)
    topic = text.split("/settings ", 1)[1].split()[0]
    assert words.topic(topic) == "reminders"
    assert reminders.parse_offsets(" ".join(text.split("/settings ", 1)[1].split()[1:])) == [
        4320, 1440, 120]
    assert reminders.format_offsets([4320, 1440, 120], locale) in text


def test_lingala_dates_have_month_names_people_read():
    from bot.formatting import format_day, format_when

    instant = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    shown = format_when(instant, "ln", ZONE)
    assert "dsb" not in shown and "sánzá ya zómi na míbalé" in shown and "10:00" in shown
    assert format_day(datetime(2026, 11, 3), "ln") == "3 sánzá ya zómi na mɔ̌kɔ́ 2026"
    assert format_day(datetime(2026, 12, 3), "fr") == "3 déc. 2026"  # others keep Babel's


def test_a_label_and_its_value_follow_french_spacing():
    from bot.formatting import colon

    assert f"Entreprise{colon('fr')}John" == "Entreprise\u202f: John"
    assert f"Company{colon('en')}John" == "Company: John"
