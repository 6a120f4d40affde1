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
)
from bot.practices.search import (
    EvalReport,
    PracticeIndex,
    SearchResult,
    evaluate,
    load_eval_cases,
)

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
        "eval", help='top-1 and top-3 accuracy on a JSON Lines file of {"q", "lang", "expect"}')
    evaluation.add_argument("file", type=Path, help="the JSON Lines file")
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
        return "No matching challenge."
    lines = []
    for rank, result in enumerate(results, start=1):
        lang = f" ({result.lang})" if result.fallback else ""
        lines.append(f"{rank}. [{result.id}] {result.title}{lang}  score {result.score:.2f}")
        if not result.has_practices:
            lines.append("     no good practices in the catalogue yet")
        lines.extend(f"     - {hit.heading}" for hit in result.practices)
    return "\n".join(lines)


def run_search(args: argparse.Namespace, settings: object | None = None) -> int:
    catalogue = _load(args.dirs)
    if catalogue is None:
        return EXIT_INPUT
    question = " ".join(args.question)
    results = PracticeIndex(catalogue).search(question, args.lang, limit=args.limit)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
    else:
        print(_render(results))
    return EXIT_OK


def _report_text(report: EvalReport) -> str:
    lines = [
        f"questions: {report.total}",
        f"top-1: {report.top1}/{report.total} = {report.top1_accuracy:.1%}",
        f"top-3: {report.top3}/{report.total} = {report.top3_accuracy:.1%}",
    ]
    if report.misses:
        lines.append("misses:")
    for miss in report.misses:
        where = f"rank {miss.rank}" if miss.rank else "not in top 3"
        got = ", ".join(miss.got) or "nothing"
        lines.append(f"  line {miss.case.line} [{miss.case.lang}] {miss.case.q!r}: expected "
                     f"{', '.join(miss.case.expect)}; got {got} ({where})")
    return "\n".join(lines)


def _report_json(report: EvalReport) -> str:
    misses = [{"line": m.case.line, "q": m.case.q, "lang": m.case.lang,
               "expect": list(m.case.expect), "got": list(m.got), "rank": m.rank}
              for m in report.misses]
    data = {"total": report.total, "top1": round(report.top1_accuracy, 4),
            "top3": round(report.top3_accuracy, 4), "misses": misses}
    return json.dumps(data, ensure_ascii=False, indent=2)


def run_eval(args: argparse.Namespace, settings: object | None = None) -> int:
    try:
        cases = load_eval_cases(args.file, args.lang_default)
    except (OSError, ValueError) as exc:
        print(f"wgbot: {args.file}: {exc}", file=sys.stderr)
        return EXIT_INPUT
    catalogue = _load(args.dirs)
    if catalogue is None:
        return EXIT_INPUT
    report = evaluate(PracticeIndex(catalogue), cases)
    print(_report_json(report) if args.json else _report_text(report))
    return EXIT_OK
