"""Practice search at scale: the catalogue replicated to 2,000 entries (copies with new ids).

Prints the index build time and the p50/p95 query latency over the evaluation questions
(tests/data/practice_questions.jsonl); the target is a p95 under 10 ms. Run from the
repository: `.venv/bin/python bench/search.py [--entries N] [--rounds N]`. The measuring code
is bench/practice_search.py's; this script only sets the size.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from practice_search import main  # noqa: E402

ENTRIES = 2000

if __name__ == "__main__":
    raise SystemExit(main(default_entries=ENTRIES, default_builds=3))
