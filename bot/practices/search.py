"""Search of the practice catalogue: BM25 per language, stemming, typo tolerance.

One BM25 index per language is built over the catalogue's texts in that language (titles,
summaries, practice headings, notes and points, case studies, example questions, keywords),
plus one over the practice groups, to pick the groups that best match within an entry. An
entry's short fields (its title, each example question, each practice heading, its keywords)
are also indexed each as a small document of their own: an entry scores, besides its whole
text, its best short field, weighted by the share of that field's words the question holds. A
question that reads like one of an entry's example questions, or names its keywords, finds it
however long the other entries are. A query is analysed with each language's analyzer: accent
folding, lower case, stop words, Snowball stemming for English, French and Spanish (Swahili and
Lingala by the prefix stemmer of `bot.practices.bantu`). Only a word that no dictionary knows
(the catalogue's words in every language, the general vocabularies of `bot.practices.lexicon`,
stop words) is taken for a typo and mapped onto the closest word of each language's catalogue
vocabulary (restricted Damerau-Levenshtein, a small distance for its length), at a lower
weight; a real word the catalogue lacks ("policeman") may still match a catalogue stem it
begins with ("polic"). The user's language scores in full; the best other language adds a
fraction of its score, so a question asked in another language, or in mixed languages, still
finds its answer.

Whether a question is answered at all is decided by one function, `confident`, from a
logistic model of four features of the best entry: in the language that explains the question
best, the share of the question's words it holds, its score per unit of the question's
informative mass (idf), and the logarithm of the idf it holds; and the largest share of one of
its short fields that the question holds. Raw BM25 scores grow with the question's length; the
first two features do not, the third grows slowly, and the last does not fall when a question
tells a long story around what it asks.
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import snowballstemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH, STOPWORDS_SPANISH
from pydantic import TypeAdapter
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.practices import bantu, lexicon
from bot.practices.catalogue import (
    BASE_LANGUAGE,
    LANGUAGES,
    Catalogue,
    Entry,
    Localized,
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
          "also them its it's just very must need may might let one want wants wanted know "
          "knows idea dont don't didnt nobody anybody anyone someone somebody please help "
          "thing things really still only never always already even tell say said like well "
          "happen happens happened happening going lot lots "
          # function words missing from the short list of bm25s (Lucene's 33 words)
          "he him his she her hers they them their theirs its from since until while during "
          "above below between through over under again further once than too "
          "all both each few more most other same own nor off out up down other others "
          "am were be been having doing done came come comes think thinks "
          "keep keeps kept last next ago yesterday "
          "today tomorrow guy guys nothing everything something anything "
          "without within around away back just then these those into onto "
          "don doesn doesnt didn isn isnt aren arent wasn weren won wont haven havent hasn "
          "can cannot cant couldn shouldn wouldn ll ve re "
          # typed on phones
          "pls plz pliz ur",
    "fr": "faire quoi comment pourquoi quand où doit doivent devons devrait faut peut peuvent "
          "pouvons notre nos votre vos cela ça ceci tout tous toute toutes très aussi alors "
          "donc si sans sous chez fait font plus comme être avoir quel quelle quels quelles "
          "lequel laquelle ici maintenant dit dire pres aupres rien chose choses veut veulent "
          "voulons veux sais savons savoir personne jamais toujours encore aide aider svp "
          "merci vraiment seulement deja meme passe arrive "
          # typed on phones
          "pk pq qd ds tt stp bcp",
    "es": "hacer qué cómo por porqué cuándo dónde quién debe deben debemos debería podemos puede "
          "pueden nuestro nuestra nuestros nuestras hay ser estar muy también ahora si sin "
          "cual cuál cuales quiere quieren queremos sabemos saber nadie nada nunca siempre "
          "todavía ayuda ayudar favor gracias cosa cosas solo ya mismo decir pasa pasó "
          # typed on phones
          "pa pal xq porq pq",
}

_SWAHILI_STOPWORDS = (
    "na ya wa za la kwa ni katika kuhusu au lakini hii hizi huu hiyo huo ile hilo yake zake "
    "wake wao sisi yetu zetu wetu letu langu yangu nini gani je kama pia tu sana hata hadi "
    "tena vipi jinsi nani nini kwamba ili bila ambao ambayo ambaye ambazo tufanye ifanye "
    "afanye wafanye tunawezaje tunaweza inaweza wanaweza sasa hapa pale kila zaidi "
    "tuwaalike tuzungumze hatujui tunajua sijui tafadhali msaada tusaidie jambo mambo bado "
    "kamwe kweli tunataka nataka wanataka sana je"
)
_LINGALA_STOPWORDS = (
    "na ya mpe to ete oyo ezali nini ndenge soki mpo te ye bango biso yango kaka lokola "
    "tosala esala asala bosala tosengeli esengeli nde moko wapi tango sikoyo awa kuna "
    "boni nani ba bazali tozali ozali azali toyebi nayebi te limbisa kaka naino olingi "
    "tolingi nalingi eloko biloko lelo "
    # "mpo" and "mpo na" as typed on phones; but, so, again, much
    "po pona kasi bongo lisusu mingi"
)

# Each field feeds one of two indexes per language: "core" (what the entry is about) and
# "body" (the full text); the number is how many times its words count in that index.
FIELDS: dict[str, tuple[str, int]] = {
    "title": ("core", 2), "keyword": ("core", 1), "question": ("core", 1), "heading": ("core", 1),
    "summary": ("body", 1), "note": ("body", 1), "point": ("body", 1), "case": ("body", 1),
}
INDEX_WEIGHTS: dict[str, float] = {"core": 1.0, "body": 0.3}
FIELD_DOCS: dict[str, str] = {"title": "each", "question": "each", "keyword": "bag",
                              "group_heading": "each", "group_keyword": "bag"}
FIELD_WEIGHT = 1.0  # of an entry's best short field, next to its whole text
# the fields a question touches are grouped by sorting them while they are fewer than
# 1/SORT_SHARE of all fields (a sort of a few thousand beats passes over 40,000 fields)
SORT_SHARE = 4
FIELD_COVER = 0.5  # a short field's score times (share of its words in the question) ** this
FALLBACK_WEIGHT = 0.5
# A language's second one, whose texts count in full when a question is scored in the first
# (`PracticeIndex._asked_in`; which language a question is in is decided without it): Lingala
# speakers in the DR Congo read and type French (questions in Lingala carry French words: "ba
# policiers", "protocole d'accord", "société"), and the catalogue's Lingala texts hold fewer.
SECOND_LANGUAGE: dict[str, str] = {"ln": "fr"}
SECOND_LANGUAGE_WEIGHT = 1.0
OTHER_LANGUAGE_MARGIN = 1.25  # see PracticeIndex._asked_in
FUZZY_WEIGHT = 0.8
SYNONYM_WEIGHT = 0.5  # a word the question did not use, from a synonym group of its words
PREFIX_WEIGHT = 0.7  # a real word matched through a catalogue stem it begins with
MIN_PREFIX = 5  # letters of such a stem
MIN_FUZZY_LENGTH = 4
# Whether a question is answered: a logistic model over `PracticeIndex._features` (share of the
# question's words held, top score per unit of idf, log of the idf held, best field covered),
# fitted by `bot.practices.evaluation.fit_decision` on the development sets
# (tests/data/practice_dev.jsonl, practice_dev2.jsonl, practice_dev4.jsonl and the out-of-scope
# practice_dev_oos*.jsonl: in-scope questions against out-of-scope ones in every language,
# classes weighted equally); a question is answered from this
# probability on (`confident`): the lowest threshold that declines 90% of those sets'
# out-of-scope questions. Checked, not fitted, on practice_dev3.jsonl, on pairs of
# out-of-scope questions run together (still declined) and on in-scope questions with an
# out-of-scope one run into them (still answered).
DECISION = np.array([1.4064, 2.7658, 1.5439, 1.5682])
DECISION_BIAS = -6.6459
MIN_CONFIDENCE = 0.32
UNKNOWN_SHARE = 1.0  # how much a word the catalogue lacks counts against the confidence
RECENT_QUERIES = 32  # questions whose analysis and scores are kept
POINT_ENTRIES = 2_000  # entries (in one language each) whose points' stems are kept
INDEX_FORMAT = 9  # bump when the pickled index changes shape or the analysers cut words differently
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
        self._stemmer: Any = None
        self._stems: dict[str, str] = {}
        self._open()

    def _open(self) -> None:
        if self.lang in SNOWBALL:
            self._stemmer = snowballstemmer.stemmer(SNOWBALL[self.lang])
        else:
            self._stemmer = bantu.stemmer(self.lang)

    def __getstate__(self) -> dict[str, Any]:
        return {"lang": self.lang, "stopwords": self.stopwords}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.lang, self.stopwords = state["lang"], state["stopwords"]
        self._stemmer, self._stems = None, {}
        self._open()

    def words(self, text: str) -> list[str]:
        """Folded words of the text that are not stop words (one-letter words dropped)."""
        return self.keep(_split(text))

    def keep(self, words: Iterable[str]) -> list[str]:
        stopwords = self.stopwords
        return [w for w in words if len(w) > 1 and w not in stopwords]

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


# a group's number, the stems of its heading and keywords and those of each of its points, each
# with the language it is shown in
_GroupTerms = tuple[int, list[tuple[str, frozenset[str]]], list[tuple[str, frozenset[str]]]]


def _kept(store: dict, key: Any, make: Callable[[], Any], limit: int = RECENT_QUERIES) -> Any:
    """`store[key]`, made by `make()` the first time; `store` keeps the last `limit`."""
    found = store.get(key)
    if found is None:
        if len(store) >= limit:
            store.pop(next(iter(store)))
        found = store[key] = make()
    return found


@dataclass(frozen=True)
class SearchResult:
    """A matching entry, its title in the user's language (or English) and its best groups.

    `confidence` is how likely the best entry answers the question (the decision model's
    probability, see `confident`); it is the same for every result of a question.
    """

    id: str
    title: str
    lang: str
    fallback: bool
    score: float
    has_practices: bool
    practices: tuple[PracticeHit, ...]
    confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `wgbot practices search --json`."""
        return {
            "id": self.id,
            "title": self.title,
            "score": round(self.score, 4),
            "confidence": round(self.confidence, 4),
            "practices": [
                {"index": hit.index, "heading": hit.heading, "score": round(hit.score, 4)}
                for hit in self.practices
            ],
        }


