"""Practice search figures: catalogue load, index build, per-query latency over the eval set.

Run from the repository: `.venv/bin/python bench/practice_search.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.catalogue import load  # noqa: E402
from bot.practice_search import PracticeIndex, evaluate, load_eval_cases  # noqa: E402

EVAL_FILE = ROOT / "tests" / "data" / "practice_questions.jsonl"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the eval set")
    parser.add_argument("--builds", type=int, default=5, help="index builds to time")
    args = parser.parse_args()

    started = time.perf_counter()
    catalogue = load()
    print(f"catalogue load: {_ms(time.perf_counter() - started)} ({len(catalogue)} entries)")

    builds = []
    for _ in range(args.builds):
        started = time.perf_counter()
        index = PracticeIndex(catalogue)
        builds.append(time.perf_counter() - started)
    print(f"index build: first {_ms(builds[0])}, median {_ms(statistics.median(builds))}")

    cases = load_eval_cases(EVAL_FILE)
    cold = []
    for case in cases:
        started = time.perf_counter()
        index.search(case.q, case.lang)
        cold.append(time.perf_counter() - started)
    warm = []
    for _ in range(args.rounds):
        for case in cases:
            started = time.perf_counter()
            index.search(case.q, case.lang)
            warm.append(time.perf_counter() - started)
    print(f"first pass ({len(cold)} queries): p50 {_ms(_percentile(cold, 0.5))}, "
          f"p99 {_ms(_percentile(cold, 0.99))}")
    print(f"warm ({len(warm)} queries): p50 {_ms(_percentile(warm, 0.5))}, "
          f"p99 {_ms(_percentile(warm, 0.99))}, max {_ms(max(warm))}")

    report = evaluate(index, cases)
    print(f"accuracy: top-1 {report.top1_accuracy:.1%}, top-3 {report.top3_accuracy:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
