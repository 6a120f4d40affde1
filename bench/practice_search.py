"""Practice search figures: catalogue load, index build, per-query latency over the eval set.

Run from the repository: `.venv/bin/python bench/practice_search.py [--entries N] [--rounds N]`.
With `--entries N` the catalogue is replicated (copies with new ids) to N entries first;
`bench/search.py` runs this with 2,000 entries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.practices import lexicon  # noqa: E402
from bot.practices.answers import answer_card, find_matches  # noqa: E402
from bot.practices.catalogue import Catalogue, load  # noqa: E402
from bot.practices.evaluation import EvalCase, evaluate, load_eval_cases  # noqa: E402
from bot.practices.search import PracticeIndex  # noqa: E402

EVAL_FILE = ROOT / "tests" / "data" / "practice_questions.jsonl"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def replicate(catalogue: Catalogue, size: int) -> Catalogue:
    """The catalogue's entries copied under new ids ('c12-2.8.d') until there are `size`."""
    originals = list(catalogue)
    entries = {entry.id: entry for entry in originals}
    copy = 0
    while len(entries) < size:
        source = originals[copy % len(originals)]
        new_id = f"c{copy // len(originals) + 1}-{source.id}"
        entries[new_id] = source.model_copy(update={"id": new_id, "related": []})
        copy += 1
    return Catalogue(entries, catalogue.glossary, catalogue.structure)


def _timed(action: Callable[[EvalCase], object], cases: Sequence[EvalCase],
           rounds: int) -> tuple[list[float], list[float]]:
    """Wall-clock and processor times of each call (on a shared machine the processor time
    is the search's own cost; the wall clock adds the waits for a core)."""
    wall, cpu = [], []
    for _ in range(rounds):
        for case in cases:
            started, started_cpu = time.perf_counter(), time.process_time()
            action(case)
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started)
    return wall, cpu


def _report(label: str, timings: tuple[list[float], list[float]]) -> None:
    for clock, times in zip(("wall", "cpu"), timings, strict=True):
        print(f"{label}, {clock} ({len(times)} queries): p50 {_ms(_percentile(times, 0.5))}, "
              f"p95 {_ms(_percentile(times, 0.95))}, p99 {_ms(_percentile(times, 0.99))}, "
              f"max {_ms(max(times))}")


def main(argv: Sequence[str] | None = None, *, default_entries: int = 0,
         default_builds: int = 5) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=default_entries,
                        help="replicate the catalogue to this many entries (0: as shipped)")
    parser.add_argument("--rounds", type=int, default=20, help="passes over the eval set")
    parser.add_argument("--builds", type=int, default=default_builds,
                        help="index builds to time")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    catalogue = load()
    print(f"catalogue load: {_ms(time.perf_counter() - started)} ({len(catalogue)} entries)")
    shipped = len(catalogue)
    if args.entries > len(catalogue):
        catalogue = replicate(catalogue, args.entries)
        print(f"replicated to {len(catalogue)} entries "
              f"({sum(len(e.practices) for e in catalogue)} practice groups)")

    builds = []
    for _ in range(max(args.builds, 1)):
        started, started_cpu = time.perf_counter(), time.process_time()
        index = PracticeIndex(catalogue)
        builds.append(time.perf_counter() - started)
        build_cpu = time.process_time() - started_cpu
    print(f"index build: first {_ms(builds[0])}, median {_ms(statistics.median(builds))}, "
          f"last {_ms(build_cpu)} processor time")
    with tempfile.TemporaryDirectory() as cache:
        PracticeIndex.cached(catalogue, cache)  # built and saved, as at a first start
        loads = []
        for _ in range(max(args.builds, 1)):
            started, started_cpu = time.perf_counter(), time.process_time()
            index = PracticeIndex.cached(catalogue, cache)
            loads.append(time.perf_counter() - started)
            load_cpu = time.process_time() - started_cpu
    print(f"index load (saved index, content hash included): first {_ms(loads[0])}, "
          f"median {_ms(statistics.median(loads))}, last {_ms(load_cpu)} processor time")
    started = time.perf_counter()
    lexicon.warm()
    print(f"general word lists (once per process): {_ms(time.perf_counter() - started)}")

    cases = load_eval_cases(EVAL_FILE)

    def fresh(case: EvalCase) -> None:
        index._recent.clear()  # no question is analysed twice: each pass is a new one
        index.search(case.q, case.lang)

    _report("search, first pass", _timed(fresh, cases, 1))
    _report("search, warm", _timed(fresh, cases, args.rounds))

    def answer(case: EvalCase) -> None:
        index._recent.clear()
        matches = find_matches(index, case.q, case.lang)
        if matches:
            answer_card(catalogue, matches[0], case.lang)

    _report("answer card (search + card)", _timed(answer, cases, args.rounds))

    if len(catalogue) == shipped:
        report = evaluate(index, cases)
        print(f"accuracy: top-1 {report.top1_accuracy:.1%}, top-3 {report.top3_accuracy:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