def confident(results: Sequence[SearchResult]) -> bool:
    """Whether the results answer the question: the one rule for /ask and the command line."""
    return bool(results) and results[0].confidence >= MIN_CONFIDENCE


def answerable(results: Sequence[SearchResult]) -> list[SearchResult]:
    """The results if they answer the question (`confident`), else none."""
    return list(results) if confident(results) else []


# Questions about sexual violence, killings or torture: answers lead with the practices about
# the victims' safety, reporting and remedy (groups tagged `victims`). Patterns on folded text.
_SENSITIVE = re.compile(
    r"\b(?:"
    r"rap(?:e|ed|es|ing|ist)|sexual\w*|sexually|kill\w*|murder\w*|tortur\w*|death|dead|died"
    r"|shot dead|execut\w*"
    r"|viol|viols|viole\w*|violee?s?|sexuel\w*|tue|tues|tuee?s?|tuer|meurtr\w*|mort|morts"
    r"|assassin\w*|tortur\w*|deces"
    r"|violaci\w*|violad\w*|violaron|matar\w*|mataron|mato|asesin\w*|muert\w*|tortura\w*"
    r"|\w*bak(?:a|wa|aji)\w*|ubakaji|ngono|\w*uawa|\w*uliwa|mauaji|\w*(?:mu|wa|li|me|na|ku)ua"
    r"|\w*tes(?:a|wa|eka)|mateso|kifo|wamekufa|amekufa|walikufa"
    r"|\w*boma|\w*bomi|\w*bomami|\w*bomaki|liwa|bakufi|akufi|\w*nyokol\w*|minyoko"
    r"|kosangisa\w*|\w*kobebisa"
    r")\b"
)


