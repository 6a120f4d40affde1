"""General vocabularies: is a word of a question a real word, or a typo?

The search corrects only words that no dictionary knows. The catalogue's own words are one
dictionary; this module adds the common words of English, French and Spanish (from the
`wordfreq` package's word lists, folded like the index: lower case, no accents), so that a real
word the catalogue lacks ("fired", "gate") is never rewritten into a catalogue word ("file",
"date"). No such list is packaged for Swahili or Lingala: for them the search corrects a word
only when it is long and the edit small (see `bot.practices.search`).

The lists are read once per process, on first use (about a second); `warm()` does it ahead.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

GENERAL_LANGUAGES = ("en", "fr", "es")
WORDS_PER_LANGUAGE = 60_000


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def general_words() -> frozenset[str]:
    """The common words of English, French and Spanish, folded."""
    import wordfreq  # imported when first needed: 0.2-0.3 s

    words: set[str] = set()
    for lang in GENERAL_LANGUAGES:
        words.update(_fold(word) for word in wordfreq.top_n_list(lang, WORDS_PER_LANGUAGE)
                     if word.isalpha())
    # wordfreq keeps every list it read (about 60 MB for these three): only the set is needed
    for cached in (wordfreq.top_n_list, wordfreq.get_frequency_dict, wordfreq.get_frequency_list):
        cached.cache_clear()
    return frozenset(words)


def is_word(word: str) -> bool:
    """Whether a folded word is a common word of a language with a general vocabulary."""
    return word in general_words()


def warm() -> None:
    """Read the word lists now rather than at the first question."""
    general_words()
