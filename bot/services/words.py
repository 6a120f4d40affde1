"""Command words in the reader's language: reminder delays (`1 sem 1 j 1 h`, `wiki 1 siku 1 saa
1`), pillar names, and the few keywords of `/settings`. Every language's words are accepted
everywhere (English included: people mix them, and a French word typed in a Lingala conversation
must still work); each reader is shown the words of their own language.

Swahili and Lingala put the unit before the number (`siku 3`, `mikolo 3`), the others after it
(`3 j`, `3d`); both orders are read.
"""

from __future__ import annotations

import re
import unicodedata

from storage.models import Pillar

MINUTE, HOUR, DAY, WEEK = 1, 60, 60 * 24, 60 * 24 * 7

# unit -> words for it, per language; the first word of a language is the one shown.
UNIT_WORDS: dict[str, dict[int, tuple[str, ...]]] = {
    "en": {WEEK: ("w", "wk", "week", "weeks"), DAY: ("d", "day", "days"),
           HOUR: ("h", "hr", "hrs", "hour", "hours"),
           MINUTE: ("m", "min", "mins", "minute", "minutes")},
    "fr": {WEEK: ("sem", "semaine", "semaines"), DAY: ("j", "jr", "jour", "jours"),
           HOUR: ("h", "heure", "heures"), MINUTE: ("min", "minute", "minutes", "mn")},
    "sw": {WEEK: ("wiki",), DAY: ("siku",), HOUR: ("saa",), MINUTE: ("dakika", "dk")},
    "es": {WEEK: ("sem", "semana", "semanas"), DAY: ("d", "día", "días", "dia", "dias"),
           HOUR: ("h", "hora", "horas"), MINUTE: ("min", "minuto", "minutos")},
    "ln": {WEEK: ("poso", "pɔsɔ", "mposo"), DAY: ("mokolo", "mikolo"),
           HOUR: ("ngonga", "ngɔnga"), MINUTE: ("miniti",)},
}
UNIT_BEFORE_NUMBER = {"sw", "ln"}
PLURAL_UNITS = {("ln", DAY): "mikolo"}

# "off" for /settings reminders and /settings quorum.
OFF_WORDS = {
    "en": ("off", "none"), "fr": ("non", "aucun", "désactiver"), "sw": ("zima", "hapana"),
    "es": ("no", "ninguno", "desactivar"), "ln": ("te", "tika"),
}
# The topics of /settings.
TOPIC_WORDS = {
    "reminders": {"en": ("reminders",), "fr": ("rappels",), "sw": ("vikumbusho",),
                  "es": ("recordatorios",), "ln": ("bikundoli",)},
    "quorum": {"en": ("quorum",), "fr": ("quorum",), "sw": ("akidi",), "es": ("quórum", "quorum"),
               "ln": ("quorum",)},
}

# Pillar names as one word each (a multi-word name joined with "_"), per language; the first
# word of a language is the one shown in examples and in "Use: ..." lists.
PILLAR_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    Pillar.COMPANY: {"en": ("company", "companies"), "fr": ("entreprise", "société"),
                     "sw": ("kampuni",), "es": ("empresa",), "ln": ("kompani", "entreprise")},
    Pillar.HOST_GOVERNMENT: {
        "en": ("host_government", "government"), "fr": ("gouvernement", "état", "etat"),
        "sw": ("serikali",), "es": ("gobierno",), "ln": ("leta", "guvernema")},
    Pillar.PUBLIC_SECURITY: {
        "en": ("public_security", "police", "army"),
        "fr": ("sécurité_publique", "securite_publique", "police", "armée", "fardc"),
        "sw": ("usalama_wa_umma", "polisi", "jeshi"), "es": ("seguridad_pública", "policía"),
        "ln": ("bokengeli_ya_leta", "polisi", "basoda")},
    Pillar.PRIVATE_SECURITY: {
        "en": ("private_security", "guards"),
        "fr": ("sécurité_privée", "securite_privee", "gardiennage"),
        "sw": ("ulinzi_binafsi", "walinzi"), "es": ("seguridad_privada",),
        "ln": ("bakengeli", "bokengeli_ya_sekele")},
    Pillar.CIVIL_SOCIETY: {
        "en": ("civil_society", "ngo"), "fr": ("société_civile", "societe_civile", "ong"),
        "sw": ("asasi_za_kiraia", "kiraia", "azaki"), "es": ("sociedad_civil", "ong"),
        "ln": ("société_civile", "sosiete_sivile")},
    Pillar.COMMUNITY: {"en": ("community", "communities"), "fr": ("communauté", "communaute"),
                       "sw": ("jamii",), "es": ("comunidad",), "ln": ("bato_ya_mboka", "mboka")},
    Pillar.HOME_GOVERNMENT: {"en": ("home_government", "embassy"), "fr": ("ambassade",),
                             "sw": ("ubalozi",), "es": ("embajada",), "ln": ("ambasade",)},
    Pillar.INTERNATIONAL_ORGANISATION: {
        "en": ("international_organisation", "international_organization", "un"),
        "fr": ("organisation_internationale", "onu"), "sw": ("shirika_la_kimataifa",),
        "es": ("organización_internacional", "onu"), "ln": ("ebongiseli_ya_mokili", "onu")},
    Pillar.OTHER: {"en": ("other",), "fr": ("autre",), "sw": ("nyingine",), "es": ("otro",),
                   "ln": ("mosusu",)},
}

