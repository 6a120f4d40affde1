"""Answers to "what should we do if..." from the practice catalogue, without Telegram.

The chat handlers take everything they show from here: the matches of a question
(`find_matches`), the card of one match (`answer_card`), the card of a challenge reached by
browsing (`challenge_card`), the browsing lists (`browse_top`, `browse_chapter`,
`browse_section`, `browse_factsheets`) and the list of matches (`matches_listing`). Cards are
HTML in the reader's language: catalogue texts in that language where translated, else in
English with a note saying so. A card always fits in one Telegram message and ends with the
toolkit's caveat; what does not fit continues on the next page (`Card.next_start`).

The search index is built once per process and set of catalogue directories
(`practice_index`), never per message.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.formatting import TELEGRAM_TEXT_LIMIT, escape
from bot.i18n import LANGUAGE_NAMES, N_, translate
from bot.practices.catalogue import (
    Catalogue,
    CatalogueLoadError,
    Entry,
    Localized,
    PracticeGroup,
    catalogue_dirs,
    load,
    localize,
)
from bot.practices.search import PracticeIndex, default_index
from bot.refusals import Refusal

QUESTION_MAX = 1000  # characters; longer texts are refused with an explanation
MIN_SCORE = 0.8  # below this a match is noise (the evaluation set's weakest answer scores 1.18)
MATCH_LIMIT = 6  # matches kept for "Other matches"
ANSWER_PRACTICES = 3  # best-matching practice groups on an answer card
PAGE_PRACTICES = 3  # practice groups per page
KEY_MAX = 24  # longer entry ids travel in buttons as a digest (callback data is 64 bytes)
POINT_MAX = 1200  # characters of one practice point, heading or note before clipping
LEGEND_MAX = 800
LABEL_MAX = 60  # button labels

CAVEAT = N_("Good practices are not prescriptive: judge whether they are feasible, useful and "
            "appropriate in your local context.")


class QuestionError(Refusal):
    """A question was refused; `code` names the reason for a localized message."""


class CatalogueUnavailable(RuntimeError):
    """The catalogue directories have errors (`wgbot catalogue check` lists them)."""

    def __init__(self, errors: int) -> None:
        super().__init__(f"the practice catalogue has {errors} error(s)")
        self.errors = errors


# -- the index, once per process --------------------------------------------------------------

_indexes: dict[tuple[str, ...], PracticeIndex] = {}
_build_lock = threading.Lock()


def _index_key(operator_dirs: Sequence[Path]) -> tuple[str, ...]:
    return tuple(str(Path(d).resolve()) for d in operator_dirs)


def practice_index(operator_dirs: Sequence[Path] = ()) -> PracticeIndex:
    """The index over the package catalogue followed by `operator_dirs`, built on first use.

    Raises CatalogueUnavailable when the catalogue has errors (nothing is cached then, so a
    fixed catalogue is picked up by the next call).
    """
    if not operator_dirs:
        try:
            return default_index()
        except CatalogueLoadError as exc:
            raise CatalogueUnavailable(len(exc.issues)) from exc
    key = _index_key(operator_dirs)
    index = _indexes.get(key)
    if index is not None:
        return index
    with _build_lock:
        index = _indexes.get(key)
        if index is None:
            try:
                catalogue = load(catalogue_dirs(operator_dirs))
            except CatalogueLoadError as exc:
                raise CatalogueUnavailable(len(exc.issues)) from exc
            index = _indexes[key] = PracticeIndex(catalogue)
    return index


def index_is_built(operator_dirs: Sequence[Path] = ()) -> bool:
    if not operator_dirs:
        return default_index.cache_info().currsize > 0
    return _index_key(operator_dirs) in _indexes


async def get_practice_index(operator_dirs: Sequence[Path] = ()) -> PracticeIndex:
    """`practice_index` for the event loop: the first build runs in a worker thread."""
    if index_is_built(operator_dirs):
        return practice_index(operator_dirs)
    return await asyncio.to_thread(practice_index, list(operator_dirs))


# -- questions and matches ----------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def clean_question(text: str | None) -> str:
    """The question with its spaces collapsed; QuestionError 'empty' or 'long' otherwise."""
    question = _SPACES.sub(" ", text or "").strip()
    if not question:
        raise QuestionError("empty")
    if len(question) > QUESTION_MAX:
        raise QuestionError("long")
    return question


@dataclass(frozen=True)
class Match:
    """A catalogue entry matching a question and its best-matching practice groups."""

    entry_id: str
    practices: tuple[int, ...]


def find_matches(index: PracticeIndex, question: str, lang: str) -> list[Match]:
    """The entries answering the question, best first; empty when nothing relevant is found."""
    results = index.search(question, lang, limit=MATCH_LIMIT, max_practices=ANSWER_PRACTICES,
                           min_score=MIN_SCORE)
    return [Match(r.id, tuple(hit.index for hit in r.practices)) for r in results]


def encode_matches(matches: Sequence[Match]) -> list[list[Any]]:
    """A JSON-friendly form of the matches (ids and group numbers only: no question text)."""
    return [[m.entry_id, list(m.practices)] for m in matches]


def decode_matches(raw: Any) -> list[Match]:
    """Matches back from `encode_matches`; anything malformed gives an empty list."""
    if not isinstance(raw, list):
        return []
    matches = []
    for item in raw:
        if (not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str)
                or not isinstance(item[1], list)
                or not all(isinstance(i, int) and i >= 0 for i in item[1])):
            return []
        matches.append(Match(item[0], tuple(item[1])))
    return matches


# -- entry keys in buttons ----------------------------------------------------------------------

def entry_key(entry_id: str) -> str:
    """What a button carries for an entry: its id, or a digest when the id is long."""
    if len(entry_id) <= KEY_MAX:
        return entry_id
    return "~" + hashlib.blake2b(entry_id.encode(), digest_size=6).hexdigest()


def entry_by_key(catalogue: Catalogue, key: str) -> Entry | None:
    """The entry a button's key names, or None (unknown, removed, forged)."""
    if not key.startswith("~"):
        entry = catalogue.entries.get(key)
        return entry if entry is not None and entry_key(entry.id) == key else None
    return next((e for e in catalogue if entry_key(e.id) == key), None)


