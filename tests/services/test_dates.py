"""Dates and times as people write them, in the five languages: a table of phrases read on
Wednesday 2 December 2026 at 10:00 in Lubumbashi, with what each must give, or the question it
must ask back instead of a guess."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.services.actions import split_due
from bot.services.dates import DateError, parse_local, parse_when
from bot.services.recurrence import RecurrenceError, parse_recurrence

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday, 10:00 in Lubumbashi
ZONE = "Africa/Lubumbashi"

PHRASES = [
    # English
    ("en", "2026-12-03 10:00", "2026-12-03 10:00"),
    ("en", "tomorrow 15:00", "2026-12-03 15:00"),
    ("en", "tomorrow 3 pm", "2026-12-03 15:00"),
    ("en", "next tuesday 10:00", "2026-12-08 10:00"),
    ("en", "tuesday 10:00", "2026-12-08 10:00"),
    ("en", "on friday at 9:30", "2026-12-04 09:30"),
    ("en", "wednesday 10:00", "2026-12-09 10:00"),  # today's weekday: the next one
    ("en", "in two weeks 10:00", "2026-12-16 10:00"),
    ("en", "in 2 weeks 14:00", "2026-12-16 14:00"),
    ("en", "3 December 10:00", "2026-12-03 10:00"),
    ("en", "dec 15 10:00", "2026-12-15 10:00"),
    ("en", "15/12/2026 10:00", "2026-12-15 10:00"),
    ("en", "day after tomorrow 8:00", "2026-12-04 08:00"),
    ("en", "next week 10:00", "no_day"),
    ("en", "tomorrow", "no_time"),
    ("en", "blorp 10:00", "unreadable"),
    # French
    ("fr", "mardi prochain 10h", "2026-12-08 10:00"),
    ("fr", "vendredi 14h30", "2026-12-04 14:30"),
    ("fr", "demain 15h", "2026-12-03 15:00"),
    ("fr", "après-demain 9h", "2026-12-04 09:00"),
    ("fr", "10h 15 décembre", "2026-12-15 10:00"),
    ("fr", "10 h 30 demain", "2026-12-03 10:30"),
    ("fr", "le 15 décembre à 10h", "2026-12-15 10:00"),
    ("fr", "15 décembre 10h", "2026-12-15 10:00"),
    ("fr", "15/12 10h", "2026-12-15 10:00"),
    ("fr", "03/12 10h", "2026-12-03 10:00"),  # day first
    ("fr", "15.12.2026 10.30", "2026-12-15 10:30"),
    ("fr", "dans deux semaines 10h", "2026-12-16 10:00"),
    ("fr", "lundi prochain à 9h", "2026-12-07 09:00"),
    ("fr", "la semaine prochaine 10h", "no_day"),
    ("fr", "demain", "no_time"),
    # Spanish
    ("es", "el martes 10:00", "2026-12-08 10:00"),
    ("es", "martes próximo 10:00", "2026-12-08 10:00"),
    ("es", "mañana a las 4 de la tarde", "2026-12-03 16:00"),
    ("es", "mañana 9:00", "2026-12-03 09:00"),
    ("es", "pasado mañana a las 10", "2026-12-04 10:00"),
    ("es", "15 de diciembre a las 10:00", "2026-12-15 10:00"),
    ("es", "el viernes a las 3 de la tarde", "2026-12-04 15:00"),
    ("es", "en dos semanas 10:00", "2026-12-16 10:00"),
    ("es", "15/12 10:00", "2026-12-15 10:00"),
    ("es", "la semana que viene 10:00", "no_day"),
    # Swahili: clock time counted from dawn, with its day-period words
    ("sw", "Jumanne ijayo 10:00", "2026-12-08 10:00"),
    ("sw", "kesho 10:00", "2026-12-03 10:00"),
    ("sw", "kesho saa 4 asubuhi", "2026-12-03 10:00"),
    ("sw", "saa 4 asubuhi kesho", "2026-12-03 10:00"),
    ("sw", "Ijumaa saa 8 mchana", "2026-12-04 14:00"),
    ("sw", "kesho saa 10 jioni", "2026-12-03 16:00"),
    ("sw", "kesho saa 1 jioni", "2026-12-03 19:00"),
    ("sw", "kesho saa 2 usiku", "2026-12-03 20:00"),
    ("sw", "kesho saa 6 mchana", "2026-12-03 12:00"),
    ("sw", "kesho saa 12 asubuhi", "2026-12-03 06:00"),
    ("sw", "keshokutwa saa 3 asubuhi", "2026-12-04 09:00"),
    ("sw", "kesho saa 4:30 asubuhi", "2026-12-03 10:30"),
    ("sw", "tarehe 15 Desemba saa 10:00", "2026-12-15 10:00"),  # a digital clock: as written
    ("sw", "Jumatatu saa 16", "2026-12-07 16:00"),
    ("sw", "baada ya wiki mbili saa 3 asubuhi", "2026-12-16 09:00"),
    ("sw", "kesho saa 10", "ambiguous_saa"),  # 16:00 or 10:00? asked back
    ("sw", "Ijumaa saa 2", "ambiguous_saa"),
    ("sw", "wiki ijayo saa 4 asubuhi", "no_day"),
    # Lingala, and French typed in a Lingala conversation
    ("ln", "lobi 10:00", "2026-12-03 10:00"),  # lobi: tomorrow in a future date
    ("ln", "lobi na 14h", "2026-12-03 14:00"),
    ("ln", "lelo 16:00", "2026-12-02 16:00"),
    ("ln", "mokɔlɔ ya mítáno 10:00", "2026-12-04 10:00"),
    ("ln", "mokolo ya mibale 9:00", "2026-12-08 09:00"),
    ("ln", "lomingo 8:00", "2026-12-06 08:00"),
    ("ln", "3 sánzá ya zómi na míbalé 10:00", "2026-12-03 10:00"),
    ("ln", "15 décembre 10h", "2026-12-15 10:00"),
    ("ln", "mardi prochain 10h", "2026-12-08 10:00"),
    ("ln", "demain 9h", "2026-12-03 09:00"),
    ("ln", "15/12 10:00", "2026-12-15 10:00"),
    ("ln", "lobi", "no_time"),
]


@pytest.mark.parametrize(("locale", "phrase", "expected"), PHRASES,
                         ids=[f"{loc}:{phrase}" for loc, phrase, _ in PHRASES])
def test_phrases_as_people_write_them(locale, phrase, expected):
    if expected[0].isdigit():
        assert f"{parse_local(phrase, locale, ZONE, NOW):%Y-%m-%d %H:%M}" == expected
    else:
        with pytest.raises(DateError) as refused:
            parse_local(phrase, locale, ZONE, NOW)
        assert refused.value.code == expected


def test_the_table_covers_the_five_languages_and_asks_back():
    assert len(PHRASES) >= 60
    assert {locale for locale, _, _ in PHRASES} == {"en", "fr", "es", "sw", "ln"}
    assert sum(not expected[0].isdigit() for _, _, expected in PHRASES) >= 8


def test_a_bare_swahili_hour_names_both_readings():
    with pytest.raises(DateError) as refused:
        parse_when("kesho saa 10", "sw", ZONE, NOW)
    assert refused.value.params == {"hour": 10, "swahili": "16:00", "clock": "10:00"}


@pytest.mark.parametrize(("phrase", "rule", "first"), [
    ("kila mwezi tarehe 15 saa 10:00", "FREQ=MONTHLY;BYMONTHDAY=15", "2026-12-15 10:00"),
    ("kila wiki Jumanne saa 4 asubuhi", "FREQ=WEEKLY;BYDAY=TU", "2026-12-08 10:00"),
    ("chaque premier mardi 10h", "FREQ=MONTHLY;BYDAY=+1TU", "2027-01-05 10:00"),
    ("cada mes el día 15 a las 10:00", "FREQ=MONTHLY;BYMONTHDAY=15", "2026-12-15 10:00"),
    ("every tuesday 3 pm", "FREQ=WEEKLY;BYDAY=TU", "2026-12-08 15:00"),
])
def test_series_read_times_as_people_write_them(phrase, rule, first):
    series = parse_recurrence(phrase, ZONE, NOW)
    assert (series.rule, f"{series.first_local:%Y-%m-%d %H:%M}") == (rule, first)


def test_a_series_with_a_bare_swahili_hour_is_asked_back():
    with pytest.raises(RecurrenceError) as refused:
        parse_recurrence("kila mwezi tarehe 15 saa 10", ZONE, NOW)
    assert refused.value.code == "ambiguous_saa"


@pytest.mark.parametrize(("locale", "words", "due", "text"), [
    ("fr", "vendredi prochain Partager le rapport", date(2026, 12, 4), "Partager le rapport"),
    ("sw", "Ijumaa ijayo Kushiriki ripoti", date(2026, 12, 4), "Kushiriki ripoti"),
    ("es", "el viernes Compartir el informe", date(2026, 12, 4), "Compartir el informe"),
    ("ln", "lobi Kotinda rapport", date(2026, 12, 3), "Kotinda rapport"),
    ("en", "15/12 Send the list", date(2026, 12, 15), "Send the list"),
])
def test_action_due_dates_leave_no_word_in_the_text(locale, words, due, text):
    assert split_due(words.split(), locale, ZONE, NOW) == (due, text)
