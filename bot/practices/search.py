"""Search of the practice catalogue: BM25 per language, stemming, typo tolerance.

One BM25 index per language is built over the catalogue's texts in that language (titles,
summaries, practice headings, notes and points, case studies, example questions, keywords),
plus one over the practice groups, to pick the groups that best match within an entry. A query
is analysed with each language's analyzer: accent folding, lower case, stop words, Snowball
stemming for English, French and Spanish (Swahili and Lingala are only normalised). A word
that no language knows and that is no stop word is mapped onto the closest word of each
language's vocabulary (Damerau-Levenshtein, restricted edit distance), at a lower weight.
The user's language scores in full; the best other language adds a fraction of its score,
so a question asked in another language, or in mixed languages, still finds its answer.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import snowballstemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH, STOPWORDS_SPANISH
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.practices.catalogue import (
    BASE_LANGUAGE,
    LANGUAGES,
    Catalogue,
    Entry,
    PracticeGroup,
    default_catalogue,
    localize,
    normalize_language,
)

logging.getLogger("bm25s").setLevel(logging.WARNING)

SNOWBALL = {"en": "english", "fr": "french", "es": "spanish"}

# Question words and fillers that the generic stop word lists keep.
_EXTRA_STOPWORDS: dict[str, str] = {
    "en": "what how why who whom which when where should would could can do does did we our us "
          "you your i me my now any some about there here has have had been being get got so "
          "also them its it's just very must need may might let one",
    "fr": "faire quoi comment pourquoi quand où doit doivent devons devrait faut peut peuvent "
          "pouvons notre nos votre vos cela ça ceci tout tous toute toutes très aussi alors "
          "donc si sans sous chez fait font plus comme être avoir quel quelle quels quelles "
          "lequel laquelle ici maintenant dit dire pres aupres rien chose",
    "es": "hacer qué cómo por porqué cuándo dónde quién debe deben debemos debería podemos puede "
          "pueden nuestro nuestra nuestros nuestras hay ser estar muy también ahora si sin "
          "cual cuál cuales",
}

_SWAHILI_STOPWORDS = (
    "na ya wa za la kwa ni katika kuhusu au lakini hii hizi huu hiyo huo ile hilo yake zake "
    "wake wao sisi yetu zetu wetu letu langu yangu nini gani je kama pia tu sana hata hadi "
    "tena vipi jinsi nani nini kwamba ili bila ambao ambayo ambaye ambazo tufanye ifanye "
    "afanye wafanye tunawezaje tunaweza inaweza wanaweza sasa hapa pale kila zaidi "
    "tuwaalike tuzungumze"
)
_LINGALA_STOPWORDS = (
    "na ya mpe to ete oyo ezali nini ndenge soki mpo te ye bango biso yango kaka lokola "
    "tosala esala asala bosala tosengeli esengeli nde moko wapi tango sikoyo awa kuna "
    "boni nani ba bazali tozali ozali azali"
)

# Each field feeds one of two indexes per language: "core" (what the entry is about) and
# "body" (the full text); the number is how many times its words count in that index.
FIELDS: dict[str, tuple[str, int]] = {
    "title": ("core", 2), "keyword": ("core", 1), "question": ("core", 1), "heading": ("core", 1),
    "summary": ("body", 1), "note": ("body", 1), "point": ("body", 1), "case": ("body", 1),
}
INDEX_WEIGHTS: dict[str, float] = {"core": 1.0, "body": 0.3}
FALLBACK_WEIGHT = 0.5
FUZZY_WEIGHT = 0.8
MIN_FUZZY_LENGTH = 4
CACHE_LIMIT = 50_000  # words remembered per language (stems, typo corrections)
_FOLD_TABLE = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ø": "o", "ł": "l"})


def fold(text: str) -> str:
    """Lower case without accents: 'Sécurité' -> 'securite'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD_TABLE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_WORD_RE = re.compile(r"[^\W_]+")


@lru_cache(maxsize=CACHE_LIMIT)
def _fold_word(word: str) -> str:
    return fold(word)


def _split(text: str) -> list[str]:
    """Folded words: runs of letters and digits.

    Words are cut first and folded one by one through a cache: a catalogue repeats its words
    many times, and folding character by character is what building the index spends most on.
    """
    return [_fold_word(word) for word in _WORD_RE.findall(unicodedata.normalize("NFC", text))]


def _stopwords(lang: str) -> frozenset[str]:
    base: Iterable[str] = {
        "en": STOPWORDS_EN, "fr": STOPWORDS_FRENCH, "es": STOPWORDS_SPANISH,
        "sw": _SWAHILI_STOPWORDS.split(), "ln": _LINGALA_STOPWORDS.split(),
    }[lang]
    extra = _EXTRA_STOPWORDS.get(lang, "").split()
    return frozenset(fold(word) for word in (*base, *extra))