def is_sensitive(question: str) -> bool:
    """Whether a question is about sexual violence, killings or torture (any language)."""
    return bool(_SENSITIVE.search(fold(question)))


def _entry_texts(entry: Entry, lang: str) -> Iterator[tuple[str, str]]:
    """(field kind, text) pairs of the entry itself written in `lang` (not its groups')."""
    for kind, text in (("title", entry.title), ("summary", entry.summary)):
        if lang in text:
            yield kind, text[lang]
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

    def term_scores(self, term: str) -> np.ndarray | None:
        """The term's BM25 score in every document (bm25s's `get_scores_from_ids` for one term,
        which sums its postings with `np.add.at`: a term's postings name each document once, so
        they are simply written in, several times faster at 2,000 entries)."""
        hit = self.postings(term)
        if hit is None:
            return None
        scores = np.zeros(self.size, dtype=hit[1].dtype)
        scores[hit[0]] = hit[1]
        assert self.model is not None
        if self.model.nonoccurrence_array is not None:  # BM25L and BM25+ only
            scores += self.model.nonoccurrence_array[self.model.vocab_dict[term]]
        return scores

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The documents holding the term and its BM25 score in each (sparse)."""
        if self.model is None:
            return None
        term_id = self.model.vocab_dict.get(term)
        indptr = self.model.scores["indptr"]
        if term_id is None or term_id + 1 >= len(indptr):
            return None
        start, end = indptr[term_id], indptr[term_id + 1]
        return self.model.scores["indices"][start:end], self.model.scores["data"][start:end]

    def scores(self, weighted_terms: Mapping[str, float]) -> np.ndarray:
        total = np.zeros(self.size, dtype=np.float32)
        for term, weight in weighted_terms.items():
            scores = self.term_scores(term)
            if scores is not None:
                total += weight * scores
        return total


@dataclass
class _Postings:
    """The entry indexes' scores weighted (`INDEX_WEIGHTS`) and summed once, at build time: each
    term's entries and its score in each, as one sparse table (compressed columns)."""

    size: int
    vocab: dict[str, int]
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @classmethod
    def summed(cls, indexes: Mapping[str, _Bm25], weights: Mapping[str, float],
               size: int) -> _Postings:
        models = [index.model for index in indexes.values() if index.model is not None]
        # sparse: a variant that scores the documents without the term too (BM25L, BM25+)
        # would not fit
        assert all(model.nonoccurrence_array is None for model in models)
        terms = sorted(set().union(*(model.vocab_dict for model in models)))
        vocab: dict[str, int] = {}
        indptr, indices, data = [0], [], []
        for term in terms:
            hits = [(weights[name], hit) for name, index in indexes.items()
                    if (hit := index.postings(term)) is not None]
            if not hits:
                continue
            total = np.zeros(size, dtype=hits[0][1][1].dtype)
            for weight, (hit_ids, hit_scores) in hits:  # a term names each document once
                total[hit_ids] += weight * hit_scores
            ids = np.unique(np.concatenate([hit_ids for _, (hit_ids, _) in hits]))
            vocab[term] = len(vocab)
            indices.append(ids)
            data.append(total[ids])
            indptr.append(indptr[-1] + len(ids))
        return cls(size, vocab, np.array(indptr, dtype=np.int64),
                   np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
                   np.concatenate(data) if data else np.zeros(0, dtype=np.float32))

    def term_scores(self, term: str) -> np.ndarray | None:
        """The term's weighted score in every entry; None when no entry holds it."""
        column = self.vocab.get(term)
        if column is None:
            return None
        start, end = self.indptr[column], self.indptr[column + 1]
        scores = np.zeros(self.size, dtype=self.data.dtype)
        scores[self.indices[start:end]] = self.data[start:end]
        return scores


@dataclass
class _Query:
    """A question seen through one language: weighted stems and its informative mass (idf)."""

    weights: dict[str, float] = field(default_factory=dict)
    # a question word's stem -> the stems its synonyms add (they count as holding the word)
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)  # of each stem in `weights`
    known: float = 0.0  # idf of the words the catalogue has (or that were corrected to its)
    unknown: float = 0.0  # idf of a rare word, for each word it does not have
    unknown_words: int = 0

    def terms(self) -> list[str]:
        """The question's stems and their synonyms' stems."""
        extra = [other for others in self.synonyms.values() for other in others]
        return list(dict.fromkeys([*self.weights, *extra]))

    def combine(self, term_scores: Mapping[str, np.ndarray], size: int) -> np.ndarray:
        """Each question word's score: its own, or a synonym's at a lower weight if higher
        (a word counts once however many synonyms it has)."""
        total = np.zeros(size, dtype=np.float32)
        for term, weight in self.weights.items():
            scores = term_scores.get(term)
            others = [term_scores[o] for o in self.synonyms.get(term, ()) if o in term_scores]
            if others:
                best = SYNONYM_WEIGHT * np.max(others, axis=0)
                scores = best if scores is None else np.maximum(scores, best)
            if scores is not None:
                total += weight * scores
        return total

    @property
    def mass(self) -> float:
        return self.known + UNKNOWN_SHARE * self.unknown


