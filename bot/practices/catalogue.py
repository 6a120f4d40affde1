"""The practice catalogue: one data file per toolkit challenge, validated at load.

The catalogue is read from the package directory `catalogue/` and then from any operator
directories, in order; an entry whose id is already known replaces the earlier one. Every
problem found is reported with the file and the field path, so that `wgbot catalogue check`
can list them all at once. Text fields are mappings from language code to text, with English
always present; `localize` returns the text in the requested language or the English one, and
says which it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

LANGUAGES: tuple[str, ...] = ("en", "fr", "es", "sw", "ln")
BASE_LANGUAGE = "en"

ENTRY_ID_RE = re.compile(r"^(?:\d+\.\d+\.[a-z]|[a-z][a-z0-9_-]*)$")
SECTION_ID_RE = re.compile(r"^\d+\.\d+$")
SOURCE_RE = re.compile(r"^(?P<abbr>[A-Za-z][A-Za-z0-9-]*)(?::\s*(?P<locator>\S.*))?$")
GLOSSARY_STEM = "glossary"
STRUCTURE_STEM = "structure"
YAML_SUFFIXES = (".yaml", ".yml")

# Languages each kind of text is expected in. A missing language is a warning, not an error:
# operators may add English-only entries; the shipped catalogue has none missing
# (`wgbot catalogue check --strict` treats a missing one as an error).
COVERAGE: dict[str, tuple[str, ...]] = {
    kind: LANGUAGES
    for kind in ("title", "summary", "heading", "note", "point", "case_study", "questions",
                 "keywords", "glossary", "structure")
}
# Where a text is missing in the reader's language, the languages tried next, in order:
# Lingala readers (in the DR Congo) read French better than English.
FALLBACKS: dict[str, tuple[str, ...]] = {"ln": ("fr", BASE_LANGUAGE)}
# What a practice group is about, beyond its words: `victims` marks the practices about the
# safety, care, reporting and remedy of those harmed (answers to questions about sexual
# violence, killings or torture lead with them).
PRACTICE_TAGS = ("victims",)

Lang = Literal["en", "fr", "es", "sw", "ln"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _require_base(value: dict[str, str]) -> dict[str, str]:
    if BASE_LANGUAGE not in value:
        raise ValueError(f"the English text ({BASE_LANGUAGE!r}) is required")
    return value


def _check_entry_id(value: str) -> str:
    if not ENTRY_ID_RE.match(value):
        raise ValueError("an id is a toolkit number like '1.1.a' or a lower-case name like 'icwg'")
    return value


def _check_section_id(value: str) -> str:
    if not SECTION_ID_RE.match(value):
        raise ValueError("a section is written like '1.1' (quote it in YAML)")
    return value


def _check_source(value: str) -> str:
    if not SOURCE_RE.match(value):
        raise ValueError("a source is written 'ABBREVIATION: locator', for example 'VPs: 4'")
    return value


LocalizedText = Annotated[dict[Lang, Text], AfterValidator(_require_base)]
LocalizedList = dict[Lang, list[Text]]
EntryId = Annotated[str, AfterValidator(_check_entry_id)]
SectionId = Annotated[str, AfterValidator(_check_section_id)]
SourceRef = Annotated[str, AfterValidator(_check_source)]


class Localized(NamedTuple):
    """A text in one language; `fallback` is true when the requested language was missing."""

    text: str
    lang: str
    fallback: bool


class LocalizedItems(NamedTuple):
    """A list of texts in one language; `fallback` as in `Localized`."""

    items: tuple[str, ...]
    lang: str
    fallback: bool


def normalize_language(code: str | None) -> str | None:
    """Map a language tag such as 'fr-FR' or 'SW' to a supported code, or None."""
    if not code:
        return None
    primary = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


def fallbacks_for(lang: str) -> tuple[str, ...]:
    """The languages shown, in order, where a text is missing in `lang` (see FALLBACKS)."""
    return FALLBACKS.get(lang, (BASE_LANGUAGE,))


def _chain(lang: str, fallbacks: Sequence[str] | None) -> list[str]:
    chain = fallbacks_for(lang) if fallbacks is None else fallbacks
    return [lang, *(code for code in chain if code != lang)]


def localize(
    text: Mapping[str, str], lang: str, fallbacks: Sequence[str] | None = None
) -> Localized:
    """The text in `lang`, else in the first of `fallbacks` present (`fallbacks_for(lang)`:
    French then English for Lingala, English for the others)."""
    for code in _chain(lang, fallbacks):
        if code in text:
            return Localized(text[code], code, code != lang)
    code, value = next(iter(text.items()))
    return Localized(value, code, True)


def localize_list(
    items: Mapping[str, Sequence[str]], lang: str, fallbacks: Sequence[str] | None = None
) -> LocalizedItems:
    """The list in `lang`, else in the first of `fallbacks` that has one; empty if none."""
    for code in _chain(lang, fallbacks):
        if items.get(code):
            return LocalizedItems(tuple(items[code]), code, code != lang)
    return LocalizedItems((), lang, False)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PracticePoint(_Model):
    """One good practice, with its source references ('VPs: 4')."""

    text: LocalizedText
    sources: list[SourceRef] = Field(default_factory=list)

    def text_in(self, lang: str) -> Localized:
        return localize(self.text, lang)


class PracticeGroup(_Model):
    """A good-practice heading, an optional explanatory note, and its points."""

    heading: LocalizedText
    note: LocalizedText | None = None
    sources: list[SourceRef] = Field(default_factory=list)
    keywords: LocalizedList = Field(default_factory=dict)
    tags: list[Literal["victims"]] = Field(default_factory=list)
    points: list[PracticePoint] = Field(default_factory=list)

    def heading_in(self, lang: str) -> Localized:
        return localize(self.heading, lang)

    def note_in(self, lang: str) -> Localized | None:
        return localize(self.note, lang) if self.note else None

    def all_sources(self) -> list[str]:
        """The group's own sources followed by its points', without repeats."""
        refs = [*self.sources, *(ref for point in self.points for ref in point.sources)]
        return list(dict.fromkeys(refs))


class CaseStudy(_Model):
    title: LocalizedText
    text: LocalizedText
    source: Text | None = None


class Entry(_Model):
    """One toolkit challenge (or fact sheet) with its good practices."""

    id: EntryId
    kind: Literal["challenge", "factsheet"] = "challenge"
    chapter: int | None = Field(default=None, ge=1)
    section: SectionId | None = None
    has_practices: bool
    title: LocalizedText
    summary: LocalizedText
    practices: list[PracticeGroup] = Field(default_factory=list)
    case_study: CaseStudy | None = None
    related: list[EntryId] = Field(default_factory=list)
    questions: LocalizedList = Field(default_factory=dict)
    keywords: LocalizedList = Field(default_factory=dict)

    def title_in(self, lang: str) -> Localized:
        return localize(self.title, lang)

    def summary_in(self, lang: str) -> Localized:
        return localize(self.summary, lang)

    def questions_in(self, lang: str) -> LocalizedItems:
        return localize_list(self.questions, lang)

    def sources(self) -> list[str]:
        """Every source reference cited by the entry, in order of first appearance."""
        return list(dict.fromkeys(ref for group in self.practices for ref in group.all_sources()))


class GlossaryItem(_Model):
    """An abbreviation: a cited source ('VPs') or a term used in the texts ('IHL')."""

    kind: Literal["source", "term"]
    name: LocalizedText
    description: LocalizedText | None = None


class Section(_Model):
    id: SectionId
    title: LocalizedText


class Chapter(_Model):
    number: int = Field(ge=1)
    title: LocalizedText
    sections: list[Section] = Field(default_factory=list)


class FactsheetGroup(_Model):
    title: LocalizedText


class Structure(_Model):
    """Chapter and section titles, for browsing."""

    chapters: list[Chapter] = Field(default_factory=list)
    factsheets: FactsheetGroup | None = None


Abbreviation = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9-]*$")]
_GLOSSARY = TypeAdapter(dict[Abbreviation, GlossaryItem])


@dataclass(frozen=True)
class CatalogueIssue:
    """A problem in a catalogue file: the file, the field path and what is wrong."""

    file: str
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.file}: {self.field}: {prefix}{self.message}"


class CatalogueLoadError(Exception):
    """The catalogue has errors; `issues` lists every one of them."""

    def __init__(self, issues: Sequence[CatalogueIssue]) -> None:
        self.issues = list(issues)
        lines = "\n".join(str(issue) for issue in self.issues)
        super().__init__(f"the practice catalogue has {len(self.issues)} error(s):\n{lines}")


def _natural_key(entry_id: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in entry_id.split("."))


def _entry_order(entry: Entry) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    return (0 if entry.kind == "challenge" else 1, _natural_key(entry.id))


@dataclass(frozen=True)
class Catalogue:
    """The loaded catalogue: entries in browsing order, glossary, structure, file of each entry."""

    entries: Mapping[str, Entry]
    glossary: Mapping[str, GlossaryItem] = field(default_factory=dict)
    structure: Structure = field(default_factory=Structure)
    origins: Mapping[str, Path] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.entries

    def __getitem__(self, entry_id: str) -> Entry:
        return self.entries[entry_id]

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id (surrounding spaces and case ignored), or None."""
        return self.entries.get(entry_id.strip().lower())

    def chapters(self) -> list[Chapter]:
        return list(self.structure.chapters)

    def chapter(self, number: int) -> Chapter | None:
        return next((c for c in self.structure.chapters if c.number == number), None)

    def section(self, section_id: str) -> Section | None:
        sections = (s for c in self.structure.chapters for s in c.sections)
        return next((s for s in sections if s.id == section_id), None)

    def entries_in_section(self, section_id: str) -> list[Entry]:
        return [e for e in self if e.section == section_id]

    def entries_in_chapter(self, number: int) -> list[Entry]:
        return [e for e in self if e.chapter == number]

    def sections_with_entries(self, number: int) -> list[Section]:
        """The sections of a chapter that have at least one entry."""
        chapter = self.chapter(number)
        used = {e.section for e in self.entries_in_chapter(number)}
        return [s for s in chapter.sections if s.id in used] if chapter else []

    def factsheets(self) -> list[Entry]:
        return [e for e in self if e.kind == "factsheet"]

    def related(self, entry_id: str) -> list[Entry]:
        entry = self.get(entry_id)
        return [self.entries[r] for r in entry.related if r in self.entries] if entry else []

    def source_name(self, ref: str, lang: str) -> Localized | None:
        """The expansion of a source reference's abbreviation ('VPs: 4' -> the VPs' name)."""
        match = SOURCE_RE.match(ref.strip())
        item = self.glossary.get(match["abbr"]) if match else None
        return localize(item.name, lang) if item else None