class Analyzer:
    """Turns text of one language into index terms (folded, stop words out, stemmed)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.stopwords = _stopwords(lang)
        self._stemmer = snowballstemmer.stemmer(SNOWBALL[lang]) if lang in SNOWBALL else None
        self._stems: dict[str, str] = {}

    def words(self, text: str) -> list[str]:
        """Folded words of the text that are not stop words (one-letter words dropped)."""
        return self.keep(_split(text))

    def keep(self, words: Iterable[str]) -> list[str]:
        return [w for w in words if len(w) > 1 and w not in self.stopwords]

    def stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stemmer.stemWord(word) if self._stemmer else word
            if len(self._stems) >= CACHE_LIMIT:
                self._stems.clear()
            self._stems[word] = stem
        return stem

    def terms(self, text: str) -> list[str]:
        return [self.stem(word) for word in self.words(text)]


@dataclass(frozen=True)
class PracticeHit:
    """A practice group of a result: its position in the entry and its heading."""

    index: int
    heading: str
    lang: str
    fallback: bool
    score: float


@dataclass(frozen=True)
class SearchResult:
    """A matching entry, its title in the user's language (or English) and its best groups."""

    id: str
    title: str
    lang: str
    fallback: bool
    score: float
    has_practices: bool
    practices: tuple[PracticeHit, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `wgbot practices search --json`."""
        return {
            "id": self.id,
            "title": self.title,
            "score": round(self.score, 4),
            "practices": [
                {"index": hit.index, "heading": hit.heading, "score": round(hit.score, 4)}
                for hit in self.practices
            ],
        }


def _entry_texts(entry: Entry, lang: str) -> Iterator[tuple[str, str]]:
    """(field kind, text) pairs of the entry written in `lang` (no fallback)."""
    for kind, text in (("title", entry.title), ("summary", entry.summary)):
        if lang in text:
            yield kind, text[lang]
    for group in entry.practices:
        yield from _group_texts(group, lang)
    if entry.case_study:
        for text in (entry.case_study.title, entry.case_study.text):
            if lang in text:
                yield "case", text[lang]
    yield from (("question", q) for q in entry.questions.get(lang, []))
    yield from (("keyword", k) for k in entry.keywords.get(lang, []))


def _group_texts(group: PracticeGroup, lang: str) -> Iterator[tuple[str, str]]:
    if lang in group.heading:
        yield "heading", group.heading[lang]
    if group.note and lang in group.note:
        yield "note", group.note[lang]
    yield from (("keyword", k) for k in group.keywords.get(lang, []))
    yield from (("point", p.text[lang]) for p in group.points if lang in p.text)


def _document(texts: Iterable[tuple[str, str]], analyzer: Analyzer, surface: dict[str, str],
              index: str | None = None) -> list[str]:
    """Tokens of the texts that feed `index` ("core" or "body"; all texts once if None)."""
    tokens: list[str] = []
    for kind, text in texts:
        target, repeat = FIELDS[kind]
        if index is not None and target != index:
            continue
        words = analyzer.words(text)
        for word in words:
            surface.setdefault(word, analyzer.stem(word))
        tokens.extend([analyzer.stem(w) for w in words] * (repeat if index else 1))
    return tokens


class _Bm25:
    """A bm25s index over token lists, scored one weighted term at a time."""

    def __init__(self, documents: list[list[str]]) -> None:
        self.size = len(documents)
        self.model: bm25s.BM25 | None = None
        if any(documents):
            self.model = bm25s.BM25()
            self.model.index(documents, show_progress=False)

    def knows(self, term: str) -> bool:
        return self.model is not None and bool(term) and term in self.model.vocab_dict

    def scores(self, weighted_terms: Mapping[str, float]) -> np.ndarray:
        total = np.zeros(self.size, dtype=np.float32)
        if self.model is None:
            return total
        vocab = self.model.vocab_dict
        for term, weight in weighted_terms.items():
            if term in vocab:
                total += weight * self.model.get_scores_from_ids([vocab[term]])
        return total


@dataclass
class _LanguageIndex:
    analyzer: Analyzer
    entries: dict[str, _Bm25]
    groups: _Bm25
    surface: dict[str, str]
    surface_words: list[str] = field(default_factory=list)
    _fuzzy: dict[str, tuple[str, float] | None] = field(default_factory=dict)

    def knows(self, word: str) -> bool:
        stem = self.analyzer.stem(word)
        return word in self.surface or any(i.knows(stem) for i in self.entries.values())

    def entry_scores(self, terms: Mapping[str, float]) -> np.ndarray:
        parts = [INDEX_WEIGHTS[name] * index.scores(terms) for name, index in self.entries.items()]
        return np.sum(parts, axis=0)

    def group_scores(self, terms: Mapping[str, float]) -> np.ndarray:
        return self.groups.scores(terms)

    def closest(self, word: str) -> tuple[str, float] | None:
        """The vocabulary stem nearest to a misspelt word, and a weight for it."""
        if word not in self._fuzzy:
            if len(self._fuzzy) >= CACHE_LIMIT:
                self._fuzzy.clear()
            self._fuzzy[word] = self._nearest(word)
        return self._fuzzy[word]

    def _nearest(self, word: str) -> tuple[str, float] | None:
        limit = 1 if len(word) <= 5 else 2
        found = process.extract(word, self.surface_words, scorer=OSA.distance,
                                score_cutoff=limit, limit=8)
        if not found:
            return None
        best = min(distance for _, distance, _ in found)
        candidates = sorted(w for w, distance, _ in found if distance == best)
        return self.surface[candidates[0]], FUZZY_WEIGHT * (1 - best / (len(word) + 1))


def _add(weights: dict[str, float], stem: str, weight: float) -> None:
    weights[stem] = max(weights.get(stem, 0.0), weight)


class PracticeIndex:
    """The search index over a catalogue: build it once at start (well under a second), reuse it."""

    def __init__(self, catalogue: Catalogue, *, fallback_weight: float = FALLBACK_WEIGHT) -> None:
        self.catalogue = catalogue
        self.fallback_weight = fallback_weight
        self._entries: list[Entry] = list(catalogue)
        self._group_keys = [(e.id, i) for e in self._entries for i in range(len(e.practices))]
        self._group_rows: dict[str, list[int]] = {}
        for row, (entry_id, _) in enumerate(self._group_keys):
            self._group_rows.setdefault(entry_id, []).append(row)
        self._languages = {lang: self._build_language(lang) for lang in LANGUAGES}
        self._all_stopwords = frozenset().union(*(i.analyzer.stopwords
                                                  for i in self._languages.values()))

    def _build_language(self, lang: str) -> _LanguageIndex:
        analyzer: Analyzer = Analyzer(lang)
        surface: dict[str, str] = {}
        entries = {
            name: _Bm25([_document(_entry_texts(e, lang), analyzer, surface, name)
                         for e in self._entries])
            for name in INDEX_WEIGHTS
        }
        groups = _Bm25([
            _document(_group_texts(self.catalogue[eid].practices[i], lang), analyzer, surface)
            for eid, i in self._group_keys
        ])
        index = _LanguageIndex(analyzer, entries, groups, surface)
        index.surface_words = sorted(surface)
        return index

    def analyze(self, query: str, lang: str) -> list[str]:
        """The index terms of a query in one language's analyzer (for inspection)."""
        analyzer = self._languages[self._language(lang)].analyzer
        return analyzer.terms(query)

    def search(self, query: str, lang: str = BASE_LANGUAGE, *, limit: int = 5,
               max_practices: int = 3, min_score: float = 0.0) -> list[SearchResult]:
        """Entries best matching the question, best first, each with its best practice groups.

        `lang` is the user's language: its texts score in full and the titles and headings are
        returned in it when translated (else in English, with `fallback` set). Each result lists
        up to `max_practices` groups that match the question, best first; when none matches,
        the entry's first groups, with score 0.
        """
        lang = self._language(lang)
        terms = self._terms(query)
        scores = self._combine(terms, lang, _LanguageIndex.entry_scores)
        order = sorted(range(len(self._entries)), key=lambda row: (-scores[row], row))
        group_scores = self._combine(terms, lang, _LanguageIndex.group_scores)
        results = []
        for row in order[:max(limit, 0)]:
            if scores[row] <= min_score:
                break
            results.append(self._result(self._entries[row], float(scores[row]), lang,
                                        group_scores, max_practices))
        return results

    @staticmethod
    def _language(lang: str) -> str:
        return normalize_language(lang) or BASE_LANGUAGE

    def _terms(self, query: str) -> dict[str, dict[str, float]]:
        """Weighted stems of the query for each language, misspellings mapped to the vocabulary."""
        split = _split(query)
        words_by_lang = {lang: idx.analyzer.keep(split) for lang, idx in self._languages.items()}
        unknown = {w for words in words_by_lang.values() for w in words
                   if self._is_typo_candidate(w)}
        terms: dict[str, dict[str, float]] = {}
        for lang, index in self._languages.items():
            terms[lang] = {}
            for word in words_by_lang[lang]:
                stem, weight = self._resolve(index, word, word in unknown)
                if stem is not None:
                    _add(terms[lang], stem, weight)
        return terms

    def _is_typo_candidate(self, word: str) -> bool:
        return (len(word) >= MIN_FUZZY_LENGTH and not word.isdigit()
                and word not in self._all_stopwords
                and not any(idx.knows(word) for idx in self._languages.values()))

    @staticmethod
    def _resolve(index: _LanguageIndex, word: str, typo: bool) -> tuple[str | None, float]:
        if not typo:
            return index.analyzer.stem(word), 1.0
        nearest = index.closest(word)
        return nearest if nearest else (None, 0.0)

    def _combine(self, terms: Mapping[str, Mapping[str, float]], lang: str,
                 scorer: Callable[[_LanguageIndex, Mapping[str, float]], np.ndarray]
                 ) -> np.ndarray:
        own = scorer(self._languages[lang], terms[lang])
        others = [scorer(self._languages[code], terms[code]) for code in LANGUAGES if code != lang]
        return own + self.fallback_weight * np.max(others, axis=0) if others else own

    def _result(self, entry: Entry, score: float, lang: str, group_scores: np.ndarray,
                max_practices: int) -> SearchResult:
        title = localize(entry.title, lang)
        return SearchResult(entry.id, title.text, title.lang, title.fallback, score,
                            entry.has_practices, self._hits(entry, lang, group_scores,
                                                            max_practices))

    def _hits(self, entry: Entry, lang: str, group_scores: np.ndarray,
              max_practices: int) -> tuple[PracticeHit, ...]:
        rows = self._group_rows.get(entry.id, [])
        ranked = sorted(rows, key=lambda row: (-group_scores[row], row))
        matched = [row for row in ranked if group_scores[row] > 0][:max_practices]
        chosen = matched or rows[:max_practices]
        hits = []
        for row in chosen:
            index = self._group_keys[row][1]
            heading = localize(entry.practices[index].heading, lang)
            hits.append(PracticeHit(index, heading.text, heading.lang, heading.fallback,
                                    float(group_scores[row])))
        return tuple(hits)


@lru_cache(maxsize=1)
def default_index() -> PracticeIndex:
    """The index over the package catalogue, built on first use and kept."""
    return PracticeIndex(default_catalogue())


def search(query: str, lang: str = BASE_LANGUAGE, *, limit: int = 5) -> list[SearchResult]:
    """Search the package catalogue (see PracticeIndex.search)."""
    return default_index().search(query, lang, limit=limit)


@dataclass(frozen=True)
class EvalCase:
    """One evaluation question: the text, its language and the acceptable entry ids."""

    q: str
    lang: str
    expect: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True)
