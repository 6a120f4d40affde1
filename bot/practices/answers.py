"""Answers to "what should we do if..." from the practice catalogue, without Telegram.

The chat handlers take everything they show from here: the matches of a question
(`find_matches`), the card of one match (`answer_card`), the card of a challenge reached by
browsing (`challenge_card`), the browsing lists (`browse_top`, `browse_chapter`,
`browse_section`, `browse_factsheets`) and the list of matches (`matches_listing`). Cards are
HTML in the reader's language: catalogue texts in that language where translated, else in its
fallback language (French then English for Lingala, English for the others) with a note
saying so. The first answer to a question fits a phone screen (about 1,000 characters): the
challenge, the three practice points that best match the question (those about victims first
when the question is about sexual violence, killings or torture), a one-line source note and
the toolkit's caveat; the practice groups follow page by page (`Card.next_start`), each page
within one Telegram message.

Whether a question is answered at all is `bot.practices.search.confident`, the same rule as
`wgbot practices search`.

The search index is built once per process and set of catalogue directories
(`practice_index`), never per message.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.formatting import TELEGRAM_TEXT_LIMIT, escape
from bot.i18n import LANGUAGE_NAMES, N_, translate
from bot.practices import lexicon
from bot.practices.catalogue import (
    BASE_LANGUAGE,
    Catalogue,
    CatalogueLoadError,
    Entry,
    Localized,
    PracticeGroup,
    catalogue_dirs,
    fallbacks_for,
    load,
    localize,
)
from bot.refusals import Refusal

if TYPE_CHECKING:  # the search (numpy, bm25s) is imported with the first question
    from bot.practices.search import PracticeIndex

QUESTION_MAX = 1000  # characters; longer texts are refused with an explanation
MATCH_LIMIT = 6  # matches kept for "Other matches"
ANSWER_PRACTICES = 3  # best-matching practice groups of a match
ANSWER_POINTS = 3  # best-matching practice points on the first answer card
VICTIM_POINTS = 2  # of which, for a sensitive question, at most this many about victims lead
FIRST_CARD_MAX = 1000  # characters of the first answer card (a phone screen)
SOURCE_LINE_MAX = 110  # the first card's one-line source note
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


def practice_index(operator_dirs: Sequence[Path] = (),
                   cache_dir: Path | None = None) -> PracticeIndex:
    """The index over the package catalogue followed by `operator_dirs`, built on first use.

    With `cache_dir`, an index saved there for the same catalogue content is loaded instead of
    built, and a built one is saved. Raises CatalogueUnavailable when the catalogue has errors
    (nothing is cached then, so a fixed catalogue is picked up by the next call).
    """
    from bot.practices.search import PracticeIndex, default_index

    if not operator_dirs and cache_dir is None:
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
            index = _indexes[key] = PracticeIndex.cached(catalogue, cache_dir)
            lexicon.warm(cache_dir)
    return index


def index_is_built(operator_dirs: Sequence[Path] = (), cache_dir: Path | None = None) -> bool:
    if not operator_dirs and cache_dir is None:
        search = sys.modules.get("bot.practices.search")
        return search is not None and search.default_index.cache_info().currsize > 0
    return _index_key(operator_dirs) in _indexes


async def get_practice_index(operator_dirs: Sequence[Path] = (),
                             cache_dir: Path | None = None) -> PracticeIndex:
    """`practice_index` for the event loop: the first build (or load) runs in a worker thread."""
    if index_is_built(operator_dirs, cache_dir):
        return practice_index(operator_dirs, cache_dir)
    return await asyncio.to_thread(practice_index, list(operator_dirs), cache_dir)


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
    """A catalogue entry matching a question: its practice groups in the order the pages show
    them (best-matching first) and the practice points, as (group, point), of the first card."""

    entry_id: str
    practices: tuple[int, ...]
    points: tuple[tuple[int, int], ...] = ()


def _choose_points(entry: Entry, ranked: Sequence[tuple[int, int]],
                   sensitive: bool) -> list[tuple[int, int]]:
    """The first card's points: the best-ranked, led by those about victims when sensitive."""
    chosen: list[tuple[int, int]] = []
    if sensitive:
        chosen = [gp for gp in ranked if "victims" in entry.practices[gp[0]].tags]
        chosen = chosen[:VICTIM_POINTS]
    chosen += [gp for gp in ranked if gp not in chosen][:ANSWER_POINTS - len(chosen)]
    return chosen


