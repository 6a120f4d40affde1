"""The search measured on its question sets: the development sets it was tuned on, and the
held-out set it was not. Thresholds are the measured figures rounded down (README, "Practice
search"), so that a change that makes the search worse fails here; the issue's targets, not met
on the held-out set, are an expected failure with the measured figures."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bot.practices import search
from bot.practices.catalogue import LANGUAGES, default_catalogue
from bot.practices.evaluation import EvalReport, evaluate, fit_decision, load_eval_cases
from bot.practices.search import PracticeIndex, confident

DATA = Path(__file__).resolve().parents[1] / "data"
# the third and fourth: questions outside the scope that look close to it (taxes, permits,
# payroll, visas...; land titles, mobile money, power cuts...), written to calibrate declining
OUT_OF_SCOPE_FILE = DATA / "practice_dev_oos.jsonl"
OUT_OF_SCOPE_FILE_2 = DATA / "practice_dev_oos2.jsonl"
# the fifth: Lingala and Spanish questions as typed on phones (French words in Lingala,
# regional Spanish), written after the third blind set to study the misses in those languages
DEV_FILES = (DATA / "practice_dev.jsonl", DATA / "practice_dev2.jsonl", OUT_OF_SCOPE_FILE,
             OUT_OF_SCOPE_FILE_2, DATA / "practice_dev4.jsonl")
CHECK_FILE = DATA / "practice_dev3.jsonl"  # written fresh, never tuned on
HELD_OUT_FILES = tuple(sorted((DATA / "practice_eval").glob("*.jsonl")))
# written later, the same way, by people who read only the entries' texts (not their example
# questions, keywords or any other set): the second was measured before and after the decision
# was refitted with the out-of-scope calibration questions, the third only after
BLIND_FILES = tuple(sorted((DATA / "practice_eval2").glob("*.jsonl")))
BLIND_FILES_3 = tuple(sorted((DATA / "practice_eval3").glob("*.jsonl")))
# the fourth, written the same way while the fifth development set was being studied, measured
# once, after the words and the refitted decision that followed it
BLIND_FILES_4 = tuple(sorted((DATA / "practice_eval4").glob("*.jsonl")))
# the fifth, two halves written the same way after the fourth was measured, each measured once
# (the first with 12 out-of-scope questions per language, written to calibrate the decision,
# then kept apart as a blind set)
BLIND_FILES_5 = tuple(sorted((DATA / "practice_eval5").glob("*.jsonl")))
# the sixth, written the same way (a third short phone-style questions, a third one sentence,
# a third a story of 2-4 sentences), measured once on the search as it was when it was written
BLIND_FILES_6 = tuple(sorted((DATA / "practice_eval6").glob("*.jsonl")))
# the seventh, written the same way (half of it short phone-style questions), measured once
BLIND_FILES_7 = tuple(sorted((DATA / "practice_eval7").glob("*.jsonl")))
# long questions that tell a story of 40-90 words, in every language, in scope and out of it
# (a story about the mine and the police that ends by asking about a tax or a visa): written
# to study such questions, not fitted on (see test_long_stories)
LONG_STORIES_FILE = DATA / "practice_dev5.jsonl"
# short Swahili and Lingala questions as typed on cheap phones (4-14 words, two per entry and
# language, worded differently), written with the seventh blind set; the fifth round of words
# (Swahili and Lingala example questions and keywords) was written from its misses
SHORT_PHONE_FILE = DATA / "practice_dev6.jsonl"
# the eighth blind set: short Swahili and Lingala phone questions, written the same way as the
# others, measured before and after that round of words
BLIND_FILES_8 = tuple(sorted((DATA / "practice_eval8").glob("*.jsonl")))
# questions that tell a concrete incident in everyday words without naming what it is about
# ("they felled trees across the road to the pit"), one per entry and language, and out-of-scope
# ones set around the same sites, written to study such questions (see test_situations)
SITUATIONS_FILE = DATA / "practice_dev7.jsonl"
# the ninth blind set, written the same way at the same time (half incidents told in everyday
# words, a quarter plain questions, a quarter short phone questions), measured once
BLIND_FILES_9 = tuple(sorted((DATA / "practice_eval9").glob("*.jsonl")))
ALL_BLIND_FILES = (*BLIND_FILES, *BLIND_FILES_3, *BLIND_FILES_4, *BLIND_FILES_5, *BLIND_FILES_6,
                   *BLIND_FILES_7, *BLIND_FILES_8, *BLIND_FILES_9)


@pytest.fixture(scope="module")
def index() -> PracticeIndex:
    return PracticeIndex(default_catalogue())


def _report(index: PracticeIndex, files: tuple[Path, ...]) -> EvalReport:
    return evaluate(index, [case for path in files for case in load_eval_cases(path)])


@pytest.fixture(scope="module")
def dev(index: PracticeIndex) -> EvalReport:
    return _report(index, DEV_FILES)


@pytest.fixture(scope="module")
def check(index: PracticeIndex) -> EvalReport:
    return _report(index, (CHECK_FILE,))


@pytest.fixture(scope="module")
def held_out(index: PracticeIndex) -> EvalReport:
    return _report(index, HELD_OUT_FILES)


def _declined(report: EvalReport) -> float:
    return report.in_scope.share(report.in_scope.abstained)


def _oos_declined(report: EvalReport) -> float:
    return report.out_of_scope.share(report.out_of_scope.abstained)


def _bars(report: EvalReport, top1: float, top3: float, declined: float, oos_declined: float,
          label: object = "") -> None:
    """The measured figures, rounded down: top-1, top-3, in-scope and out-of-scope declined."""
    assert report.top1_accuracy >= top1, label
    assert report.top3_accuracy >= top3, label
    assert _declined(report) <= declined, label
    assert _oos_declined(report) >= oos_declined, label


def test_the_second_development_set_is_large_fresh_and_multilingual(index: PracticeIndex) -> None:
    cases = load_eval_cases(DATA / "practice_dev2.jsonl")
    assert len(cases) >= 200
    assert sum(not case.in_scope for case in cases) >= 30
    for lang in LANGUAGES:
        assert sum(case.lang == lang and case.in_scope for case in cases) >= 30, lang
        assert any(case.lang == lang and not case.in_scope for case in cases), lang
    answering = {entry.id for entry in index.catalogue if entry.has_practices}
    assert all(set(case.expect) <= answering for case in cases)
    held_out = {case.q for path in HELD_OUT_FILES for case in load_eval_cases(path)}
    assert not {case.q for case in cases} & held_out


def test_development_sets(dev: EvalReport) -> None:
    assert dev.top1_accuracy >= 0.95
    assert dev.top3_accuracy >= 0.995
    assert _declined(dev) <= 0.02
    assert _oos_declined(dev) >= 0.9
    for lang, tally in dev.languages.items():
        assert tally.share(tally.top1) >= 0.91, lang
        assert tally.share(tally.top3) >= 0.99, lang
        # better than plain BM25 over the same entries
        assert tally.top1 >= tally.baseline_top1, lang


def test_the_decision_is_the_one_fitted_on_the_development_sets(index: PracticeIndex) -> None:
    fitted = fit_decision(index, [case for path in DEV_FILES for case in load_eval_cases(path)])
    assert fitted.weights == pytest.approx(tuple(search.DECISION), abs=1e-3)
    assert fitted.bias == pytest.approx(search.DECISION_BIAS, abs=1e-3)
    assert fitted.threshold == search.MIN_CONFIDENCE
    assert fitted.out_of_scope_declined >= 0.9


def test_fitting_the_decision_needs_both_kinds_of_questions(index: PracticeIndex) -> None:
    with pytest.raises(ValueError, match="in and out of scope"):
        fit_decision(index, load_eval_cases(DATA / "practice_dev3.jsonl")[:3])


def test_the_check_set_is_fresh_and_multilingual(index: PracticeIndex) -> None:
    cases = load_eval_cases(CHECK_FILE)
    assert len(cases) >= 60
    for lang in LANGUAGES:
        assert sum(case.lang == lang for case in cases) >= 12, lang
        assert 2 <= sum(case.lang == lang and not case.in_scope for case in cases) <= 3, lang
    answering = {entry.id for entry in index.catalogue if entry.has_practices}
    assert all(set(case.expect) <= answering for case in cases)
    others = {case.q for path in (*DEV_FILES, *HELD_OUT_FILES) for case in load_eval_cases(path)}
    assert not {case.q for case in cases} & others


def test_check_set(check: EvalReport) -> None:
    assert check.top1_accuracy >= 0.86
    assert check.top3_accuracy >= 0.96
    # 10.0% (5 of 50): 4.0% before the decision was fitted with the fifth development set
    assert _declined(check) <= 0.10
    assert _oos_declined(check) >= 0.86
    assert check.in_scope.top1 > check.in_scope.baseline_top1


def test_questions_outside_the_scope_that_look_close_are_declined(index: PracticeIndex) -> None:
    for path in (OUT_OF_SCOPE_FILE, OUT_OF_SCOPE_FILE_2):
        report = _report(index, (path,))
        assert report.out_of_scope.total >= 100 and not report.in_scope.total
        assert {case.lang for case in load_eval_cases(path)} == set(LANGUAGES)
        # 88.3% and 92.0% (84.0% of the second before the decision was fitted on it)
        assert _oos_declined(report) >= 0.88, path.name


def test_long_questions_outside_the_scope_are_declined(index: PracticeIndex) -> None:
    # two out-of-scope questions of one language run together: longer, more words the
    # catalogue happens to hold, still nothing it answers
    cases = [case for path in (*DEV_FILES, CHECK_FILE) for case in load_eval_cases(path)
             if not case.in_scope]
    joined = [(f"{a.q}. {b.q}", lang) for lang in LANGUAGES
              for a, b in itertools.combinations([c for c in cases if c.lang == lang], 2)][::5]
    assert len(joined) >= 50
    declined = sum(not confident(index.search(q, lang)) for q, lang in joined)
    assert declined / len(joined) >= 0.90  # measured 90.8% (93.7% before the last words)


def test_questions_that_go_on_about_other_things_are_still_answered(
        index: PracticeIndex) -> None:
    # each in-scope question followed by an out-of-scope one of its language: a long question
    # telling its story around what it asks (on the development sets: 85.5% answered, 97.6%
    # with the expected entry in the first three; 90.6% answered before the decision was
    # calibrated on out-of-scope questions that look close to the catalogue, 77.9% after)
    cases = [case for path in DEV_FILES for case in load_eval_cases(path)]
    answered = found = total = 0
    for lang in LANGUAGES:
        inside = [c for c in cases if c.lang == lang and c.in_scope]
        outside = [c for c in cases if c.lang == lang and not c.in_scope]
        for i, case in enumerate(inside):
            results = index.search(f"{case.q}. {outside[i % len(outside)].q}", lang, limit=3)
            total += 1
            answered += confident(results)
            found += any(result.id in case.expect for result in results)
    assert answered / total >= 0.84
    assert found / total >= 0.97


def test_held_out_set(held_out: EvalReport) -> None:
    assert held_out.top1_accuracy >= 0.78
    assert held_out.top3_accuracy >= 0.93
    assert _declined(held_out) <= 0.12
    assert _oos_declined(held_out) >= 0.82
    # first: 151 questions against plain BM25's 153 since the fifth round of words (which
    # BM25 reads too: it went from 147 to 153); in the first three: 180 against 173
    assert held_out.in_scope.top1 >= held_out.in_scope.baseline_top1 - 2
    assert held_out.in_scope.top3 > held_out.in_scope.baseline_top3


@pytest.mark.xfail(strict=True, reason=(
    "held-out set: top-1 78.2%, top-3 93.3% (74.4-81.6% top-1 in every language), 11.9% of "
    "in-scope questions declined; out of scope (and out of reach: only an entry without "
    "written practices answers) 82.9% declined"))
def test_held_out_targets(held_out: EvalReport) -> None:
    _targets(held_out)


@pytest.fixture(scope="module")
def blind(index: PracticeIndex) -> dict[int, EvalReport]:
    """The blind sets' reports, by the set's number (the second to the ninth)."""
    return {number: _report(index, files) for number, files in
            ((2, BLIND_FILES), (3, BLIND_FILES_3), (4, BLIND_FILES_4), (5, BLIND_FILES_5),
             (6, BLIND_FILES_6), (7, BLIND_FILES_7), (8, BLIND_FILES_8), (9, BLIND_FILES_9))}


def test_the_blind_sets_cover_every_entry_in_every_language(index: PracticeIndex) -> None:
    answering = {entry.id for entry in index.catalogue if entry.has_practices}
    for files in (BLIND_FILES, BLIND_FILES_3, BLIND_FILES_4, *((f,) for f in BLIND_FILES_5),
                  BLIND_FILES_6, BLIND_FILES_7, BLIND_FILES_8, BLIND_FILES_9):
        cases = [case for path in files for case in load_eval_cases(path)]
        # the eighth: Swahili and Lingala only
        for lang in ("sw", "ln") if files == BLIND_FILES_8 else LANGUAGES:
            asked = {case.expect[0] for case in cases if case.lang == lang and case.in_scope}
            assert asked == answering, lang
            assert sum(case.lang == lang and not case.in_scope for case in cases) >= 5, lang
    tuned = {case.q for path in (*DEV_FILES, CHECK_FILE, *HELD_OUT_FILES, LONG_STORIES_FILE,
                                 SHORT_PHONE_FILE, SITUATIONS_FILE)
             for case in load_eval_cases(path)}
    blind = {case.q for path in ALL_BLIND_FILES for case in load_eval_cases(path)}
    assert not blind & tuned


def test_blind_sets(blind: dict[int, EvalReport]) -> None:
    # the measured figures, rounded down: top-1, top-3, in-scope and out-of-scope declined
    bars = {2: (0.93, 0.98, 0.02, 0.83), 3: (0.88, 0.96, 0.04, 0.76), 4: (0.96, 0.99, 0.03, 0.73),
            5: (0.95, 0.98, 0.02, 0.87), 6: (0.93, 0.98, 0.03, 0.87), 7: (0.91, 0.98, 0.04, 0.95),
            8: (0.91, 0.98, 0.06, 1.0), 9: (0.88, 0.97, 0.05, 0.8)}
    for number, figures in bars.items():
        report = blind[number]
        _bars(report, *figures, label=number)
        assert report.in_scope.top1 > report.in_scope.baseline_top1, number


def _targets(report: EvalReport) -> None:
    for lang, tally in report.languages.items():
        assert tally.share(tally.top1) >= 0.85, lang
        assert tally.share(tally.top3) >= 0.95, lang
    assert _declined(report) <= 0.05
    assert _oos_declined(report) >= 0.8


def _missed(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


# Each blind set alone: the sets where a target misses are expected failures carrying their
# figures; the others carry theirs in a comment.
BLIND_TARGETS = [
    pytest.param(2, marks=_missed(
        "second blind set: top-1 93.5% (86.5-97.3% in every language), top-3 98.9% (French "
        "94.6%: it was 97.3% before the fifth round of words), 1.6% of in-scope questions "
        "declined, 83.3% of out-of-scope ones")),
    pytest.param(3, marks=_missed(
        "third blind set: top-1 88.6% (en 91.9, fr 97.3, es 83.8, sw 89.2, ln 81.1%), top-3 "
        "96.8% (ln 91.9%), 3.2% of in-scope questions declined, 76.7% of out-of-scope ones")),
    pytest.param(4, marks=_missed(
        "fourth blind set: top-1 96.2% (94.6-100% in every language), top-3 100%, 2.7% of "
        "in-scope questions declined, but 73.3% of out-of-scope ones (22 of 30)")),
    # top-1 91.9-98.6% and top-3 97.3-100% in every language, 1.6% of in-scope questions
    # declined, 87.8% of out-of-scope ones
    5,
    # top-1 89.2-97.3% and top-3 97.3-100% in every language, 2.2% of in-scope questions
    # declined, 87.5% of out-of-scope ones (measured first: 91.9 / 98.4%, 3.8%, 90.0%; Swahili
    # 13.5% declined before the fifth round of words)
    6,
    # top-1 89.2-94.6% and top-3 97.3-100% in every language, 3.2% of in-scope questions
    # declined, 95.0% of out-of-scope ones (measured first, before the fifth round of words:
    # 91.4 / 97.3%, top-3 94.6% in English and Lingala, 4.3%, 100%)
    7,
    pytest.param(8, marks=_missed(
        "eighth blind set (short Swahili and Lingala questions): top-1 sw 89.2, ln 94.6%; top-3 "
        "sw 100, ln 97.3%; 5.4% of in-scope questions declined (4 of 74, all Swahili: 10.8%); "
        "every out-of-scope one declined. Before the fifth round of words: top-1 sw 81.1, ln "
        "91.9%, 13.5% declined (sw 18.9%)")),
    pytest.param(9, marks=_missed(
        "ninth blind set: top-1 88.6% (en 94.6, es 86.5, fr 91.9, sw 89.2, ln 81.1%), top-3 "
        "97.3% (en 94.6%), 4.9% of in-scope questions declined (9 of 185; sw 16.2%), 80.0% of "
        "out-of-scope ones; plain BM25 84.9% top-1")),
]


@pytest.mark.parametrize("number", BLIND_TARGETS)
def test_the_targets_on_each_blind_set(blind: dict[int, EvalReport], number: int) -> None:
    _targets(blind[number])


def test_the_targets_hold_on_every_blind_set_together(blind: dict[int, EvalReport]) -> None:
    # 1,554 in-scope questions and 305 out-of-scope ones: top-1 90.4-94.3% and top-3
    # 97.6-99.3% in every language, 2.8% of in-scope questions declined, 85.6% of out-of-scope
    # ones; plain BM25 88.5% top-1
    together = EvalReport.pooled(blind.values())
    assert (together.in_scope.total, together.out_of_scope.total) == (1554, 305)
    _targets(together)


def test_the_targets_hold_on_every_set_not_tuned_on(
        index: PracticeIndex, check: EvalReport, held_out: EvalReport,
        blind: dict[int, EvalReport]) -> None:
    # the project's first set, the third development set, the held-out set and every blind set
    # together, 1,856 in-scope questions and 366 out-of-scope ones: top-1 89.5-91.9% and top-3
    # 96.9-99.2% in every language, 4.0% of in-scope questions declined, 85.5% of out-of-scope
    # ones
    together = EvalReport.pooled([_report(index, (DATA / "practice_questions.jsonl",)), check,
                                  held_out, *blind.values()])
    assert (together.in_scope.total, together.out_of_scope.total) == (1856, 366)
    _targets(together)


def test_long_stories(index: PracticeIndex) -> None:
    # 150 in-scope stories and 30 out-of-scope ones, 40-90 words each: top-1 92.0%, top-3
    # 99.3%, 2.0% declined; but the stories that end by asking something the catalogue does
    # not cover are declined only 33.3% of the time (10 of 30; 11 before the fifth round of
    # words): their story holds as many of the catalogue's words as an in-scope one
    cases = load_eval_cases(LONG_STORIES_FILE)
    assert all(len(case.q.split()) >= 35 for case in cases)
    for lang in LANGUAGES:
        assert sum(case.lang == lang and case.in_scope for case in cases) >= 30, lang
        assert sum(case.lang == lang and not case.in_scope for case in cases) >= 6, lang
    _bars(evaluate(index, cases), 0.92, 0.99, 0.02, 0.33)


@pytest.mark.xfail(strict=True, reason=(
    "long stories: 33.3% of out-of-scope ones declined (10 of 30); in scope top-1 92.0% (ln "
    "83.3%, 83.3-100% in every language), top-3 99.3%, 2.0% declined"))
def test_the_targets_on_long_stories(index: PracticeIndex) -> None:
    _targets(evaluate(index, load_eval_cases(LONG_STORIES_FILE)))


def test_short_phone_questions_in_swahili_and_lingala(index: PracticeIndex) -> None:
    # 148 in-scope questions and 20 out-of-scope ones: top-1 93.2% (sw 95.9, ln 90.5%), top-3
    # 98.6%, 1.4% declined, 85.0% of out-of-scope ones declined; plain BM25 82.4% top-1. Before
    # the fifth round of words, which was written from its misses: 82.4% (sw 86.5, ln 78.4%),
    # 93.9%, 11.5%, 80.0%
    cases = load_eval_cases(SHORT_PHONE_FILE)
    assert {case.lang for case in cases} == {"sw", "ln"}
    assert all(len(case.q.split()) <= 16 for case in cases)
    report = evaluate(index, cases)
    _bars(report, 0.93, 0.98, 0.02, 0.85)
    assert report.in_scope.top1 > report.in_scope.baseline_top1


def test_situations(index: PracticeIndex) -> None:
    # 185 incidents told in everyday words (12-45 words; one per entry and language) and 30
    # out-of-scope ones: top-1 85.9% (fr and sw 83.8%), top-3 97.3%, but 10.8% declined (en
    # 18.9, fr 16.2, sw 13.5%: a story holds few of the words an entry is written in), 83.3%
    # of out-of-scope ones declined; plain BM25 82.7% top-1. A round of words written from its
    # misses was measured and not kept (README, "What good practice says").
    cases = load_eval_cases(SITUATIONS_FILE)
    assert all(12 <= len(case.q.split()) <= 45 for case in cases)
    answering = {entry.id for entry in index.catalogue if entry.has_practices}
    for lang in LANGUAGES:
        asked = {case.expect[0] for case in cases if case.lang == lang and case.in_scope}
        assert asked == answering, lang
        assert sum(case.lang == lang and not case.in_scope for case in cases) >= 5, lang
    report = evaluate(index, cases)
    _bars(report, 0.85, 0.97, 0.11, 0.83)
    assert report.in_scope.top1 > report.in_scope.baseline_top1