class EvalMiss:
    """A question whose first result was not expected; `rank` is where an expected id came."""

    case: EvalCase
    got: tuple[str, ...]
    rank: int | None


@dataclass(frozen=True)
class EvalReport:
    total: int
    top1: int
    top3: int
    misses: tuple[EvalMiss, ...]

    @property
    def top1_accuracy(self) -> float:
        return self.top1 / self.total if self.total else 0.0

    @property
    def top3_accuracy(self) -> float:
        return self.top3 / self.total if self.total else 0.0


def _parse_case(raw: str, line: int, default_lang: str) -> EvalCase:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {line}: invalid JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("q"), str) or not data["q"].strip():
        raise ValueError(f'line {line}: expected an object with a non-empty "q"')
    expect = data.get("expect")
    if isinstance(expect, str):
        expect = [expect]
    if not isinstance(expect, list) or not expect or not all(isinstance(e, str) for e in expect):
        raise ValueError(f'line {line}: "expect" must be a non-empty list of entry ids')
    lang = normalize_language(data.get("lang") or default_lang)
    if lang is None:
        raise ValueError(f"line {line}: unsupported language {data.get('lang')!r}")
    return EvalCase(data["q"], lang, tuple(expect), line)


def read_eval_cases(lines: Iterable[str], default_lang: str = BASE_LANGUAGE) -> list[EvalCase]:
    """Parse JSON Lines of {"q", "lang", "expect"}; blank lines and '#' comments are skipped."""
    return [_parse_case(raw, number, default_lang)
            for number, raw in enumerate(lines, start=1)
            if raw.strip() and not raw.lstrip().startswith("#")]


def load_eval_cases(path: Path | str, default_lang: str = BASE_LANGUAGE) -> list[EvalCase]:
    with Path(path).open(encoding="utf-8") as handle:
        return read_eval_cases(handle, default_lang)


def evaluate(index: PracticeIndex, cases: Sequence[EvalCase]) -> EvalReport:
    """Top-1 and top-3 accuracy of the index on the cases, with every top-1 miss."""
    top1 = top3 = 0
    misses = []
    for case in cases:
        got = tuple(result.id for result in index.search(case.q, case.lang, limit=3))
        rank = next((i + 1 for i, entry_id in enumerate(got) if entry_id in case.expect), None)
        top1 += rank == 1
        top3 += rank is not None
        if rank != 1:
            misses.append(EvalMiss(case, got, rank))
    return EvalReport(len(cases), top1, top3, tuple(misses))
