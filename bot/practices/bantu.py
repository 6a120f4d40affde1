"""A light stemmer for Swahili and Lingala: class and verb prefixes off, a verb ending off.

Both languages build words by prefixes: noun classes (Swahili m-/wa-, ki-/vi-, ma-; Lingala
mo-/ba-, li-/ma-, e-/bi-) and verbs carrying subject, tense and object markers before the root
(Swahili "wa-na-wa-piga", they are beating them; Lingala "ba-bet-aki", they beat). Without
stemming "wanawapiga" matches nothing and "walinzi" misses "mlinzi". The stemmer removes up to
three such prefixes while a root of at least four letters remains, then a verb ending
(Lingala -aki, -aka; Swahili passive -wa, agent -aji) and a verb's final vowel. It is not a
morphological analyser: it only needs to cut the question's words and the catalogue's words the
same way. Prefixes that would merge two common words are left out ("kw-": "kwanza", first, must
stay apart from "kuanza", to begin).

Lingala ko- is cut only from what can be an infinitive or a future form: a word ending in the
verb's final -a (or "kende", to go) whose rest begins as a Lingala syllable (a vowel, or a
consonant, a prenasal cluster such as nd- or mb-, maybe w/y, then a vowel). Loanword nouns that
begin with ko- keep it: "kompanyi" (company) must not become "mpanyi", nor "kontra", "komite",
"konferanse", "kolonel". A few loanwords ending in -a that look like verbs are listed by name.
"""

from __future__ import annotations

import re

MIN_ROOT = 4  # letters that must remain after a prefix is removed
MAX_PREFIXES = 3

_PREFIXES: dict[str, tuple[str, ...]] = {
    # subject and negative markers, tenses, objects, noun classes; longest tried first
    "sw": ("hatu", "hawa", "hamu", "nge", "ja", "wa", "mw", "ni", "tu", "na", "li", "ta", "me",
           "ka", "ki", "vi", "zi", "ku", "ya", "ha", "hu", "ji", "ma", "mi", "si", "m", "u", "a",
           "i"),
    # no nasal n-/m-: French words in Lingala text ("bonjour", "mise a jour") must stay whole
    "ln": ("ko", "ba", "bo", "mo", "mi", "ma", "li", "bi", "lo", "to", "na", "ya", "e", "o", "a"),
}
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "sw": ("aji", "wa"),
    "ln": ("akaki", "aki", "aka", "ami", "ama"),
}
# The final vowel cut: Swahili verbs end in -a (-e when subjunctive), nouns made from them in -o
# ("maandamano", "waandamanaji"); nouns in -i keep it ("kamati", committee, is not "kamata", to
# arrest). Lingala verbs also end in -i ("babeti").
_FINAL_VOWELS = {"sw": frozenset("aeo"), "ln": frozenset("aeiou")}

# Lingala: what may follow the ko- of an infinitive ("ko-beta", "ko-ndima", "ko-zwa", "ko-yoka")
_LN_VERB_ONSET = re.compile(
    r"(?:[aeiou]|(?:mb|mp|nd|ng|nk|ns|nt|nz|ny|[b-df-hj-np-tv-z])[wy]?[aeiou])")
_LN_E_VERBS = frozenset({"kende"})  # roots whose infinitive ends in -e
_LN_KO_NOUNS = frozenset({"komanda", "kompania", "kompyuta"})  # loanwords that look like verbs


def _lingala_ko_verb(word: str) -> bool:
    """Whether the ko- that begins the word can be the infinitive or future marker."""
    rest = word[2:]
    if word in _LN_KO_NOUNS or not _LN_VERB_ONSET.match(rest):
        return False
    return word.endswith("a") or rest in _LN_E_VERBS


class BantuStemmer:
    """`stemWord` like a Snowball stemmer, for "sw" or "ln"."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.prefixes = tuple(sorted(_PREFIXES[lang], key=len, reverse=True))
        self.suffixes = _SUFFIXES[lang]
        self.final_vowels = _FINAL_VOWELS[lang]

    def stemWord(self, word: str) -> str:  # noqa: N802 - the snowballstemmer interface
        if not word.isalpha():
            return word
        for _ in range(MAX_PREFIXES):
            prefix = next((p for p in self.prefixes
                           if word.startswith(p) and len(word) - len(p) >= MIN_ROOT
                           and self._may_cut(p, word)), None)
            if prefix is None:
                break
            word = word[len(prefix):]
        for suffix in self.suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[:-len(suffix)]
                break
        if len(word) > 3 and word[-1] in self.final_vowels:
            word = word[:-1]
        return word

    def _may_cut(self, prefix: str, word: str) -> bool:
        return not (self.lang == "ln" and prefix == "ko") or _lingala_ko_verb(word)


def stemmer(lang: str) -> BantuStemmer | None:
    """The stemmer of a Bantu language of the catalogue, or None."""
    return BantuStemmer(lang) if lang in _PREFIXES else None