def builtin_dir() -> Path:
    """The catalogue shipped with the package (source tree or installed)."""
    beside = Path(__file__).resolve().parents[2] / "catalogue"
    if (beside / f"{GLOSSARY_STEM}.yaml").is_file():
        return beside
    try:
        located = Path(str(resources.files("catalogue")))
    except (ModuleNotFoundError, TypeError):
        return beside
    return located if (located / f"{GLOSSARY_STEM}.yaml").is_file() else beside


def catalogue_dirs(extra: Iterable[Path | str] = ()) -> list[Path]:
    """The package directory followed by operator directories, in override order."""
    return [builtin_dir(), *(Path(d) for d in extra)]


def _field_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _validation_issues(file: str, exc: ValidationError) -> list[CatalogueIssue]:
    issues = []
    for err in exc.errors():
        message = err["msg"]
        if "[key]" in err["loc"]:
            message = f"invalid key: {message}"
        issues.append(CatalogueIssue(file, _field_path(err["loc"]), message))
    return issues


def _read_yaml(path: Path) -> tuple[Any, list[CatalogueIssue]]:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER), []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [CatalogueIssue(str(path), "(file)", f"cannot be read: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [CatalogueIssue(str(path), where, f"invalid YAML: {problem}")]


def _parse(path: Path, adapter: TypeAdapter[Any]) -> tuple[Any, list[CatalogueIssue]]:
    data, issues = _read_yaml(path)
    if issues:
        return None, issues
    if not isinstance(data, dict):
        return None, [CatalogueIssue(str(path), "(top level)", "must be a mapping of fields")]
    try:
        return adapter.validate_python(data), []
    except ValidationError as exc:
        return None, _validation_issues(str(path), exc)


_ENTRY = TypeAdapter(Entry)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STRUCTURE = TypeAdapter(Structure)


def _entry_rules(file: str, entry: Entry, stem: str) -> list[CatalogueIssue]:
    """Rules between fields of one entry, which the schema alone cannot express."""
    issues: list[CatalogueIssue] = []
    if stem != entry.id:
        issues.append(CatalogueIssue(file, "id", f"the file must be named {entry.id}.yaml"))
    if entry.has_practices and not entry.practices:
        issues.append(CatalogueIssue(file, "practices", "has_practices is true but none given"))
    if not entry.has_practices and entry.practices:
        issues.append(CatalogueIssue(file, "has_practices", "false, yet practices are given"))
    if entry.id in entry.related:
        issues.append(CatalogueIssue(file, "related", "an entry cannot be related to itself"))
    issues.extend(_challenge_rules(file, entry))
    return issues


def _challenge_rules(file: str, entry: Entry) -> list[CatalogueIssue]:
    if entry.kind != "challenge":
        return []
    if entry.chapter is None or entry.section is None:
        return [CatalogueIssue(file, "section", "a challenge needs a chapter and a section")]
    issues = []
    if not entry.section.startswith(f"{entry.chapter}."):
        issues.append(CatalogueIssue(file, "section", f"not in chapter {entry.chapter}"))
    if not entry.id.startswith(f"{entry.section}."):
        issues.append(CatalogueIssue(file, "id", f"a challenge of {entry.section} is "
                                                 f"numbered {entry.section}.x"))
    return issues


@dataclass
class _Loaded:
    entries: dict[str, Entry] = field(default_factory=dict)
    origins: dict[str, Path] = field(default_factory=dict)
    glossary: dict[str, GlossaryItem] = field(default_factory=dict)
    glossary_origin: dict[str, Path] = field(default_factory=dict)
    chapters: dict[int, Chapter] = field(default_factory=dict)
    factsheets: FactsheetGroup | None = None
    structure_files: list[Path] = field(default_factory=list)
    issues: list[CatalogueIssue] = field(default_factory=list)


def _load_entries(directory: Path, state: _Loaded) -> None:
    seen: dict[str, Path] = {}
    files = sorted(p for p in directory.iterdir()
                   if p.suffix in YAML_SUFFIXES and p.stem not in (GLOSSARY_STEM, STRUCTURE_STEM))
    for path in files:
        entry, issues = _parse(path, _ENTRY)
        state.issues.extend(issues)
        if entry is None:
            continue
        state.issues.extend(_entry_rules(str(path), entry, path.stem))
        if entry.id in seen:
            state.issues.append(CatalogueIssue(str(path), "id",
                                               f"{entry.id} is also defined in {seen[entry.id]}"))
        seen[entry.id] = path
        state.entries[entry.id] = entry
        state.origins[entry.id] = path


def _special_file(directory: Path, stem: str) -> Path | None:
    return next((directory / f"{stem}{suffix}" for suffix in YAML_SUFFIXES
                 if (directory / f"{stem}{suffix}").is_file()), None)


def _load_glossary(directory: Path, state: _Loaded) -> None:
    path = _special_file(directory, GLOSSARY_STEM)
    if path is None:
        return
    items, issues = _parse(path, _GLOSSARY)
    state.issues.extend(issues)
    for abbr, item in (items or {}).items():
        state.glossary[abbr] = item
        state.glossary_origin[abbr] = path


def _merge_chapter(old: Chapter | None, new: Chapter) -> Chapter:
    if old is None:
        return new
    sections = {s.id: s for s in old.sections} | {s.id: s for s in new.sections}
    ordered = sorted(sections.values(), key=lambda s: _natural_key(s.id))
    return Chapter(number=new.number, title=new.title, sections=ordered)


def _load_structure(directory: Path, state: _Loaded) -> None:
    path = _special_file(directory, STRUCTURE_STEM)
    if path is None:
        return
    structure, issues = _parse(path, _STRUCTURE)
    state.issues.extend(issues)
    if structure is None:
        return
    state.structure_files.append(path)
    for chapter in structure.chapters:
        state.chapters[chapter.number] = _merge_chapter(state.chapters.get(chapter.number), chapter)
    state.factsheets = structure.factsheets or state.factsheets


def _load_directory(directory: Path, state: _Loaded) -> None:
    if not directory.is_dir():
        state.issues.append(CatalogueIssue(str(directory), "(directory)", "not a directory"))
        return
    _load_glossary(directory, state)
    _load_structure(directory, state)
    _load_entries(directory, state)


def _reference_issues(state: _Loaded) -> list[CatalogueIssue]:
    """Checks across files: related ids, cited sources, sections."""
    issues = []
    sections = {s.id for c in state.chapters.values() for s in c.sections}
    for entry_id, entry in state.entries.items():
        file = str(state.origins[entry_id])
        for i, other in enumerate(entry.related):
            if other not in state.entries:
                issues.append(CatalogueIssue(file, f"related[{i}]", f"unknown entry {other!r}"))
        if entry.section and sections and entry.section not in sections:
            issues.append(CatalogueIssue(file, "section", f"section {entry.section} is not in "
                                                          f"{STRUCTURE_STEM}.yaml"))
        issues.extend(_source_issues(file, entry, state.glossary))
    return issues


def _source_issues(file: str, entry: Entry, glossary: Mapping[str, GlossaryItem]) -> list[
        CatalogueIssue]:
    issues = []
    for path, ref in _cited_sources(entry):
        match = SOURCE_RE.match(ref)
        abbr = match["abbr"] if match else ref
        item = glossary.get(abbr)
        if item is None:
            issues.append(CatalogueIssue(file, path, f"source {abbr!r} is not in the glossary"))
        elif item.kind != "source":
            issues.append(CatalogueIssue(file, path, f"{abbr!r} is a term, not a source"))
    return issues


def _cited_sources(entry: Entry) -> Iterator[tuple[str, str]]:
    for g, group in enumerate(entry.practices):
        for s, ref in enumerate(group.sources):
            yield f"practices[{g}].sources[{s}]", ref
        for p, point in enumerate(group.points):
            for s, ref in enumerate(point.sources):
                yield f"practices[{g}].points[{p}].sources[{s}]", ref


def _missing(text: Mapping[str, Any] | None, kind: str) -> list[str]:
    if text is None:
        return []
    return [lang for lang in COVERAGE[kind] if not text.get(lang)]


def _texts_of(entry: Entry) -> Iterator[tuple[str, str, Mapping[str, Any] | None]]:
    yield "title", "title", entry.title
    yield "summary", "summary", entry.summary
    yield "questions", "questions", entry.questions
    yield "keywords", "keywords", entry.keywords
    for g, group in enumerate(entry.practices):
        yield f"practices[{g}].heading", "heading", group.heading
        yield f"practices[{g}].note", "note", group.note
        for p, point in enumerate(group.points):
            yield f"practices[{g}].points[{p}].text", "point", point.text
    if entry.case_study:
        yield "case_study.title", "case_study", entry.case_study.title
        yield "case_study.text", "case_study", entry.case_study.text


def coverage_issues(entries: Mapping[str, Entry], origins: Mapping[str, Path]) -> list[
        CatalogueIssue]:
    """Warnings for every text missing a language the project expects (see COVERAGE)."""
    issues = []
    for entry_id, entry in entries.items():
        file = str(origins[entry_id])
        for path, kind, text in _texts_of(entry):
            for lang in _missing(text, kind):
                issues.append(CatalogueIssue(file, f"{path}.{lang}", "missing translation",
                                             "warning"))
    return issues


def _glossary_coverage(state: _Loaded) -> list[CatalogueIssue]:
    return [CatalogueIssue(str(state.glossary_origin[abbr]), f"{abbr}.name.{lang}",
                           "missing translation", "warning")
            for abbr, item in state.glossary.items() for lang in _missing(item.name, "glossary")]


def _structure_coverage(state: _Loaded) -> list[CatalogueIssue]:
    file = str(state.structure_files[-1]) if state.structure_files else STRUCTURE_STEM
    issues = []
    for chapter in state.chapters.values():
        texts = [(f"chapter {chapter.number}", chapter.title)]
        texts += [(f"section {s.id}", s.title) for s in chapter.sections]
        issues += [CatalogueIssue(file, f"{where}.title.{lang}", "missing translation", "warning")
                   for where, title in texts for lang in _missing(title, "structure")]
    return issues


def load_with_issues(
    dirs: Sequence[Path | str] | None = None,
) -> tuple[Catalogue, list[CatalogueIssue]]:
    """Load every directory in order (later ids replace earlier ones) and report all issues.

    Without `dirs`, only the package catalogue is read. The catalogue returned holds the
    entries that passed the schema, even when other files have errors.
    """
    state = _Loaded()
    for directory in [Path(d) for d in dirs] if dirs is not None else [builtin_dir()]:
        _load_directory(directory, state)
    state.issues += _reference_issues(state)
    state.issues += coverage_issues(state.entries, state.origins)
    state.issues += _glossary_coverage(state) + _structure_coverage(state)
    ordered = dict(sorted(state.entries.items(), key=lambda item: _entry_order(item[1])))
    chapters = [state.chapters[n] for n in sorted(state.chapters)]
    structure = Structure(chapters=chapters, factsheets=state.factsheets)
    catalogue = Catalogue(ordered, dict(state.glossary), structure, dict(state.origins))
    return catalogue, state.issues


def check(dirs: Sequence[Path | str] | None = None) -> list[CatalogueIssue]:
    """Every error and warning in the catalogue made of `dirs` (package directory if None)."""
    return load_with_issues(dirs)[1]


def errors(issues: Iterable[CatalogueIssue]) -> list[CatalogueIssue]:
    return [issue for issue in issues if issue.severity == "error"]


def load(dirs: Sequence[Path | str] | None = None) -> Catalogue:
    """Load and validate; raise CatalogueLoadError listing every error if there is any."""
    catalogue, issues = load_with_issues(dirs)
    found = errors(issues)
    if found:
        raise CatalogueLoadError(found)
    return catalogue


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The package catalogue, loaded once."""
    return load()