def _group_order(entry: Entry, points: Sequence[tuple[int, int]], best: Sequence[int],
                 sensitive: bool) -> tuple[int, ...]:
    victims = [g for g, group in enumerate(entry.practices) if "victims" in group.tags]
    first = [g for g, _ in points] + (victims if sensitive else []) + list(best)
    return tuple(dict.fromkeys(first))[:ANSWER_PRACTICES]


def find_matches(index: PracticeIndex, question: str, lang: str) -> list[Match]:
    """The entries answering the question, best first; empty when the catalogue does not
    answer it (`bot.practices.search.confident`, as for `wgbot practices search`)."""
    results = index.answer(question, lang, limit=MATCH_LIMIT, max_practices=ANSWER_PRACTICES)
    from bot.practices.search import is_sensitive

    sensitive = is_sensitive(question)
    matches = []
    for result in results:
        entry = index.catalogue[result.id]
        points = _choose_points(entry, index.rank_points(entry, question, lang), sensitive)
        best = [hit.index for hit in result.practices]
        matches.append(Match(result.id, _group_order(entry, points, best, sensitive),
                             tuple(points)))
    return matches


def encode_matches(matches: Sequence[Match]) -> list[list[Any]]:
    """A JSON-friendly form of the matches (ids and numbers only: no question text)."""
    return [[m.entry_id, list(m.practices), [list(gp) for gp in m.points]] for m in matches]


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(type(i) is int and i >= 0 for i in value)


def decode_matches(raw: Any) -> list[Match]:
    """Matches back from `encode_matches`; anything malformed gives an empty list."""
    if not isinstance(raw, list):
        return []
    matches = []
    for item in raw:
        if (not isinstance(item, list) or len(item) not in (2, 3)
                or not isinstance(item[0], str) or not _numbers(item[1])):
            return []
        points = item[2] if len(item) == 3 else []
        if not isinstance(points, list) or not all(_numbers(gp) and len(gp) == 2
                                                   for gp in points):
            return []
        matches.append(Match(item[0], tuple(item[1]), tuple((g, p) for g, p in points)))
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
    """One practice group rendered as lines; `fallback`: the other languages its texts are in."""

    lines: tuple[str, ...]
    sources: tuple[str, ...]
    fallback: tuple[str, ...]


def _fallbacks(texts: Iterable[Localized]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.lang for t in texts if t.fallback))


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
    return _Block(tuple(lines), tuple(group.all_sources()), _fallbacks(used))


def _source_names(catalogue: Catalogue, sources: Iterable[str], lang: str) -> list[str]:
    abbreviations = dict.fromkeys(ref.split(":", 1)[0].strip() for ref in sources)
    names = []
    for abbr in abbreviations:
        name = catalogue.source_name(abbr, lang)
        if name is not None:
            names.append(f"{escape(abbr)} = {escape(name.text)}")
    return names


def _legend(catalogue: Catalogue, blocks: Iterable[_Block], lang: str) -> str:
    """'Sources: VPs = ...; IGTs = ...' for the abbreviations cited by the blocks."""
    names = _source_names(catalogue, (ref for block in blocks for ref in block.sources), lang)
    if not names:
        return ""
    label = translate("Sources:", lang)
    return f"<i>{_clip(f'{escape(label)} ' + '; '.join(names), LEGEND_MAX)}</i>"


def _fallback_note(lang: str, shown: Sequence[str]) -> str:
    """Which languages the untranslated texts are shown in ('French', 'French or English')."""
    language = LANGUAGE_NAMES.get(lang, lang)
    names = [LANGUAGE_NAMES.get(code, code) for code in fallbacks_for(lang) if code in shown]
    names = names or [LANGUAGE_NAMES.get(code, code) for code in shown]
    if len(names) > 1:
        return "<i>" + translate("Parts of this entry are not translated into {language} yet; "
                                 "they are shown in {first}, or in {second} where no {first} "
                                 "text exists.", lang, language=language, first=names[0],
                                 second=names[1]) + "</i>"
    if names == [LANGUAGE_NAMES[BASE_LANGUAGE]]:
        return "<i>" + translate("Parts of this entry are not translated into {language} yet; "
                                 "they are shown in English.", lang, language=language) + "</i>"
    return "<i>" + translate("Parts of this entry are not translated into {language} yet; they "
                             "are shown in {shown}.", lang, language=language,
                             shown=names[0] if names else "") + "</i>"


