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

import contextlib
import importlib.metadata
import os
import unicodedata
from functools import lru_cache
from pathlib import Path

GENERAL_LANGUAGES = ("en", "fr", "es")
WORDS_PER_LANGUAGE = 60_000


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def general_words() -> frozenset[str]:
    """The common words of English, French and Spanish, folded."""
    return _kept_words if _kept_words is not None else _build_words()


_kept_words: frozenset[str] | None = None


def _build_words() -> frozenset[str]:
    import wordfreq  # imported when first needed: 0.2-0.3 s

    words: set[str] = set()
    for lang in GENERAL_LANGUAGES:
        words.update(_fold(word) for word in wordfreq.top_n_list(lang, WORDS_PER_LANGUAGE)
                     if word.isalpha())
    # wordfreq keeps every list it read (about 60 MB for these three): only the set is needed
    for cached in (wordfreq.top_n_list, wordfreq.get_frequency_dict, wordfreq.get_frequency_list):
        cached.cache_clear()
    return frozenset(words)


def _cache_file(cache_dir: Path) -> Path:
    version = importlib.metadata.version("wordfreq")
    languages = "-".join(GENERAL_LANGUAGES)
    return cache_dir / f"general-words-{version}-{languages}-{WORDS_PER_LANGUAGE}.txt"


def _load_or_build(cache_dir: Path) -> frozenset[str]:
    """The word set saved under `cache_dir`, else built (about a second, and reading
    wordfreq's lists leaves some 40 MB more resident) and saved there."""
    path = _cache_file(cache_dir)
    try:
        return frozenset(path.read_text(encoding="utf-8").split("\n"))
    except OSError:
        pass
    words = _build_words()
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text("\n".join(sorted(words)), encoding="utf-8")
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
    return words


def is_word(word: str) -> bool:
    """Whether a folded word is a common word of a language with a general vocabulary."""
    return word in general_words()


def warm(cache_dir: Path | None = None) -> None:
    """Read the word lists now rather than at the first question; with `cache_dir`, from the
    word set saved there (saved first if need be)."""
    global _kept_words
    if cache_dir is not None and general_words.cache_info().currsize == 0:
        _kept_words = _load_or_build(cache_dir)
    general_words()