# -- cards ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Card:
    """A card's HTML text; `next_start` is where the next page of practices begins (or None)."""

    text: str
    entry_id: str
    next_start: int | None
    fallback: bool


def _clip(html: str, limit: int) -> str:
    """Shorten escaped HTML text to `limit` characters without cutting an entity."""
    if len(html) <= limit:
        return html
    cut = html[:limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + "…"


def _text(value: Localized) -> str:
    return _clip(escape(value.text), POINT_MAX)


def _refs(sources: Sequence[str]) -> str:
    return f" <i>({escape('; '.join(sources))})</i>" if sources else ""


@dataclass(frozen=True)
class _Block:
    """One practice group rendered as lines; `fallback` if any of its texts is in English."""

    lines: tuple[str, ...]
    sources: tuple[str, ...]
    fallback: bool


def _group_block(group: PracticeGroup, lang: str) -> _Block:
    heading = group.heading_in(lang)
    note = group.note_in(lang)
    lines = [f"<b>{_text(heading)}</b>{_refs(group.sources)}"]
    used: list[Localized] = [heading]
    if note is not None:
        lines.append(f"<i>{_text(note)}</i>")
        used.append(note)
    for point in group.points:
        text = point.text_in(lang)
        lines.append(f"• {_text(text)}{_refs(point.sources)}")
        used.append(text)
    return _Block(tuple(lines), tuple(group.all_sources()), any(t.fallback for t in used))


def _legend(catalogue: Catalogue, blocks: Iterable[_Block], lang: str) -> str:
    """'Sources: VPs = ...; IGTs = ...' for the abbreviations cited by the blocks."""
    abbreviations = dict.fromkeys(ref.split(":", 1)[0].strip()
                                  for block in blocks for ref in block.sources)
    names = []
    for abbr in abbreviations:
        name = catalogue.source_name(abbr, lang)
        if name is not None:
            names.append(f"{escape(abbr)} = {escape(name.text)}")
    if not names:
        return ""
    label = translate("Sources:", lang)
    return _clip(f"<i>{escape(label)} {'; '.join(names)}</i>", LEGEND_MAX)


def _fallback_note(lang: str) -> str:
    language = LANGUAGE_NAMES.get(lang, lang)
    return "<i>" + translate("Parts of this entry are not translated into {language} yet; they "
                             "are shown in English.", lang, language=language) + "</i>"


def caveat(lang: str) -> str:
    return f"<i>{translate(CAVEAT, lang)}</i>"


def _no_practices(lang: str) -> str:
    return "<i>" + translate("The toolkit gives no good practices for this challenge yet.",
                             lang) + "</i>"


def _title_line(entry: Entry, lang: str) -> tuple[str, bool]:
    title = entry.title_in(lang)
    return f"<b>{escape(entry.id)}</b> · <b>{_text(title)}</b>", title.fallback


def _related_lines(catalogue: Catalogue, entry: Entry, lang: str) -> list[str]:
    related = catalogue.related(entry.id)
    if not related:
        return []
    lines = [translate("See also:", lang)]
    lines += [f"• <b>{escape(r.id)}</b> {_text(r.title_in(lang))}" for r in related]
    return ["\n".join(lines)]


def _assemble(head: list[str], blocks: Sequence[_Block], tail: list[str]) -> str:
    body = ["\n".join(block.lines) for block in blocks]
    return "\n\n".join(part for part in [*head, *body, *tail] if part)


@dataclass(frozen=True)
class _Page:
    entry: Entry
    lang: str
    order: tuple[int, ...]  # practice groups in the order pages show them
    start: int
    heading: str  # the line above the practices ("{first}-{last} of {total}" filled in)
    intro: tuple[str, ...] = ()  # texts between the title and the practices
    intro_fallback: bool = False
    size: int = PAGE_PRACTICES  # at most this many groups on the page


def _render(catalogue: Catalogue, page: _Page, limit: int) -> Card:
    entry, lang = page.entry, page.lang
    title, title_fallback = _title_line(entry, lang)
    candidates = [_group_block(entry.practices[i], lang) for i in page.order[page.start:]]
    candidates = candidates[:page.size]
    tail_base = [] if entry.has_practices else [_no_practices(lang),
                                                *_related_lines(catalogue, entry, lang)]

    def build(blocks: Sequence[_Block]) -> tuple[str, bool]:
        fallback = title_fallback or page.intro_fallback or any(b.fallback for b in blocks)
        head = [title, _fallback_note(lang) if fallback else "", *page.intro]
        if blocks:
            last = page.start + len(blocks)
            head.append(page.heading.format(first=page.start + 1, last=last,
                                            count=len(blocks), total=len(page.order)))
        tail = [*tail_base, _legend(catalogue, blocks, lang), caveat(lang)]
        return _assemble(head, blocks, tail), fallback

    text, fallback = build([])
    shown = 0
    for count in range(1, len(candidates) + 1):
        attempt, attempt_fallback = build(candidates[:count])
        if len(attempt) > limit:
            break
        text, fallback, shown = attempt, attempt_fallback, count
    if shown == 0 and candidates:
        text, fallback = _shrunk(candidates[0], build, limit)
        shown = 1
    following = page.start + shown
    next_start = following if following < len(page.order) else None
    return Card(text, entry.id, next_start, fallback)


def _shrunk(block: _Block, build, limit: int) -> tuple[str, bool]:
    """A practice group too long for a message: its first lines that fit, then '…'."""
    for keep in range(len(block.lines) - 1, 0, -1):
        smaller = _Block((*block.lines[:keep], "…"), block.sources, block.fallback)
        text, fallback = build([smaller])
        if len(text) <= limit:
            return text, fallback
    return build([_Block((block.lines[0], "…"), (), block.fallback)])


def _answer_order(entry: Entry, best: Sequence[int]) -> tuple[int, ...]:
    """The best-matching groups first, then the others in the toolkit's order."""
    valid = [i for i in best if 0 <= i < len(entry.practices)]
    rest = [i for i in range(len(entry.practices)) if i not in valid]
    return (*valid, *rest)


def answer_card(catalogue: Catalogue, match: Match, lang: str, start: int = 0,
                limit: int = TELEGRAM_TEXT_LIMIT) -> Card | None:
    """The answer to a question: the entry and its best-matching practices, then the others.

    Page `start` = 0 shows the best-matching groups; later pages the remaining groups in the
    toolkit's order. None if the entry is gone or `start` is out of range.
    """
    entry = catalogue.get(match.entry_id)
    if entry is None:
        return None
    best = [i for i in dict.fromkeys(match.practices) if 0 <= i < len(entry.practices)]
    best = best[:ANSWER_PRACTICES] or [0]
    order = _answer_order(entry, best)
    if not _valid_start(entry, start):
        return None
    intro: tuple[str, ...] = ()
    intro_fallback = False
    if not entry.has_practices:
        summary = entry.summary_in(lang)
        intro, intro_fallback = (_text(summary),), summary.fallback
    heading = (translate("The most relevant good practices ({count} of {total}):", lang)
               if start == 0 else
               translate("Good practices {first}–{last} of {total}:", lang))
    size = len(best) if start == 0 else PAGE_PRACTICES
    page = _Page(entry, lang, order if entry.has_practices else (), start, heading, intro,
                 intro_fallback, size)
    return _render(catalogue, page, limit)


def challenge_card(catalogue: Catalogue, entry: Entry, lang: str, start: int = 0,
                   limit: int = TELEGRAM_TEXT_LIMIT) -> Card | None:
    """A challenge reached by browsing: its summary, then its practices page by page."""
    if not _valid_start(entry, start):
        return None
    intro: tuple[str, ...] = ()
    intro_fallback = False
    if start == 0:
        summary = entry.summary_in(lang)
        intro, intro_fallback = (_text(summary),), summary.fallback
    heading = translate("Good practices {first}–{last} of {total}:", lang)
    page = _Page(entry, lang, tuple(range(len(entry.practices))), start, heading, intro,
                 intro_fallback)
    return _render(catalogue, page, limit)


def _valid_start(entry: Entry, start: int) -> bool:
    return start == 0 or 0 < start < len(entry.practices)


def no_match_text(lang: str, *, asked: bool = True) -> str:
    """Nothing found: for /ask, or (`asked` false) for a text that may not be a question."""
    if asked:
        return translate("I found nothing in the good-practice catalogue for that question. "
                         "Try other words, or browse the catalogue with /practices.", lang)
    return translate("I did not understand that. If it was a question, I found nothing in the "
                     "good-practice catalogue for it: try other words, or browse the catalogue "
                     "with /practices. Send /help to see what else I can do.", lang)


def matches_listing(catalogue: Catalogue, matches: Sequence[Match], lang: str) -> Listing:
    """The matches of a question as a numbered list; choices are ranks ('0', '1', ...)."""
    lines = [translate("Matches for your question:", lang)]
    choices = []
    for rank, match in enumerate(matches):
        entry = catalogue.get(match.entry_id)
        if entry is None:
            continue
        lines.append(f"{rank + 1}. <b>{escape(entry.id)}</b> {_text(entry.title_in(lang))}")
        choices.append(Choice("rank", str(rank), f"{rank + 1}. {entry.id}"))
    return Listing(_clip("\n".join(lines), TELEGRAM_TEXT_LIMIT), tuple(choices), None)


# -- browsing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """A button of a listing: where it leads (`level`, `ref`) and its label."""

    level: str  # "chapter", "section", "factsheets", "entry", "rank"
    ref: str
    label: str


@dataclass(frozen=True)
class Listing:
    """A browsing step: its text, its choices and where "Back" leads (None at the top)."""

    text: str
    choices: tuple[Choice, ...]
    parent: tuple[str, str] | None


def _label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[:LABEL_MAX - 1].rstrip() + "…"


def _name(text: Mapping[str, str], lang: str) -> str:
    return localize(text, lang).text


def browse_top(catalogue: Catalogue, lang: str) -> Listing:
    """The chapters that have entries, and the fact sheets."""
    choices = [Choice("chapter", str(chapter.number),
                      _label(f"{chapter.number}. {_name(chapter.title, lang)}"))
               for chapter in catalogue.chapters()
               if catalogue.sections_with_entries(chapter.number)]
    factsheets = catalogue.structure.factsheets
    if catalogue.factsheets():
        label = (_name(factsheets.title, lang) if factsheets
                 else translate("Fact sheets", lang))
        choices.append(Choice("factsheets", "", _label(label)))
    text = translate("The good-practice catalogue of the Security and Human Rights Toolkit. "
                     "Choose a chapter:", lang)
    return Listing(text, tuple(choices), None)


def browse_chapter(catalogue: Catalogue, number: int, lang: str) -> Listing | None:
    chapter = catalogue.chapter(number)
    sections = catalogue.sections_with_entries(number)
    if chapter is None or not sections:
        return None
    choices = [Choice("section", s.id, _label(f"{s.id} {_name(s.title, lang)}"))
               for s in sections]
    heading = translate("Chapter {number}", lang, number=number)
    title = escape(_name(chapter.title, lang))
    text = "\n".join([f"<b>{heading}. {title}</b>", translate("Choose a section:", lang)])
    return Listing(text, tuple(choices), ("top", ""))


def _entry_listing(title: str, entries: Sequence[Entry], lang: str,
                   parent: tuple[str, str]) -> Listing:
    lines = [f"<b>{escape(title)}</b>", translate("Choose a challenge:", lang)]
    lines += [f"<b>{escape(e.id)}</b> {_text(e.title_in(lang))}" for e in entries]
    choices = tuple(Choice("entry", entry_key(e.id), _label(e.id)) for e in entries)
    return Listing(_clip("\n".join(lines), TELEGRAM_TEXT_LIMIT), choices, parent)


def browse_section(catalogue: Catalogue, section_id: str, lang: str) -> Listing | None:
    section = catalogue.section(section_id)
    entries = catalogue.entries_in_section(section_id)
    if section is None or not entries:
        return None
    chapter = entries[0].chapter
    return _entry_listing(f"{section.id} {_name(section.title, lang)}", entries, lang,
                          ("chapter", str(chapter)))


def browse_factsheets(catalogue: Catalogue, lang: str) -> Listing | None:
    entries = catalogue.factsheets()
    if not entries:
        return None
    factsheets = catalogue.structure.factsheets
    title = _name(factsheets.title, lang) if factsheets else translate("Fact sheets", lang)
    return _entry_listing(title, entries, lang, ("top", ""))


def entry_parent(entry: Entry) -> tuple[str, str]:
    """Where "Back" leads from an entry's card: its section, or the fact sheets."""
    if entry.kind == "challenge" and entry.section:
        return "section", entry.section
    return "factsheets", ""