MAX_OFFSETS = 5
MAX_OFFSET_MINUTES = 60 * 24 * 60
_TOKEN_RE = re.compile(r"\d+|[^\W\d_]+")


def _fold(word: str) -> str:
    """Lower case without accents: `Sécurité_Privée` and `securite_privee` are one word."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _index(table: dict) -> dict[str, object]:
    return {_fold(word): key for key, by_lang in table.items()
            for words in by_lang.values() for word in words}


_UNITS = {_fold(word): size for by_unit in UNIT_WORDS.values()
          for size, words in by_unit.items() for word in words}
_PILLARS = _index(PILLAR_WORDS)
_TOPICS = _index(TOPIC_WORDS)
_OFF = {_fold(word) for words in OFF_WORDS.values() for word in words}


class OffsetWordsError(ValueError):
    """`code` is "offsets_empty", "offsets_many" (param `max`), "offset_bad" or
    "offset_range" (param `value`: the words as typed)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _lang(locale: str) -> str:
    return locale if locale in UNIT_WORDS else "en"


def parse_offsets(text: str) -> list[int]:
    """Reminder delays in any language's words, as minutes before the start, largest first:
    `3d 1d 2h`, `3j 2h`, `1 sem, 1 j, 1 h`, `wiki 1 siku 1 saa 1`, `mikolo 2 ngonga 3`."""
    found = list(_TOKEN_RE.finditer(text.lower()))
    tokens = [m.group() for m in found]
    if not tokens:
        raise OffsetWordsError("offsets_empty")

    def typed(i: int, j: int) -> str:  # the words as the person typed them, for refusals
        return text[found[i].start():found[min(j, len(found) - 1)].end()][:40]

    pairs: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        first, second = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
        if first.isdecimal() and _fold(second) in _UNITS:
            number, unit = first, second
        elif _fold(first) in _UNITS and second.isdecimal():
            unit, number = first, second
        else:
            raise OffsetWordsError("offset_bad", value=typed(i, i + 1 if first.isdecimal()
                                                             and second else i))
        if len(number) > 4:
            raise OffsetWordsError("offset_range", value=typed(i, i + 1))
        pairs.append((int(number), _UNITS[_fold(unit)], typed(i, i + 1)))
        i += 2
    if len(pairs) > MAX_OFFSETS:
        raise OffsetWordsError("offsets_many", max=MAX_OFFSETS)
    minutes = set()
    for number, size, typed in pairs:
        value = number * size
        if not 0 < value <= MAX_OFFSET_MINUTES:
            raise OffsetWordsError("offset_range", value=typed)
        minutes.add(value)
    return sorted(minutes, reverse=True)


def format_offset(minutes: int, locale: str = "en") -> str:
    """One delay in the reader's words: en `3d`, fr `3 j`, sw `siku 3`, ln `mikolo 3`."""
    lang = _lang(locale)
    for size in (WEEK, DAY, HOUR):
        if minutes % size == 0:
            number = minutes // size
            break
    else:
        number, size = minutes, MINUTE
    unit = UNIT_WORDS[lang][size][0]
    if number != 1:
        unit = PLURAL_UNITS.get((lang, size), unit)
    if lang == "en":
        return f"{number}{unit}"
    return f"{unit} {number}" if lang in UNIT_BEFORE_NUMBER else f"{number} {unit}"


def format_offsets(offsets: list[int], locale: str = "en") -> str:
    separator = " " if _lang(locale) == "en" else ", "
    return separator.join(format_offset(m, locale) for m in offsets)


def is_off(word: str) -> bool:
    return _fold(word) in _OFF


def off_word(locale: str) -> str:
    return OFF_WORDS.get(locale, OFF_WORDS["en"])[0]


def topic(word: str) -> str | None:
    """The /settings topic ("reminders", "quorum") a word names in any language."""
    found = _TOPICS.get(_fold(word))
    return str(found) if found is not None else None


def topic_word(name: str, locale: str) -> str:
    return TOPIC_WORDS[name].get(locale, TOPIC_WORDS[name]["en"])[0]


def pillar_code(word: str) -> str:
    """The pillar a word names in any language (`entreprise`, `jamii`, `civil_society`); an
    unknown word is returned as it was typed, for the refusal to quote it."""
    found = _PILLARS.get(_fold(word))
    return str(found.value if isinstance(found, Pillar) else found) if found else word


def pillar_word(pillar: str, locale: str) -> str:
    """A pillar as one word in the reader's language (what they can type back)."""
    words = PILLAR_WORDS.get(Pillar(pillar), {}) if pillar in set(Pillar) else {}
    return words.get(locale, words.get("en", (pillar,)))[0] if words else pillar


def pillar_words(locale: str) -> str:
    """Every pillar, as words the reader can type, for "Use: ..." answers."""
    return ", ".join(pillar_word(p.value, locale) for p in Pillar)