def caveat(lang: str) -> str:
    return f"<i>{translate(CAVEAT, lang)}</i>"


def not_written_text(lang: str) -> str:
    """What a challenge whose practices the catalogue lacks says (never 'the toolkit has none')."""
    return translate("The good practices for this challenge are not yet written in this "
                     "catalogue.", lang)


def _no_practices(lang: str) -> str:
    return f"<i>{not_written_text(lang)}</i>"


def _title_line(entry: Entry, lang: str) -> tuple[str, tuple[str, ...]]:
    title = entry.title_in(lang)
    return f"<b>{escape(entry.id)}</b> · <b>{_text(title)}</b>", _fallbacks([title])


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
    intro_fallback: tuple[str, ...] = ()
    size: int = PAGE_PRACTICES  # at most this many groups on the page


def _render(catalogue: Catalogue, page: _Page, limit: int) -> Card:
    entry, lang = page.entry, page.lang
    title, title_fallback = _title_line(entry, lang)
    candidates = [_group_block(entry.practices[i], lang) for i in page.order[page.start:]]
    candidates = candidates[:page.size]
    tail_base = [] if entry.has_practices else [_no_practices(lang),
                                                *_related_lines(catalogue, entry, lang)]

    def build(blocks: Sequence[_Block]) -> tuple[str, bool]:
        shown = (*title_fallback, *page.intro_fallback, *(c for b in blocks for c in b.fallback))
        head = [title, _fallback_note(lang, shown) if shown else "", *page.intro]
        if blocks:
            last = page.start + len(blocks)
            head.append(page.heading.format(first=page.start + 1, last=last,
                                            count=len(blocks), total=len(page.order)))
        tail = [*tail_base, _legend(catalogue, blocks, lang), caveat(lang)]
        return _assemble(head, blocks, tail), bool(shown)

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


def _valid_points(entry: Entry, match: Match) -> list[tuple[int, int]]:
    points = [(g, p) for g, p in dict.fromkeys(match.points)
              if 0 <= g < len(entry.practices) and 0 <= p < len(entry.practices[g].points)]
    if not points:  # none chosen (or stale): the first points of the best groups
        groups = [g for g in match.practices if 0 <= g < len(entry.practices)] or [0]
        points = [(g, p) for g in groups for p in range(len(entry.practices[g].points))]
    return points[:ANSWER_POINTS]


