"""The practice catalogue: shipped content, validation errors, operator overrides, lookups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.practices.catalogue import (
    COVERAGE,
    LANGUAGES,
    CatalogueLoadError,
    builtin_dir,
    catalogue_dirs,
    check,
    default_catalogue,
    errors,
    fallbacks_for,
    load,
    localize,
    localize_list,
    normalize_language,
)

# The complete catalogue: 39 challenges of chapters 1-4 and 8 fact sheets; 10 of them have no
# practices in the toolkit's text (yet).
CHALLENGES = {"1.1.a", "1.1.b", "1.1.c", "1.2.a", "1.2.b", "1.2.c", "1.2.d", "1.3.a",
              "2.1.a", "2.2.a", "2.3.a", "2.4.a", "2.5.a", "2.5.b", "2.6.a", "2.7.a",
              "2.8.a", "2.8.b", "2.8.c", "2.8.d",
              "3.1.a", "3.2.a", "3.2.c", "3.3.a", "3.4.a", "3.5.a", "3.6.a", "3.7.a", "3.8.a",
              "3.9.a", "3.10.a",
              "4.1.a", "4.1.b", "4.1.d", "4.1.e", "4.2.a", "4.3.a", "4.4.a", "4.5.a"}
FACTSHEETS = ["armed-conflict", "asm", "gender", "hrd", "hrdd", "icwg", "indigenous", "mou"]
STUBS = {"1.2.b", "1.2.c", "1.2.d", "2.5.b", "3.2.c", "4.1.b", "4.1.d", "4.1.e", "asm", "mou"}
WITH_CASE_STUDY = {"1.1.b", "2.6.a", "3.2.a", "3.5.a", "3.8.a", "icwg", "indigenous"}


def _entry(entry_id: str = "3.1.a", **changes: Any) -> dict[str, Any]:
    """A minimal valid entry, as an operator would write it."""
    section = ".".join(entry_id.split(".")[:2])
    data: dict[str, Any] = {
        "id": entry_id,
        "chapter": int(section.split(".")[0]),
        "section": section,
        "has_practices": True,
        "title": {"en": "Convoys are escorted by soldiers", "fr": "Convois escortés"},
        "summary": {"en": "Escorts of company convoys by the army."},
        "practices": [{
            "heading": {"en": "Agree escort rules"},
            "points": [{"text": {"en": "Write the escort rules down."}, "sources": ["VPs: 4"]}],
        }],
        "questions": {"en": ["Who escorts our trucks?"]},
    }
    data.update(changes)
    return data


def _write(directory: Path, name: str, data: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_catalogue_has_no_error_and_no_missing_translation() -> None:
    # Every text a reader sees in all five languages (COVERAGE): this fails, naming each
    # missing field, until the catalogue's content is complete.
    assert [str(issue) for issue in check()] == []


def _everywhere(text: str) -> dict[str, str]:
    return {lang: f"{text} ({lang})" for lang in LANGUAGES}


def _complete_catalogue(directory: Path) -> Path:
    entry = _entry(
        title=_everywhere("Convoys"), summary=_everywhere("Escorts"),
        questions={lang: [f"Who escorts us? ({lang})"] for lang in LANGUAGES},
        keywords={lang: [f"escort ({lang})"] for lang in LANGUAGES},
        practices=[{"heading": _everywhere("Agree rules"), "note": _everywhere("A note"),
                    "keywords": {lang: ["rules"] for lang in LANGUAGES}, "tags": ["victims"],
                    "points": [{"text": _everywhere("Write them"), "sources": ["VPs: 4"]}]}],
        case_study={"title": _everywhere("A case"), "text": _everywhere("What happened")},
    )
    _write(directory, "3.1.a.yaml", entry)
    _write(directory, "glossary.yaml", {"VPs": {"kind": "source", "name": _everywhere("VPs")}})
    _write(directory, "structure.yaml", {"chapters": [{
        "number": 3, "title": _everywhere("Chapter 3"),
        "sections": [{"id": "3.1", "title": _everywhere("Section 3.1")}]}]})
    return directory


def test_every_text_is_required_in_five_languages(tmp_path: Path) -> None:
    assert set(COVERAGE) >= {"title", "summary", "heading", "note", "point", "case_study",
                             "questions", "keywords", "glossary", "structure"}
    assert all(COVERAGE[kind] == LANGUAGES for kind in COVERAGE)
    assert check([_complete_catalogue(tmp_path)]) == []


@pytest.mark.parametrize(("path", "field"), [
    (("practices", 0, "points", 0, "text"), "practices[0].points[0].text"),
    (("practices", 0, "heading"), "practices[0].heading"),
    (("practices", 0, "note"), "practices[0].note"),
    (("case_study", "text"), "case_study.text"),
    (("summary",), "summary"),
    (("keywords",), "keywords"),
])
def test_strict_check_names_each_missing_language(tmp_path: Path, path: tuple[Any, ...],
                                                  field: str) -> None:
    directory = _complete_catalogue(tmp_path)
    data = yaml.safe_load((directory / "3.1.a.yaml").read_text(encoding="utf-8"))
    target = data
    for key in path:
        target = target[key]
    del target["ln"]
    _write(directory, "3.1.a.yaml", data)
    issues = check([directory])
    assert [(i.field, i.severity) for i in issues] == [(f"{field}.ln", "warning")]
    assert f"3.1.a.yaml: {field}.ln: warning: missing translation" in str(issues[0])


def test_shipped_catalogue_has_the_seeded_entries() -> None:
    catalogue = default_catalogue()
    assert set(catalogue.entries) == CHALLENGES | set(FACTSHEETS)
    for entry_id in set(catalogue.entries) - STUBS:
        assert catalogue[entry_id].has_practices and catalogue[entry_id].practices, entry_id
    for entry_id in STUBS:
        assert not catalogue[entry_id].has_practices and not catalogue[entry_id].practices
    assert {e.id for e in catalogue if e.case_study is not None} == WITH_CASE_STUDY
    assert {e.id for e in catalogue if e.kind == "factsheet"} == set(FACTSHEETS)


def test_languages_required_by_the_project_are_present() -> None:
    for entry in default_catalogue():
        assert set(entry.title) == set(LANGUAGES), entry.id
        assert {"en", "fr", "es", "sw"} <= set(entry.summary), entry.id
        assert all(entry.questions.get(lang) for lang in LANGUAGES), entry.id
        for group in entry.practices:
            assert {"en", "fr", "es", "sw"} <= set(group.heading), entry.id
            assert all({"en", "fr"} <= set(point.text) for point in group.points), entry.id


def test_every_cited_source_is_explained_in_english_and_french() -> None:
    catalogue = default_catalogue()
    cited = {ref.split(":")[0] for entry in catalogue for ref in entry.sources()}
    assert {"VPs", "IGTs", "MIGA", "GPs"} <= cited
    for abbr in cited:
        item = catalogue.glossary[abbr]
        assert item.kind == "source"
        assert {"en", "fr"} <= set(item.name)
    assert catalogue.source_name("MIGA: III-13", "fr").text.startswith("Boîte à outils")


def test_related_entries_exist_and_are_listed() -> None:
    catalogue = default_catalogue()
    assert [e.id for e in catalogue.related("1.1.c")] == ["1.1.a", "1.1.b", "icwg"]
    assert catalogue.related("no-such-entry") == []


def test_browsing_by_chapter_and_section() -> None:
    catalogue = default_catalogue()
    assert [c.number for c in catalogue.chapters()] == [1, 2, 3, 4]
    assert [s.id for s in catalogue.sections_with_entries(1)] == ["1.1", "1.2", "1.3"]
    assert [s.id for s in catalogue.sections_with_entries(3)] == [f"3.{n}" for n in range(1, 11)]
    assert [e.id for e in catalogue.entries_in_section("1.1")] == ["1.1.a", "1.1.b", "1.1.c"]
    assert [e.id for e in catalogue.entries_in_section("3.2")] == ["3.2.a", "3.2.c"]
    assert [e.id for e in catalogue.entries_in_chapter(2)] == [
        "2.1.a", "2.2.a", "2.3.a", "2.4.a", "2.5.a", "2.5.b", "2.6.a", "2.7.a",
        "2.8.a", "2.8.b", "2.8.c", "2.8.d"]
    assert [e.id for e in catalogue.entries_in_chapter(3)][-1] == "3.10.a"  # 3.10 after 3.9
    assert [e.id for e in catalogue.factsheets()] == FACTSHEETS
    assert list(catalogue.entries)[-1] == FACTSHEETS[-1]
    assert catalogue.section("2.8").title["fr"] == "Violations des droits humains"
    assert catalogue.get(" 2.8.A ") is catalogue["2.8.a"]
    assert catalogue.get("9.9.z") is None


def test_localized_lookup_says_when_it_fell_back() -> None:
    entry = default_catalogue()["2.8.d"]
    assert entry.title_in("ln").fallback is False
    point = entry.practices[0].points[0]
    assert point.text_in("fr") == (point.text["fr"], "fr", False)
    assert localize({"en": "x", "fr": "y"}, "ln") == ("y", "fr", True)  # French first
    assert localize({"en": "x"}, "ln") == ("x", "en", True)
    assert localize({"en": "x", "fr": "y"}, "sw") == ("x", "en", True)
    assert localize({"en": "x", "fr": "y"}, "ln", fallbacks=("en",)) == ("x", "en", True)
    assert fallbacks_for("ln") == ("fr", "en") and fallbacks_for("es") == ("en",)
    assert localize_list({"en": ["a"]}, "sw") == (("a",), "en", True)
    assert localize_list({}, "sw").items == ()


@pytest.mark.parametrize(("tag", "expected"), [
    ("fr", "fr"), ("fr-FR", "fr"), ("SW", "sw"), ("pt-BR", None), ("", None), (None, None),
])
def test_normalize_language(tag: str | None, expected: str | None) -> None:
    assert normalize_language(tag) == expected


def test_broken_file_is_reported_with_file_and_field(tmp_path: Path) -> None:
    broken = _entry()
    broken["practices"][0]["points"][0]["text"] = {"fr": "Sans anglais"}
    broken["practices"][0]["points"][0]["sources"] = ["VPs: 4", "XYZ: 3"]
    broken["related"] = ["9.9.z"]
    path = _write(tmp_path, "3.1.a.yaml", broken)
    issues = errors(check(catalogue_dirs([tmp_path])))
    found = {(issue.file, issue.field) for issue in issues}
    assert (str(path), "practices[0].points[0].text") in found
    assert all(issue.file == str(path) for issue in issues)
    assert len(issues) == 1  # the schema error stops this file before cross-file checks
    del broken["practices"][0]["points"][0]["text"]["fr"]
    broken["practices"][0]["points"][0]["text"]["en"] = "Fixed"
    _write(tmp_path, "3.1.a.yaml", broken)
    found = {(i.field, i.message) for i in errors(check(catalogue_dirs([tmp_path])))}
    assert ("practices[0].points[0].sources[1]", "source 'XYZ' is not in the glossary") in found
    assert ("related[0]", "unknown entry '9.9.z'") in found


def test_every_kind_of_error_names_its_field(tmp_path: Path) -> None:
    _write(tmp_path, "3.1.b.yaml", _entry("3.1.b", title={"en": "x", "xx": "y"}, colour="red"))
    _write(tmp_path, "3.1.c.yaml", _entry("3.1.d"))
    _write(tmp_path, "3.2.a.yaml", _entry("3.2.a", has_practices=False, section="3.1"))
    (tmp_path / "3.6.a.yaml").write_text("id: 3.6.a\ntitle: [unclosed\n", encoding="utf-8")
    (tmp_path / "3.7.a.yaml").write_text("- a list\n", encoding="utf-8")
    fields = {(Path(i.file).name, i.field) for i in errors(check(catalogue_dirs([tmp_path])))}
    assert ("3.1.b.yaml", "title.xx") in fields
    assert ("3.1.b.yaml", "colour") in fields
    assert ("3.1.c.yaml", "id") in fields
    assert ("3.2.a.yaml", "has_practices") in fields
    assert ("3.2.a.yaml", "id") in fields
    assert any(name == "3.6.a.yaml" and field.startswith("line 3") for name, field in fields)
    assert ("3.7.a.yaml", "(top level)") in fields


def test_missing_translations_are_warnings_not_errors(tmp_path: Path) -> None:
    _write(tmp_path, "3.1.a.yaml", _entry())
    issues = check(catalogue_dirs([tmp_path]))
    assert errors(issues) == []
    assert any(i.field == "title.sw" and i.severity == "warning" for i in issues)
    assert load(catalogue_dirs([tmp_path]))["3.1.a"].title_in("sw").fallback


def test_load_raises_with_every_error(tmp_path: Path) -> None:
    _write(tmp_path, "3.1.a.yaml", _entry(summary={"fr": "pas d'anglais"}))
    _write(tmp_path, "3.1.b.yaml", _entry("3.1.b", related=["nowhere"]))
    with pytest.raises(CatalogueLoadError) as caught:
        load(catalogue_dirs([tmp_path]))
    assert {i.field for i in caught.value.issues} == {"summary", "related[0]"}
    assert "3.1.a.yaml: summary:" in str(caught.value)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    issues = check([tmp_path / "absent"])
    assert [(i.field, i.severity) for i in issues] == [("(directory)", "error")]


def test_operator_directory_replaces_and_adds_entries(tmp_path: Path) -> None:
    replaced = _entry("1.1.a", chapter=1, section="1.1", related=["icwg"])
    replaced["title"] = {"en": "Our own wording", "fr": "Notre formulation"}
    path = _write(tmp_path, "1.1.a.yaml", replaced)
    assert "3.1.b" not in default_catalogue()  # a challenge the shipped catalogue lacks
    added = _write(tmp_path, "3.1.b.yaml", _entry("3.1.b"))
    catalogue = load(catalogue_dirs([tmp_path]))
    assert catalogue["1.1.a"].title_in("fr").text == "Notre formulation"
    assert catalogue.origins["1.1.a"] == path
    assert catalogue.origins["1.1.b"].parent == builtin_dir()
    assert catalogue.origins["3.1.b"] == added
    assert [e.id for e in catalogue.entries_in_section("3.1")] == ["3.1.a", "3.1.b"]
    assert len(catalogue) == len(default_catalogue()) + 1


def test_operator_glossary_and_structure_extend_the_shipped_ones(tmp_path: Path) -> None:
    _write(tmp_path, "glossary.yaml", {"XYZ": {"kind": "source", "name": {"en": "X", "fr": "X"}}})
    _write(tmp_path, "structure.yaml", {"chapters": [{
        "number": 5, "title": {"en": "Extra", "fr": "Extra"},
        "sections": [{"id": "5.1", "title": {"en": "More", "fr": "Plus"}}]}]})
    entry = _entry("5.1.a")
    entry["practices"][0]["points"][0]["sources"] = ["XYZ: 1"]
    _write(tmp_path, "5.1.a.yaml", entry)
    catalogue = load(catalogue_dirs([tmp_path]))
    assert [c.number for c in catalogue.chapters()] == [1, 2, 3, 4, 5]
    assert catalogue.section("1.1") is not None
    assert catalogue.source_name("XYZ: 1", "en").text == "X"


def test_builtin_directory_is_the_package_data() -> None:
    directory = builtin_dir()
    assert (directory / "glossary.yaml").is_file()
    assert (directory / "structure.yaml").is_file()
    assert (directory / "2.8.d.yaml").is_file()