@dataclass
class _LanguageIndex:
    analyzer: Analyzer
    entries: _Postings
    groups: _Bm25
    surface: dict[str, str]
    idf: dict[str, float]
    unknown_idf: float
    surface_words: list[str] = field(default_factory=list)
    # short fields, each its own small document (see `FIELD_DOCS`), the entry of each (an
    # entry's fields are consecutive) and its number of distinct stems
    fields: _Bm25 | None = None
    field_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    field_sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    _fuzzy: dict[str, tuple[str, float] | None] = field(default_factory=dict)
    # the surface words by length, made at the first misspelling (not saved)
    _by_length: dict[int, list[str]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fuzzy"], state["_by_length"] = {}, None
        return state

    def knows(self, word: str) -> bool:
        return word in self.surface or self.analyzer.stem(word) in self.idf

    def entry_terms(self, terms: Iterable[str]) -> dict[str, np.ndarray]:
        """Each known stem's score in every entry (the entry indexes weighted together)."""
        found: dict[str, np.ndarray] = {}
        for term in terms:
            scores = self.entries.term_scores(term)
            if scores is not None:
                found[term] = scores
        return found

    def field_scores(self, query: _Query, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Each entry's best short field for the question, and how much of one field it covers.

        A field (an example question, the title, a heading, the keyword set) scores its BM25
        score times the share of its words that the question holds to the power `FIELD_COVER`
        (one rare word of a long field is weak evidence); an entry scores its best field, so a
        long entry gains nothing from its length. The cover is the largest share of one of the
        entry's fields that the question holds: it does not fall when the question goes on
        about other things."""
        best = np.zeros(size, dtype=np.float32)
        covered = np.zeros(size, dtype=np.float32)
        if self.fields is None or self.fields.model is None:
            return best, covered
        # sparse: only the fields that hold a word of the question are scored
        docs: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for term, weight in query.weights.items():
            parts = []
            for other in (term, *query.synonyms.get(term, ())):
                hit = self.fields.postings(other)
                if hit is not None:
                    parts.append((hit[0], (1.0 if other == term else SYNONYM_WEIGHT) * hit[1]))
            if not parts:
                continue
            if len(parts) == 1:
                ids, scores = parts[0]
            else:  # a word counts once per field: its own score or its best synonym's
                ids, order, starts = _runs(np.concatenate([part[0] for part in parts]))
                scores = np.maximum.reduceat(
                    np.concatenate([part[1] for part in parts])[order], starts)
            docs.append(ids)
            values.append(weight * scores)
        if not docs:
            return best, covered
        # only the fields the question touches are scored (at 2,000 entries, tens of
        # thousands of fields would be otherwise)
        ids = np.concatenate(docs)
        weights = np.concatenate(values).astype(np.float64)
        total = self.fields.size
        if len(ids) * SORT_SHARE < total:  # few: sorting them beats passes over every field
            fields, order, starts = _runs(ids)
            score = np.add.reduceat(weights[order], starts)
            count = np.diff(np.append(starts, len(ids)))
        else:
            counts = np.bincount(ids, minlength=total)
            fields = np.flatnonzero(counts > 0)  # (a boolean's nonzero is 4x an int's speed)
            score = np.bincount(ids, weights=weights, minlength=total)[fields]
            count = counts[fields]
        cover = np.minimum(count / self.field_sizes[fields], 1.0)
        # the best field of each entry: an entry's fields are consecutive, so the touched
        # fields' entries come sorted, in runs
        rows = self.field_rows[fields]
        starts = _run_starts(rows)
        best[rows[starts]] = np.maximum.reduceat(score * cover ** FIELD_COVER, starts)
        covered[rows[starts]] = np.maximum.reduceat(cover, starts)
        return best, covered

    def group_scores(self, query: _Query) -> np.ndarray:
        found = {}
        for term in query.terms():
            scores = self.groups.term_scores(term)
            if scores is not None:
                found[term] = scores
        return query.combine(found, self.groups.size)

    def prefix_stem(self, word: str) -> str | None:
        """The longest catalogue stem that the word begins with ('policeman' -> 'polic')."""
        for end in range(len(word) - 1, max(MIN_PREFIX, (len(word) + 1) // 2) - 1, -1):
            if word[:end] in self.idf:
                return word[:end]
        return None

    def closest(self, word: str, limit: int) -> tuple[str, float] | None:
        """The vocabulary stem nearest to a misspelt word, and a weight for it."""
        key = f"{limit}:{word}"
        if key not in self._fuzzy:
            if len(self._fuzzy) >= CACHE_LIMIT:
                self._fuzzy.clear()
            self._fuzzy[key] = self._nearest(word, limit)
        return self._fuzzy[key]

    def _nearest(self, word: str, limit: int) -> tuple[str, float] | None:
        # a word `limit` edits away differs in length by `limit` at most: only those are tried
        if self._by_length is None:
            by_length: dict[int, list[str]] = {}
            for surface in self.surface_words:
                by_length.setdefault(len(surface), []).append(surface)
            self._by_length = by_length
        near = [surface for size in range(len(word) - limit, len(word) + limit + 1)
                for surface in self._by_length.get(size, ())]
        found = process.extract(word, near, scorer=OSA.distance, score_cutoff=limit, limit=None)
        if not found:
            return None
        best = min(distance for _, distance, _ in found)
        candidates = sorted(w for w, distance, _ in found if distance == best)
        return self.surface[candidates[0]], FUZZY_WEIGHT * (1 - best / (len(word) + 1))


def _field_docs(short: Mapping[str, list[list[str]]]) -> Iterator[list[str]]:
    """The small documents of one entry's short fields: per `FIELD_DOCS`, each text alone
    ("each") or all texts of the kind together ("bag")."""
    for kind, mode in FIELD_DOCS.items():
        texts = short.get(kind, [])
        if mode == "each":
            yield from (t for t in texts if t)
        elif mode == "bag":
            bag = [stem for t in texts for stem in t]
            if bag:
                yield bag


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts."""
    return np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))


