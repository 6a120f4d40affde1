"""The answer cards and browsing lists of the practice catalogue, without Telegram."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.formatting import TELEGRAM_TEXT_LIMIT
from bot.i18n import LANGUAGE_NAMES, translate
from bot.practices import answers as practice_answers
from bot.practices.answers import (
    CAVEAT,
    KEY_MAX,
    QUESTION_MAX,
    CatalogueUnavailable,
    Match,
    QuestionError,
    answer_card,
    browse_chapter,
    browse_factsheets,
    browse_section,
    browse_top,
    challenge_card,
    clean_question,
    decode_matches,
    encode_matches,
    entry_by_key,
    entry_key,
    entry_parent,
    find_matches,
    get_practice_index,
    matches_listing,
    no_match_text,
    practice_index,
)
from bot.practices.catalogue import Catalogue, builtin_dir, default_catalogue, load
from bot.practices.search import PracticeIndex

LANGS = ("en", "fr", "sw", "es", "ln")


@pytest.fixture(scope="module")
def index() -> PracticeIndex:
    return practice_index()


@pytest.fixture(scope="module")
def catalogue(index: PracticeIndex) -> Catalogue:
    return index.catalogue


def _headings_on(card_text: str, catalogue: Catalogue, entry_id: str, lang: str) -> list[int]:
    entry = catalogue[entry_id]
    return [i for i, group in enumerate(entry.practices)
            if f"<b>{group.heading_in(lang).text}</b>" in card_text]


def _pages(first, following):
    """Every page of a card: the first, then `following(start)` while there is more."""
    pages = [first]
    while pages[-1].next_start is not None:
        pages.append(following(pages[-1].next_start))
    return pages


@pytest.mark.parametrize(("question", "lang", "expected"), [
    ("what should we do if the mining police arrest protesters?", "en", {"2.8.d"}),
    ("que faire si le gouverneur ignore l'accord signé à Kinshasa ?", "fr", {"1.1.c"}),
    # police and protesters: the challenge of force used wrongly answers it as well
    ("polisi waliwakamata waandamanaji", "sw", {"2.8.d", "2.7.a"}),
])
def test_find_matches(index: PracticeIndex, question: str, lang: str, expected: set[str]) -> None:
    matches = find_matches(index, question, lang)
    assert matches[0].entry_id in expected
    assert 1 <= len(matches) <= practice_answers.MATCH_LIMIT
    assert all(len(m.practices) <= practice_answers.ANSWER_PRACTICES for m in matches)


@pytest.mark.parametrize("question", ["hello", "thanks", "what's the weather tomorrow",
                                      "bonjour", "?!"])
def test_small_talk_finds_nothing(index: PracticeIndex, question: str) -> None:
    assert find_matches(index, question, "en") == []


def _bullets(card_text: str) -> list[str]:
    return [line for line in card_text.splitlines() if line.startswith("• ")]


def test_answer_card_fits_a_phone_and_shows_the_points_chosen_for_the_question(
        index, catalogue) -> None:
    match = find_matches(index, "what should we do if the mining police arrest protesters?",
                         "en")[0]
    card = answer_card(catalogue, match, "en")
    entry = catalogue["2.8.d"]
    assert card.entry_id == "2.8.d" and not card.fallback
    assert len(card.text) <= practice_answers.FIRST_CARD_MAX
    assert card.text.startswith(f"<b>2.8.d</b> · <b>{entry.title['en']}</b>")
    assert "The practices that best match your question:" in card.text
    assert len(match.points) == 3 and len(_bullets(card.text)) == 3
    for (g, p), line in zip(match.points, _bullets(card.text), strict=True):
        assert line.startswith("• " + entry.practices[g].points[p].text["en"][:30])
    assert match.points != ((0, 0), (0, 1), (0, 2))  # chosen for the question, not the first
    assert match.points[0][0] == 6  # "Report abuses", whose keywords name arrests
    assert "<i>Sources: " in card.text and card.text.endswith(f"<i>{CAVEAT}</i>")
    source = next(line for line in card.text.splitlines() if line.startswith("<i>Sources: "))
    assert source.endswith("…</i>") and len(source) <= practice_answers.SOURCE_LINE_MAX + 7
    assert card.text.count("<i>") == card.text.count("</i>")
    assert card.next_start == 1
    following = answer_card(catalogue, match, "en", 1)
    assert match.practices[0] in _headings_on(following.text, catalogue, "2.8.d", "en")


@pytest.mark.parametrize(("question", "lang"), [
    ("soldiers raped women near the mine, what do we do", "en"),
    ("des policiers ont torturé un suspect", "fr"),
    ("la policía mató a un manifestante", "es"),
    ("polisi waliua mchimbaji", "sw"),
    ("basoda babomi moto", "ln"),
])
def test_sensitive_questions_lead_with_the_practices_about_victims(tmp_path: Path, question: str,
                                                                   lang: str) -> None:
    entry = {
        "id": "abuse", "kind": "factsheet", "has_practices": True,
        "title": {"en": "Abuses by soldiers, police and guards near the mine"},
        "summary": {"en": "Rape, killing, torture by soldiers, police, guards, policía."},
        "keywords": {lang: [question]},
        "practices": [
            {"heading": {"en": "Report the abuses of soldiers to the authorities"},
             "points": [{"text": {"en": f"Report what soldiers and police did {n}."}}
                        for n in range(3)]},
            {"heading": {"en": "Protect those harmed"}, "tags": ["victims"],
             "points": [{"text": {"en": "Refer survivors to medical and psychological care."}},
                        {"text": {"en": "Keep the identity of those who report confidential."}}]},
        ],
    }
    (tmp_path / "abuse.yaml").write_text(yaml.safe_dump(entry), encoding="utf-8")
    index = PracticeIndex(load([builtin_dir(), tmp_path]))
    match = next(m for m in find_matches(index, question, lang) if m.entry_id == "abuse")
    assert match.points[:2] == ((1, 0), (1, 1))
    assert match.practices[0] == 1
    calm = next(m for m in find_matches(index, "report soldiers police abuses", "en")
                if m.entry_id == "abuse")
    assert calm.points[0][0] == 0


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("entry_id", ["1.1.a", "1.1.c", "2.8.d", "icwg"])
def test_pages_show_every_practice_once(catalogue, lang: str, entry_id: str) -> None:
    entry = catalogue[entry_id]
    match = Match(entry_id, (len(entry.practices) - 1, 1), ((1, 0),))
    answers = _pages(answer_card(catalogue, match, lang),
                     lambda start: answer_card(catalogue, match, lang, start))
    assert _headings_on(answers[0].text, catalogue, entry_id, lang) == []
    assert len(answers[0].text) <= practice_answers.FIRST_CARD_MAX
    assert set(match.practices) <= set(_headings_on(answers[1].text, catalogue, entry_id, lang))
    answers = answers[1:]
    browsing = _pages(challenge_card(catalogue, entry, lang),
                      lambda start: challenge_card(catalogue, entry, lang, start))
    for pages in (answers, browsing):
        shown = [i for page in pages for i in _headings_on(page.text, catalogue, entry_id, lang)]
        assert sorted(shown) == list(range(len(entry.practices)))
        assert all(len(page.text) <= TELEGRAM_TEXT_LIMIT for page in pages)
        assert all(page.text.endswith(f"<i>{translate(CAVEAT, lang)}</i>") for page in pages)


def test_translated_entries_need_no_note(catalogue) -> None:
    card = challenge_card(catalogue, catalogue["2.8.d"], "fr")
    assert not card.fallback and "anglais" not in card.text
    assert catalogue["2.8.d"].summary["fr"] in card.text


def test_lingala_readers_get_french_before_english(tmp_path: Path) -> None:
    entry = {
        "id": "sheet", "kind": "factsheet", "has_practices": True,
        "title": {"en": "Title", "fr": "Titre", "ln": "Motó"},
        "summary": {"en": "Summary", "fr": "Résumé"},
        "practices": [{"heading": {"en": "Heading", "fr": "Titre du groupe"},
                       "points": [{"text": {"en": "Only in English"}}]}],
    }
    (tmp_path / "sheet.yaml").write_text(yaml.safe_dump(entry), encoding="utf-8")
    catalogue = load([builtin_dir(), tmp_path])
    card = challenge_card(catalogue, catalogue["sheet"], "ln")
    assert "Motó" in card.text and "Résumé" in card.text and "Titre du groupe" in card.text
    assert "Only in English" in card.text and card.fallback
    note = translate("Parts of this entry are not translated into {language} yet; they are shown "
                     "in {first}, or in {second} where no {first} text exists.", "ln",
                     language="Lingála", first="Français", second="English")
    assert f"<i>{note}</i>" in card.text
    french_only = challenge_card(catalogue, catalogue["sheet"], "ln", limit=4096)
    assert french_only is not None
    english = challenge_card(catalogue, catalogue["sheet"], "sw")
    assert "Summary" in english.text and "Résumé" not in english.text


@pytest.mark.parametrize("lang", ["sw", "es"])
def test_untranslated_texts_come_in_english_with_a_note(tmp_path: Path, lang: str) -> None:
    data = yaml.safe_load((builtin_dir() / "2.8.d.yaml").read_text(encoding="utf-8"))
    for group in data["practices"]:
        for point in group["points"]:
            point["text"] = {"en": point["text"]["en"]}
    (tmp_path / "2.8.d.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                         encoding="utf-8")
    catalogue = load([builtin_dir(), tmp_path])
    card = challenge_card(catalogue, catalogue["2.8.d"], lang)
    assert card.fallback
    note = translate("Parts of this entry are not translated into {language} yet; they are shown "
                     "in English.", lang, language=LANGUAGE_NAMES[lang])
    assert f"<i>{note}</i>" in card.text
    assert catalogue["2.8.d"].title[lang] in card.text
    assert catalogue["2.8.d"].practices[0].points[0].text["en"] in card.text


def test_sources_are_cited_and_explained(catalogue) -> None:
    card = challenge_card(catalogue, catalogue["2.8.d"], "fr", start=6)
    assert "<i>(VPs: 5; MIGA: III-18-19)</i>" in card.text
    name = catalogue.glossary["VPs"].name["fr"]
    assert f"VPs = {name}" in card.text and "<i>Sources :" in card.text


def test_entries_without_practices_say_so(catalogue) -> None:
    assert not catalogue["1.2.b"].has_practices
    card = answer_card(catalogue, Match("1.2.b", ()), "en")
    assert "The good practices for this challenge are not yet written in this catalogue." in (
        card.text)
    assert "toolkit gives no" not in card.text
    assert catalogue["1.2.b"].summary["en"] in card.text
    assert f"<b>1.2.c</b> {catalogue['1.2.c'].title['en']}" in card.text  # related
    assert card.next_start is None and card.text.endswith(f"<i>{CAVEAT}</i>")
    assert answer_card(catalogue, Match("1.2.b", ()), "en", start=1) is None


def test_cards_of_unknown_entries_or_pages_are_none(catalogue) -> None:
    assert answer_card(catalogue, Match("9.9.z", (0,)), "en") is None
    assert answer_card(catalogue, Match("2.8.d", (0,)), "en", start=14) is None  # 13 groups
    assert answer_card(catalogue, Match("2.8.d", (0,)), "en", start=-1) is None
    assert challenge_card(catalogue, catalogue["icwg"], "en", start=6) is None
    card = answer_card(catalogue, Match("2.8.d", (99, 2, 2), ((99, 0), (2, 99))), "en")  # stale
    assert catalogue["2.8.d"].practices[2].points[0].text["en"][:40] in card.text
    card = answer_card(catalogue, Match("2.8.d", (99, 2, 2)), "en", start=1)
    assert 2 in _headings_on(card.text, catalogue, "2.8.d", "en")


def _operator_catalogue(tmp_path: Path, title: str, points: int, size: int) -> Catalogue:
    text = ("Keep <b>calm</b> & carry on; " * 200)[:size]
    entry = {
        "id": "big-sheet", "kind": "factsheet", "has_practices": True,
        "title": {"en": title}, "summary": {"en": "A & B <i>summary</i>."},
        "practices": [{"heading": {"en": f"Group {n}"}, "sources": ["VPs: 4"],
                       "points": [{"text": {"en": text}}] * points} for n in range(5)],
    }
    (tmp_path / "big-sheet.yaml").write_text(yaml.safe_dump(entry), encoding="utf-8")
    return load([builtin_dir(), tmp_path])


def test_catalogue_text_is_escaped(tmp_path: Path) -> None:
    catalogue = _operator_catalogue(tmp_path, "Fish & <chips>", points=1, size=40)
    card = challenge_card(catalogue, catalogue["big-sheet"], "en")
    assert "<b>Fish &amp; &lt;chips&gt;</b>" in card.text
    assert "A &amp; B &lt;i&gt;summary&lt;/i&gt;." in card.text
    assert "Keep &lt;b&gt;calm&lt;/b&gt; &amp; carry on;" in card.text


@pytest.mark.parametrize("limit", [TELEGRAM_TEXT_LIMIT, 1500])
def test_long_practices_are_split_or_clipped_to_fit(tmp_path: Path, limit: int) -> None:
    catalogue = _operator_catalogue(tmp_path, "Huge", points=8, size=5000)
    entry = catalogue["big-sheet"]
    pages = _pages(challenge_card(catalogue, entry, "en", limit=limit),
                   lambda start: challenge_card(catalogue, entry, "en", start, limit=limit))
    assert len(pages) == 5  # one oversized group per page
    for page in pages:
        assert len(page.text) <= limit
        assert page.text.endswith(f"<i>{CAVEAT}</i>")
        assert "…" in page.text
        assert "&amp" not in page.text.replace("&amp;", "")  # no entity cut in half


def test_clean_question() -> None:
    assert clean_question("  what\n should   we do?  ") == "what should we do?"
    for text, code in [(None, "empty"), ("   ", "empty"), ("x" * (QUESTION_MAX + 1), "long")]:
        with pytest.raises(QuestionError) as info:
            clean_question(text)
        assert info.value.code == code
    assert clean_question("x" * QUESTION_MAX) == "x" * QUESTION_MAX


def test_matches_keep_no_question_text_and_survive_storage() -> None:
    matches = [Match("2.8.d", (6, 1), ((6, 0), (1, 2))), Match("icwg", ())]
    stored = encode_matches(matches)
    assert stored == [["2.8.d", [6, 1], [[6, 0], [1, 2]]], ["icwg", [], []]]
    assert decode_matches(stored) == matches
    assert decode_matches([["2.8.d", [6, 1]]]) == [Match("2.8.d", (6, 1))]  # stored earlier
    for broken in (None, "2.8.d", [["2.8.d"]], [["2.8.d", ["x"]]], [[1, []]], [["a", [-1]]],
                   {"a": 1}, [["a", [], [[1]]]], [["a", [], [[1, True]]]]):
        assert decode_matches(broken) == []


def test_matches_listing(catalogue) -> None:
    listing = matches_listing(catalogue, [Match("2.8.d", ()), Match("gone", ()),
                                          Match("icwg", ())], "fr")
    assert listing.text.splitlines()[0] == "Réponses à votre question :"
    assert [(c.ref, c.label) for c in listing.choices] == [("0", "1. 2.8.d"), ("2", "3. icwg")]


def test_entry_keys_fit_in_buttons(tmp_path: Path) -> None:
    catalogue = default_catalogue()
    assert entry_key("2.8.d") == "2.8.d"
    assert entry_by_key(catalogue, "2.8.d") is catalogue["2.8.d"]
    for forged in ("9.9.z", "~000000000000", "", "2.8.D "):
        assert entry_by_key(catalogue, forged) is None
    long_id = "a-very-long-fact-sheet-name-for-operators"
    key = entry_key(long_id)
    assert len(key) <= KEY_MAX and key != long_id and key == entry_key(long_id)
    assert entry_by_key(catalogue, long_id) is None  # a long id only travels as its digest


def test_browsing_lists(catalogue) -> None:
    top = browse_top(catalogue, "en")
    assert [(c.level, c.ref) for c in top.choices] == [
        ("chapter", "1"), ("chapter", "2"), ("chapter", "3"), ("chapter", "4"),
        ("factsheets", "")]
    assert top.parent is None
    chapter = browse_chapter(catalogue, 2, "fr")
    assert [c.ref for c in chapter.choices] == [f"2.{n}" for n in range(1, 9)]
    assert chapter.parent == ("top", "")
    assert "Chapitre 2" in chapter.text
    section = browse_section(catalogue, "1.1", "sw")
    assert [c.ref for c in section.choices] == ["1.1.a", "1.1.b", "1.1.c"]
    assert section.parent == ("chapter", "1")
    assert catalogue["1.1.a"].title["sw"] in section.text
    assert [c.ref for c in browse_factsheets(catalogue, "en").choices] == [
        e.id for e in catalogue.factsheets()]
    assert browse_chapter(catalogue, 42, "en") is None
    assert browse_section(catalogue, "9.9", "en") is None
    # Every chapter and section of the shipped catalogue has entries now: a catalogue without
    # chapter 3 and section 2.3 shows that those without entries are not offered.
    partial = replace(catalogue, entries={
        k: e for k, e in catalogue.entries.items() if e.chapter != 3 and e.section != "2.3"})
    assert [c.ref for c in browse_top(partial, "en").choices] == [
        "1", "2", "4", ""]
    assert browse_chapter(partial, 3, "en") is None
    assert "2.3" not in [c.ref for c in browse_chapter(partial, 2, "en").choices]
    assert browse_section(partial, "2.3", "en") is None
    assert entry_parent(catalogue["2.8.d"]) == ("section", "2.8")
    assert entry_parent(catalogue["icwg"]) == ("factsheets", "")


def test_browsing_marks_challenges_whose_practices_are_not_written(catalogue) -> None:
    section = browse_section(catalogue, "1.2", "en")
    assert "<b>1.2.b</b> " + catalogue["1.2.b"].title["en"] + (
        " <i>(practices not yet written)</i>") in section.text
    assert "1.2.b" in [c.ref for c in section.choices]
    assert "<b>1.2.a</b> " + catalogue["1.2.a"].title["en"] + "\n" in section.text  # has them
    assert section.text.count("(practices not yet written)") == sum(
        not e.has_practices for e in catalogue.entries_in_section("1.2"))


def test_no_match_text_points_to_browsing() -> None:
    for lang in LANGS:
        assert "/practices" in no_match_text(lang)
        assert "/practices" in no_match_text(lang, asked=False)
        assert "/help" in no_match_text(lang, asked=False)


def test_the_index_is_built_once_per_set_of_directories(tmp_path: Path) -> None:
    assert practice_index() is practice_index()
    operator = tmp_path / "operator"
    operator.mkdir()
    built = practice_index([operator])
    assert built is practice_index([operator]) is practice_index([tmp_path / "." / "operator"])
    assert built is not practice_index()
    assert practice_answers.index_is_built([operator])


async def test_the_index_is_built_off_the_event_loop(tmp_path: Path) -> None:
    index = await get_practice_index([tmp_path])
    assert index is await get_practice_index([tmp_path]) is practice_index([tmp_path])


def test_a_broken_catalogue_is_not_cached(tmp_path: Path) -> None:
    operator = tmp_path / "broken"
    with pytest.raises(CatalogueUnavailable) as info:
        practice_index([operator])  # not a directory yet
    assert info.value.errors == 1
    assert not practice_answers.index_is_built([operator])
    operator.mkdir()
    assert isinstance(practice_index([operator]), PracticeIndex)
