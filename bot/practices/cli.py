"""`wgbot catalogue check`, `wgbot practices search` and `wgbot practices eval`.

`register(subparsers)` adds the commands to the `wgbot` parser. Each command's `func` takes the
parsed arguments (and, optionally, the application settings, which it does not need) and
returns the exit code: 0 success, 1 problems found, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.practices.catalogue import (
    LANGUAGES,
    Catalogue,
    CatalogueIssue,
    CatalogueLoadError,
    catalogue_dirs,
    errors,
    load,
    load_with_issues,
    localize,
)
from bot.practices.evaluation import EvalCase, EvalReport, Tally, evaluate, load_eval_cases
from bot.practices.search import PracticeIndex, SearchResult

EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT = 0, 1, 2


def register(subparsers: Any) -> None:
    """Add `catalogue check` and `practices search|eval` to an argparse subparsers object."""
    _register_catalogue(subparsers)
    _register_practices(subparsers)


def _add_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", dest="dirs", action="append", type=Path, default=[], metavar="DIR",
        help="an operator catalogue directory read after the package one (repeatable); "
             "its entries replace those with the same id",
    )


def _register_catalogue(subparsers: Any) -> None:
    parser = subparsers.add_parser("catalogue", help="the practice catalogue")
    commands = parser.add_subparsers(dest="catalogue_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check", help="validate the catalogue files and list every problem with file and field")
    _add_dir_option(check)
    check.add_argument("--strict", action="store_true",
                       help="treat missing translations as errors")
    check.set_defaults(func=run_check)


def _register_practices(subparsers: Any) -> None:
    parser = subparsers.add_parser("practices", help="search the good-practice catalogue")
    commands = parser.add_subparsers(dest="practices_command", metavar="COMMAND", required=True)

    search = commands.add_parser("search", help="the challenges that best match a question")
    search.add_argument("question", nargs="+", help="the question (quote it or not)")
    search.add_argument("--lang", default="en", choices=LANGUAGES, help="the user's language")
    search.add_argument("--limit", type=_positive, default=5, metavar="K",
                        help="how many challenges (default 5)")
    search.add_argument("--json", action="store_true", help="print a JSON array")
    _add_dir_option(search)
    search.set_defaults(func=run_search)

    evaluation = commands.add_parser(
        "eval", help="top-1, top-3 and abstention per language, next to plain BM25, on JSON "
                     'Lines files of {"q", "lang", "expect"} ("expect": [] for a question '
                     "outside the catalogue)")
    evaluation.add_argument("files", nargs="+", type=Path, metavar="FILE",
                            help="JSON Lines files")
    evaluation.add_argument("--lang-default", default="en", choices=LANGUAGES,
                            help="language of lines without one (default en)")
    evaluation.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_dir_option(evaluation)
    evaluation.set_defaults(func=run_eval)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _print_issues(issues: Sequence[CatalogueIssue], stream: Any) -> None:
    for issue in issues:
        print(issue, file=stream)


def run_check(args: argparse.Namespace, settings: object | None = None) -> int:
    catalogue, issues = load_with_issues(catalogue_dirs(args.dirs))
    _print_issues(issues, sys.stdout)
    found = errors(issues)
    warnings = len(issues) - len(found)
    print(f"{len(catalogue)} entries, {len(found)} error(s), {warnings} warning(s)")
    failed = found or (args.strict and warnings)
    return EXIT_PROBLEMS if failed else EXIT_OK


def _load(dirs: Sequence[Path]) -> Catalogue | None:
    try:
        return load(catalogue_dirs(dirs))
    except CatalogueLoadError as exc:
        print("wgbot: the catalogue has errors (see `wgbot catalogue check`):", file=sys.stderr)
        _print_issues(exc.issues, sys.stderr)
        return None


def _render(results: Sequence[SearchResult]) -> str:
    if not results:
        return "No challenge in the catalogue answers this question."
    lines = []
    for rank, result in enumerate(results, start=1):
        lang = f" ({result.lang})" if result.fallback else ""
        lines.append(f"{rank}. [{result.id}] {result.title}{lang}  score {result.score:.2f}"
                     f"  confidence {result.confidence:.2f}")
        lines.extend(f"     - {hit.heading}" for hit in result.practices)
    return "\n".join(lines)


def run_search(args: argparse.Namespace, settings: object | None = None) -> int:
    catalogue = _load(args.dirs)
    if catalogue is None:
        return EXIT_INPUT
    question = " ".join(args.question)
    # The same decision as /ask: nothing (an empty list) when the catalogue does not answer.
    index = PracticeIndex(catalogue)
    results = index.answer(question, args.lang, limit=args.limit)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
        return EXIT_OK
    print(_render(results))
    unwritten = None if results else index.unwritten_match(question, args.lang)
    if unwritten is not None:
        title = localize(catalogue[unwritten].title, args.lang).text
        print(f"It is about [{unwritten}] {title}, whose practices are not written yet.")
    return EXIT_OK


def _row(label: str, tally: Tally, *, in_scope: bool = True) -> str:
    if not in_scope:
        return f"{label:<14}{tally.total:>5}{'':>8}{'':>8}{tally.share(tally.abstained):>10.1%}"
    return (f"{label:<14}{tally.total:>5}{tally.share(tally.top1):>8.1%}"
            f"{tally.share(tally.top3):>8.1%}{tally.share(tally.abstained):>10.1%}"
            f"{tally.share(tally.baseline_top1):>10.1%}{tally.share(tally.baseline_top3):>10.1%}")


def _report_text(report: EvalReport) -> str:
    lines = [f"questions: {report.total}",
             f"{'':<14}{'n':>5}{'top-1':>8}{'top-3':>8}{'abstained':>10}"
             f"{'bm25 top-1':>11}{'bm25 top-3':>11}"]
    lines += [_row(lang, tally) for lang, tally in report.languages.items()]
    lines.append(_row("all in scope", report.in_scope))
    if report.out_of_scope.total:
        lines.append(_row("out of scope", report.out_of_scope, in_scope=False))
    if report.misses:
        lines.append("misses:")
    for miss in report.misses:
        got = ", ".join(miss.got) or "nothing"
        where = _where(miss.case)
        if not miss.case.in_scope:
            why = (f"only {', '.join(miss.case.unwritten)} (practices not written) answers it"
                   if miss.case.unwritten else "out of scope")
            lines.append(f"  {where} [{miss.case.lang}] {miss.case.q!r}: {why}, yet "
                         f"answered {got}")
            continue
        rank = f"rank {miss.rank}" if miss.rank else "not in top 3"
        declined = ", declined" if miss.abstained else ""
        lines.append(f"  {where} [{miss.case.lang}] {miss.case.q!r}: expected "
                     f"{', '.join(miss.case.expect)}; got {got} ({rank}{declined})")
    return "\n".join(lines)


def _where(case: EvalCase) -> str:
    return f"{Path(case.source).name}:{case.line}" if case.source else f"line {case.line}"


def _tally_json(tally: Tally) -> dict[str, Any]:
    return {"n": tally.total, "top1": round(tally.share(tally.top1), 4),
            "top3": round(tally.share(tally.top3), 4),
            "abstained": round(tally.share(tally.abstained), 4),
            "baseline_top1": round(tally.share(tally.baseline_top1), 4),
            "baseline_top3": round(tally.share(tally.baseline_top3), 4)}


def _report_json(report: EvalReport) -> str:
    misses = [{"file": m.case.source, "line": m.case.line, "q": m.case.q, "lang": m.case.lang,
               "expect": list(m.case.expect), "got": list(m.got), "rank": m.rank,
               "abstained": m.abstained}
              for m in report.misses]
    data = {"total": report.total, "top1": round(report.top1_accuracy, 4),
            "top3": round(report.top3_accuracy, 4),
            "languages": {lang: _tally_json(t) for lang, t in report.languages.items()},
            "in_scope": _tally_json(report.in_scope),
            "out_of_scope": {"n": report.out_of_scope.total,
                             "abstained": round(report.out_of_scope.share(
                                 report.out_of_scope.abstained), 4)},
            "misses": misses}
    return json.dumps(data, ensure_ascii=False, indent=2)


def run_eval(args: argparse.Namespace, settings: object | None = None) -> int:
    cases: list[EvalCase] = []
    for path in args.files:
        try:
            cases += load_eval_cases(path, args.lang_default)
        except (OSError, ValueError) as exc:
            print(f"wgbot: {path}: {exc}", file=sys.stderr)
            return EXIT_INPUT
    catalogue = _load(args.dirs)
    if catalogue is None:
        return EXIT_INPUT
    report = evaluate(PracticeIndex(catalogue), cases)
    print(_report_json(report) if args.json else _report_text(report))
    return EXIT_OK