def _runs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ids in order, the order that sorts `ids` (stable: equal ids keep theirs)
    and where each distinct id's run starts in that order."""
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    starts = _run_starts(ordered)
    return ordered[starts], order, starts


def _add(weights: dict[str, float], stem: str, weight: float) -> None:
    weights[stem] = max(weights.get(stem, 0.0), weight)


def _typo_limit(word: str, lang: str) -> int:
    """The edit distance allowed when correcting a word of a question in `lang`.

    Where a general vocabulary tells real words from typos (English, French, Spanish), one edit
    for short words and two for longer ones. Swahili and Lingala words differ from each other by
    a letter ('kuanza', 'kwanza'): one edit from seven letters on, two from ten.
    """
    if lang in lexicon.GENERAL_LANGUAGES:
        return 1 if len(word) <= 5 else 2
    return 0 if len(word) < 7 else 1 if len(word) < 10 else 2


def _idf(df: int, total: int) -> float:
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


def catalogue_digest(catalogue: Catalogue) -> str:
    """A hash of the catalogue's entries (what the index is built from) and the index format."""
    digest = hashlib.sha256(f"{INDEX_FORMAT}:{bm25s.__version__}".encode())
    digest.update(_ENTRIES.dump_json(list(catalogue)))
    return digest.hexdigest()


_ENTRIES = TypeAdapter(list[Entry])
CACHE_PREFIX = "practice-index-"