def _first_card(catalogue: Catalogue, entry: Entry, match: Match, lang: str,
                limit: int) -> Card:
    """The phone-sized first answer: challenge, best points, one-line sources, caveat."""
    title, title_fallback = _title_line(entry, lang)
    points = [entry.practices[g].points[p] for g, p in _valid_points(entry, match)]
    texts = [point.text_in(lang) for point in points]
    shown = (*title_fallback, *_fallbacks(texts))
    head = [title, _fallback_note(lang, shown) if shown else "",
            "<i>" + translate("The practices that best match your question:", lang) + "</i>"]
    refs = [ref for point in points for ref in point.sources]
    names = _source_names(catalogue, refs, lang)
    source = ""
    if names:
        line = f"{escape(translate('Sources:', lang))} {'; '.join(names)}"
        source = f"<i>{_clip(line, SOURCE_LINE_MAX)}</i>"
    tail = [source, caveat(lang)]

    def build(room: int) -> str:
        lines = [f"• {_clip(escape(t.text), room)}{_refs(pt.sources)}"
                 for t, pt in zip(texts, points, strict=True)]
        return "\n\n".join(part for part in [*head, "\n".join(lines), *tail] if part)

    room = POINT_MAX
    text = build(room)
    while len(text) > limit and room > 40:
        room -= max(10, (len(text) - limit) // max(len(points), 1))
        text = build(room)
    return Card(text, entry.id, 1 if entry.practices else None, bool(shown))


def answer_card(catalogue: Catalogue, match: Match, lang: str, start: int = 0,
                limit: int = TELEGRAM_TEXT_LIMIT) -> Card | None:
    """The answer to a question, page by page.

    Page 0 fits a phone screen (`FIRST_CARD_MAX`): the challenge, the practice points chosen
    for the question and a one-line source note. Page `start` >= 1 shows whole practice groups
    from the `start`-th on, in the match's order (best-matching first) then the toolkit's.
    None if the entry is gone or `start` is out of range. An entry without practices (reached
    only through stored matches) shows its summary and says its practices are not yet written.
    """
    entry = catalogue.get(match.entry_id)
    if entry is None or start < 0:
        return None
    if start == 0 and entry.has_practices and entry.practices:
        return _first_card(catalogue, entry, match, lang, min(limit, FIRST_CARD_MAX))
    best = [i for i in dict.fromkeys(match.practices) if 0 <= i < len(entry.practices)]
    order = _answer_order(entry, best)
    if start > len(order) or (start == 0 and entry.has_practices):
        return None
    intro: tuple[str, ...] = ()
    intro_fallback: tuple[str, ...] = ()
    if not entry.has_practices:
        if start != 0:
            return None
        summary = entry.summary_in(lang)
        intro, intro_fallback = (_text(summary),), _fallbacks([summary])
    heading = translate("Good practices {first}–{last} of {total}:", lang)
    page = _Page(entry, lang, order, max(start - 1, 0), heading, intro, intro_fallback)
    card = _render(catalogue, page, limit)
    following = None if card.next_start is None else card.next_start + 1
    return Card(card.text, card.entry_id, following, card.fallback)


def challenge_card(catalogue: Catalogue, entry: Entry, lang: str, start: int = 0,
                   limit: int = TELEGRAM_TEXT_LIMIT) -> Card | None:
    """A challenge reached by browsing: its summary, then its practices page by page."""
    if not _valid_start(entry, start):
        return None
    intro: tuple[str, ...] = ()
    intro_fallback: tuple[str, ...] = ()
    if start == 0:
        summary = entry.summary_in(lang)
        intro, intro_fallback = (_text(summary),), _fallbacks([summary])
    heading = translate("Good practices {first}–{last} of {total}:", lang)
    page = _Page(entry, lang, tuple(range(len(entry.practices))), start, heading, intro,
                 intro_fallback)
    return _render(catalogue, page, limit)


def _valid_start(entry: Entry, start: int) -> bool:
    return start == 0 or 0 < start < len(entry.practices)


def no_match_text(lang: str, *, asked: bool = True) -> str:
    """Nothing in the catalogue answers: for /ask, or (`asked` false) for a text that may not be
    a question. Offers browsing and the working group's secretariat."""
    if asked:
        return translate("Nothing in the good-practice catalogue answers that question. You "
                         "can browse the catalogue with /practices, or ask your working "
                         "group's secretariat.", lang)
    return translate("I did not understand that. If it was a question, nothing in the "
                     "good-practice catalogue answers it: you can browse the catalogue with "
                     "/practices, or ask your working group's secretariat. Send /help to see "
                     "what else I can do.", lang)


def unwritten_match_text(catalogue: Catalogue, entry_id: str, lang: str) -> str:
    """A declined question that an entry without written practices is about
    (`PracticeIndex.unwritten_match`): names that entry, whose summary can be read, beside
    browsing and the secretariat."""
    title = localize(catalogue[entry_id].title, lang).text
    return translate("Nothing written in the good-practice catalogue answers that question yet. "
                     "The toolkit covers it under “{title}”, whose good practices are not yet "
                     "written here: you can read what it is about, browse the catalogue with "
                     "/practices, or ask your working group's secretariat.",
                     lang).format(title=escape(title))


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
    unwritten = " <i>" + translate("(practices not yet written)", lang) + "</i>"
    lines += [f"<b>{escape(e.id)}</b> {_text(e.title_in(lang))}"
              f"{'' if e.has_practices else unwritten}" for e in entries]
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