class PracticeIndex:
    """The search index over a catalogue: build it once at start, reuse it.

    `PracticeIndex.cached(catalogue, directory)` loads the index saved for the same catalogue
    content, or builds and saves it.
    """

    def __init__(self, catalogue: Catalogue, *, fallback_weight: float = FALLBACK_WEIGHT,
                 _languages: dict[str, _LanguageIndex] | None = None) -> None:
        self.catalogue = catalogue
        self.fallback_weight = fallback_weight
        self._entries: list[Entry] = list(catalogue)
        self._group_keys = [(e.id, i) for e in self._entries for i in range(len(e.practices))]
        self._group_rows: dict[str, list[int]] = {}
        for row, (entry_id, _) in enumerate(self._group_keys):
            self._group_rows.setdefault(entry_id, []).append(row)
        self._answering = np.array([e.has_practices for e in self._entries], dtype=bool)
        self._languages = _languages or {lang: self._build_language(lang) for lang in LANGUAGES}
        self._all_stopwords = frozenset().union(*(i.analyzer.stopwords
                                                  for i in self._languages.values()))
        self._synonyms = {code: self._synonym_table(code) for code in self._languages}
        self._point_terms: dict[tuple[str, str], list[_GroupTerms]] = {}
        self._recent: dict[tuple[str, str], dict[str, _Query]] = {}
        self._ranked: dict[tuple[str, str],
                           tuple[np.ndarray, np.ndarray | None, str, str | None]] = {}

    @classmethod
    def saved_path(cls, catalogue: Catalogue, directory: Path | str) -> Path:
        """Where the index of this catalogue is saved in `directory` (keyed by its content)."""
        return Path(directory) / f"{CACHE_PREFIX}{catalogue_digest(catalogue)[:24]}.pickle"

    @classmethod
    def cached(cls, catalogue: Catalogue, directory: Path | str | None) -> PracticeIndex:
        """The index of this catalogue saved in `directory`, else built (and saved there)."""
        if directory is None:
            return cls(catalogue)
        directory = Path(directory)
        path = cls.saved_path(catalogue, directory)
        try:
            with path.open("rb") as handle:
                languages = pickle.load(handle)  # noqa: S301 - our own file, keyed by content
            if set(languages) == set(LANGUAGES):
                return cls(catalogue, _languages=languages)
        except (OSError, pickle.PickleError, EOFError, AttributeError, TypeError, ValueError):
            pass
        index = cls(catalogue)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for old in directory.glob(f"{CACHE_PREFIX}*.pickle"):
                old.unlink(missing_ok=True)
            partial = path.with_suffix(".tmp")
            with partial.open("wb") as handle:
                pickle.dump(index._languages, handle, protocol=pickle.HIGHEST_PROTOCOL)
            partial.replace(path)
        except OSError as exc:
            logging.getLogger(__name__).warning("cannot save the practice index: %s", exc)
        return index

    def _build_language(self, lang: str) -> _LanguageIndex:
        analyzer = Analyzer(lang)
        words: set[str] = set()

        def analyse(text: str) -> list[str]:
            found = analyzer.words(text)
            words.update(found)
            return [analyzer.stem(w) for w in found]

        field_docs: list[list[str]] = []
        field_rows: list[int] = []
        core_docs: list[list[str]] = []
        body_docs: list[list[str]] = []
        group_docs: list[list[str]] = []
        df: Counter[str] = Counter()
        for row, entry in enumerate(self._entries):
            docs = {"core": [], "body": []}
            short: dict[str, list[list[str]]] = {}
            for kind, text in _entry_texts(entry, lang):
                target, repeat = FIELDS[kind]
                stems = analyse(text)
                docs[target].extend(stems * repeat)
                short.setdefault(kind, []).append(stems)
            for group in entry.practices:
                group_doc: list[str] = []
                for kind, text in _group_texts(group, lang):
                    target, repeat = FIELDS[kind]
                    stems = analyse(text)
                    docs[target].extend(stems * repeat)
                    group_doc.extend(stems)
                    short.setdefault("group_" + kind, []).append(stems)
                group_docs.append(group_doc)
            for doc in _field_docs(short):
                field_docs.append(doc)
                field_rows.append(row)
            core_docs.append(docs["core"])
            body_docs.append(docs["body"])
            df.update(set(docs["core"]).union(docs["body"]))
        total = len(self._entries)
        idf = {stem: _idf(count, total) for stem, count in df.items()}
        surface = {word: analyzer.stem(word) for word in words}
        entries = _Postings.summed({"core": _Bm25(core_docs), "body": _Bm25(body_docs)},
                                   INDEX_WEIGHTS, total)
        index = _LanguageIndex(analyzer, entries, _Bm25(group_docs), surface, idf,
                               _idf(1, max(total, 1)))
        index.surface_words = sorted(surface)
        index.fields = _Bm25(field_docs)
        index.field_rows = np.array(field_rows, dtype=np.int64)
        index.field_sizes = np.array([max(len(set(d)), 1) for d in field_docs], dtype=np.float32)
        return index

    def analyze(self, query: str, lang: str) -> list[str]:
        """The index terms of a query in one language's analyzer (for inspection)."""
        analyzer = self._languages[self._language(lang)].analyzer
        return analyzer.terms(query)

    def search(self, query: str, lang: str = BASE_LANGUAGE, *, limit: int = 5,
               max_practices: int = 3, min_score: float = 0.0) -> list[SearchResult]:
        """Entries best matching the question, best first, each with its best practice groups.

        `lang` is the user's language: its texts score in full and the titles and headings are
        returned in it when translated (else in a fallback language, with `fallback` set). Each
        result lists up to `max_practices` groups that match the question, best first; when
        none matches, the entry's first groups, with score 0. Entries without practices
        (`has_practices: false`) answer no question. Every result carries the question's
        `confidence`; `answer` keeps only confident results.
        """
        lang = self._language(lang)
        queries = self._queries(query, lang)
        order, scores, features, asked_in = self._rank(query, lang, limit)
        group_by_lang = {code: self._languages[code].group_scores(queries[code])
                         for code in LANGUAGES}
        group_scores = self._mix(group_by_lang, asked_in, second=True)
        results = []
        confidence = self._confidence(features) if features is not None else 0.0
        for row in order[:max(limit, 0)]:
            if scores[row] <= min_score:
                break
            results.append(self._result(self._entries[row], float(scores[row]), lang,
                                        group_scores, max_practices, confidence))
        return results

    def written_in(self, query: str, lang: str = BASE_LANGUAGE) -> str:
        """The language the question is scored in (`_asked_in`): the reader's, unless the
        question is plainly written in another."""
        return self._rank(query, self._language(lang), 2)[3]

    def decision_features(self, query: str, lang: str = BASE_LANGUAGE) -> np.ndarray | None:
        """What the answer/decline decision looks at for this question (see `_features`), for
        fitting `DECISION` (`bot.practices.evaluation.fit_decision`); None without entries."""
        return self._rank(query, self._language(lang), 2)[2]

    def _rank(self, query: str, lang: str,
              limit: int) -> tuple[list[int], np.ndarray, np.ndarray | None, str]:
        """The best entries' rows, every entry's score, the decision's features, and the
        language the question was scored in (`_asked_in`). The last questions' scores are kept:
        `/ask` asks `written_in` and then `search` for the same question."""
        scores, features, asked_in, _ = self._scored(query, lang)
        order = [int(row) for row in np.argsort(-scores, kind="stable")[:max(limit, 2)]]
        return order, scores, features, asked_in

    def _scored(self, query: str,
                lang: str) -> tuple[np.ndarray, np.ndarray | None, str, str | None]:
        return _kept(self._ranked, (query, lang), lambda: self._score(query, lang))

    def unwritten_match(self, query: str, lang: str = BASE_LANGUAGE) -> str | None:
        """The entry without written practices (`has_practices: false`) that the question is
        about, if any: one that would have come first, with the confidence of an answer. Such
        an entry answers no question; a declined question can still be pointed to it."""
        return self._scored(query, self._language(lang))[3]

    def _score(self, query: str,
               lang: str) -> tuple[np.ndarray, np.ndarray | None, str, str | None]:
        queries = self._queries(query, lang)
        per_term = {code: self._languages[code].entry_terms(q.terms())
                    for code, q in queries.items()}
        by_lang: dict[str, np.ndarray] = {}
        covered: dict[str, np.ndarray] = {}
        for code in LANGUAGES:
            by_lang[code], covered[code] = self._language_scores(queries[code], per_term[code],
                                                                 code)
        asked_in, scores = self._asked_in(by_lang, lang)
        best = [int(np.argmax(scores))] if len(scores) else []  # the first of the best
        features = (self._features(best, scores, queries, per_term, covered, asked_in)
                    if best else None)
        unwritten = None
        if best and not self._answering.all():
            # the entries without practices too
            every = self._mix(by_lang, asked_in, second=True)
            row = int(np.argmax(np.where(self._answering, -1.0, every)))
            if every[row] > max(float(scores[best[0]]), 0.0) and self._confidence(
                    self._features([row], every, queries, per_term, covered, asked_in)
            ) >= MIN_CONFIDENCE:
                unwritten = self._entries[row].id
        return scores, features, asked_in, unwritten

    def _asked_in(self, by_lang: Mapping[str, np.ndarray], lang: str) -> tuple[str, np.ndarray]:
        """The language to score the question in, and the scores: the user's own, unless the
        question is plainly written in another (its best entry scores `OTHER_LANGUAGE_MARGIN`
        times higher with that language's texts in full). People often write in a language
        other than their Telegram app's: Swahili or Lingala typed in an English or French app,
        English asked by someone whose profile says Lingala. The language's second one
        (`SECOND_LANGUAGE`) counts in full in the scores returned, not in that choice."""
        mixed = {code: np.where(self._answering, self._mix(by_lang, code), -1.0)
                 for code in LANGUAGES}
        best = max(LANGUAGES, key=lambda code: float(mixed[code].max(initial=0.0)))
        if (best == lang or float(mixed[best].max(initial=0.0))
                <= OTHER_LANGUAGE_MARGIN * float(mixed[lang].max(initial=0.0))):
            best = lang
        if best in SECOND_LANGUAGE:
            return best, np.where(self._answering, self._mix(by_lang, best, second=True), -1.0)
        return best, mixed[best]

    def answer(self, query: str, lang: str = BASE_LANGUAGE, *, limit: int = 5,
               max_practices: int = 3) -> list[SearchResult]:
        """`search`, or nothing when the catalogue does not answer the question (`confident`)."""
        return answerable(self.search(query, lang, limit=limit, max_practices=max_practices))

    @staticmethod
    def _language(lang: str) -> str:
        return normalize_language(lang) or BASE_LANGUAGE

    def _size(self) -> int:
        return len(self._entries)

    def _language_scores(self, query: _Query, per_term: Mapping[str, np.ndarray],
                         code: str) -> tuple[np.ndarray, np.ndarray]:
        """Each entry's score for the question in one language: its whole text (the core and
        body indexes) and its best short field; and the cover of its best-covered field."""
        size = self._size()
        fields, covered = self._languages[code].field_scores(query, size)
        return query.combine(per_term, size) + FIELD_WEIGHT * fields, covered

    def _mix(self, by_lang: Mapping[str, np.ndarray], lang: str, *,
             second: bool = False) -> np.ndarray:
        """Scores in one language, plus a fraction of the best other language's; with `second`,
        the language's second one (`SECOND_LANGUAGE`) counts in full."""
        others = [by_lang[code] for code in LANGUAGES if code != lang]
        own = by_lang[lang]
        if not others:
            return own
        fallback = self.fallback_weight * np.max(others, axis=0)
        other = SECOND_LANGUAGE.get(lang) if second else None
        if other is not None and other in by_lang:
            fallback = np.maximum(fallback, SECOND_LANGUAGE_WEIGHT * by_lang[other])
        return own + fallback

    def _features(self, order: Sequence[int], scores: np.ndarray,
                  queries: Mapping[str, _Query],
                  per_term: Mapping[str, Mapping[str, np.ndarray]],
                  covered: Mapping[str, np.ndarray], lang: str) -> np.ndarray:
        """What the answer/decline decision looks at (see `DECISION`). In the language that
        explains the question best (where the best entry holds the largest share of its
        informative words): the share of the question's words the best entry holds (a word the
        catalogue lacks counts as not held), the best score per unit of the question's idf, and
        the logarithm of the idf the entry holds; in any language, the largest share of one of
        the entry's short fields that the question holds. The first two do not grow with the
        question's length; the third grows slowly, and says how much real evidence there is (a
        paraphrased question holds few of its words, but rare ones); the last does not fall
        when a question that matches an example question also tells its story around it."""
        row = order[0]
        share = words = held_idf = 0.0
        for code, query in queries.items():
            if query.mass <= 0:
                continue
            held, held_words = self._held(row, query, code, per_term[code])
            if held / query.mass > share:
                share = held / query.mass
                words = held_words / max(len(query.weights) + query.unknown_words, 1)
                held_idf = held
        first = max(float(scores[row]), 0.0)
        cover = max(float(found[row]) for found in covered.values())
        return np.array([words, first / (1.0 + queries[lang].mass), math.log1p(held_idf), cover])

    @staticmethod
    def _confidence(features: np.ndarray) -> float:
        """How likely the best entry answers the question: a logistic model of `_features`."""
        z = DECISION_BIAS + float(np.dot(DECISION, features))
        return 1.0 / (1.0 + math.exp(-z))

    def _queries(self, query: str, lang: str) -> dict[str, _Query]:
        """The question seen through each language (the last questions' kept: an answer card
        ranks the points of several matches for the same question)."""
        return _kept(self._recent, (query, lang), lambda: self._analyse_query(query, lang))

    def _analyse_query(self, query: str, lang: str) -> dict[str, _Query]:
        """The question seen through each language: weighted stems, misspellings resolved."""
        split = _split(query)
        words_by_lang = {code: idx.analyzer.keep(split) for code, idx in self._languages.items()}
        unknown = {w for words in words_by_lang.values() for w in words
                   if self._is_typo_candidate(w)}
        queries: dict[str, _Query] = {}
        for code, index in self._languages.items():
            found = queries[code] = _Query()
            for word in dict.fromkeys(words_by_lang[code]):
                own = index.analyzer.stem(word)
                stem, weight = self._resolve(index, word, word in unknown, lang)
                extra = self._synonyms[code].get(own, ())
                if stem is not None:
                    idf = index.idf[stem]
                    extra = self._synonyms[code].get(stem, ()) or extra
                elif extra:
                    # a word the catalogue lacks, known through its synonyms ("gendarmes")
                    stem, weight, idf = own, 1.0, max(index.idf[other] for other in extra)
                else:
                    found.unknown += index.unknown_idf
                    found.unknown_words += 1
                    continue
                if stem not in found.weights:
                    found.known += idf
                    found.idf[stem] = idf
                _add(found.weights, stem, weight)
                if extra:
                    found.synonyms[stem] = extra
        return queries

    def _held(self, row: int, query: _Query, code: str,
              per_term: Mapping[str, np.ndarray]) -> tuple[float, int]:
        """The idf mass and the number of the question's words that the entry holds (itself
        or a synonym)."""
        idf = query.idf
        present = {term for term, scores in per_term.items() if scores[row] > 0}
        held, count = 0.0, 0
        for term, weight in query.weights.items():
            alternatives = (term, *query.synonyms.get(term, ()))
            if any(alt in present for alt in alternatives):
                held += weight * idf[term]
                count += 1
        return held, count

    def _synonym_table(self, code: str) -> dict[str, tuple[str, ...]]:
        """Each synonym's stem -> the other stems of its groups that the catalogue has."""
        index = self._languages[code]
        table: dict[str, set[str]] = {}
        for group in lexicon.SYNONYMS.get(code, ()):
            members = [index.analyzer.terms(words) for words in group]
            stems = {stem for terms in members for stem in terms if stem in index.idf}
            for terms in members:
                if len(terms) == 1:
                    table.setdefault(terms[0], set()).update(stems - {terms[0]})
        return {stem: tuple(sorted(others)) for stem, others in table.items() if others}

    def _is_typo_candidate(self, word: str) -> bool:
        return (len(word) >= MIN_FUZZY_LENGTH and not word.isdigit()
                and word not in self._all_stopwords
                and not any(idx.knows(word) for idx in self._languages.values())
                and not lexicon.is_word(word))

    @staticmethod
    def _resolve(index: _LanguageIndex, word: str, typo: bool,
                 lang: str) -> tuple[str | None, float]:
        if typo:
            limit = _typo_limit(word, lang)
            nearest = index.closest(word, limit) if limit else None
            return nearest if nearest else (None, 0.0)
        stem = index.analyzer.stem(word)
        if stem in index.idf:
            return stem, 1.0
        prefix = index.prefix_stem(word)
        return (prefix, PREFIX_WEIGHT) if prefix else (None, 0.0)

    def _result(self, entry: Entry, score: float, lang: str, group_scores: np.ndarray,
                max_practices: int, confidence: float) -> SearchResult:
        title = localize(entry.title, lang)
        return SearchResult(entry.id, title.text, title.lang, title.fallback, score,
                            entry.has_practices, self._hits(entry, lang, group_scores,
                                                            max_practices), confidence)

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

    def rank_points(self, entry: Entry, query: str, lang: str) -> list[tuple[int, int]]:
        """The entry's practice points as (group, point), best match for the question first.

        A point scores the idf of the question's words it contains (in the language it is
        shown in), its group's heading and keywords half as much; ties keep the toolkit's order.
        """
        lang = self._language(lang)
        queries = self._queries(query, lang)
        scored = []
        for g, head_texts, point_texts in self._point_terms_of(entry, lang):
            head = 0.0
            for text in head_texts:
                head += self._point_score(text, queries)
            for p, text in enumerate(point_texts):
                scored.append((-(self._point_score(text, queries) + 0.5 * head), g, p))
        return [(g, p) for _, g, p in sorted(scored)]

    def _point_terms_of(self, entry: Entry, lang: str) -> list[_GroupTerms]:
        """The stems of each group's heading and keywords and of each of its points, as shown
        in `lang` (each with the language it is shown in), kept for the last entries asked."""
        return _kept(self._point_terms, (entry.id, lang), lambda: [
            (g, self._shown_terms(group, lang),
             [self._text_terms(localize(point.text, lang)) for point in group.points])
            for g, group in enumerate(entry.practices)], POINT_ENTRIES)

    def _shown_terms(self, group: PracticeGroup, lang: str) -> list[tuple[str, frozenset[str]]]:
        heading = localize(group.heading, lang)
        return [self._text_terms(heading),
                *(self._text_terms(Localized(keyword, heading.lang, heading.fallback))
                  for keyword in group.keywords.get(heading.lang, []))]

    def _text_terms(self, text: Localized) -> tuple[str, frozenset[str]]:
        index = self._languages.get(text.lang)
        return text.lang, frozenset(index.analyzer.terms(text.text) if index else ())

    def _point_score(self, text: tuple[str, frozenset[str]],
                     queries: Mapping[str, _Query]) -> float:
        lang, terms = text
        query = queries.get(lang)
        if query is None or terms.isdisjoint(query.weights):
            return 0.0
        idf = self._languages[lang].idf
        return sum(weight * idf.get(term, 0.0)
                   for term, weight in query.weights.items() if term in terms)


@lru_cache(maxsize=1)
def default_index() -> PracticeIndex:
    """The index over the package catalogue, built on first use and kept."""
    return PracticeIndex(default_catalogue())


def search(query: str, lang: str = BASE_LANGUAGE, *, limit: int = 5) -> list[SearchResult]:
    """Search the package catalogue (see PracticeIndex.search)."""
    return default_index().search(query, lang, limit=limit)
