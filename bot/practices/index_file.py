"""The saved search index, prepared by a child process at start-up.

Building the index (or checking the saved one against the catalogue) imports numpy and the
search library and leaves their memory in the process for good: about 35 MB that a bot which is
not asked anything would carry. The bot therefore runs `python -m bot.practices.index_file`
once it polls: the child validates the catalogue, builds the index when the file saved under the
data directory does not match the catalogue's content, saves it and the common-word set, and
exits. The bot loads the saved file (a fraction of a second) with its first question.

Exit codes: 0 ready, 1 the catalogue has errors (`wgbot catalogue check` lists them), 2 the
index could not be saved.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

EXIT_READY, EXIT_CATALOGUE, EXIT_UNSAVED = 0, 1, 2


def prepare_file(operator_dirs: Sequence[Path], cache_dir: Path) -> int:
    """Make the saved index (and word set) under `cache_dir` match the catalogue."""
    from bot.practices import lexicon
    from bot.practices.catalogue import CatalogueLoadError, catalogue_dirs, load
    from bot.practices.search import PracticeIndex

    try:
        catalogue = load(catalogue_dirs(operator_dirs))
    except CatalogueLoadError:
        return EXIT_CATALOGUE
    PracticeIndex.cached(catalogue, cache_dir)
    lexicon.warm(cache_dir)
    return EXIT_READY if PracticeIndex.saved_path(catalogue, cache_dir).is_file() else EXIT_UNSAVED


async def prepare_in_child(operator_dirs: Sequence[Path], cache_dir: Path) -> int:
    """`prepare_file` in a child process, awaited without blocking the event loop."""
    args = [sys.executable, "-m", __name__, str(cache_dir), *map(str, operator_dirs)]
    process = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    _out, err = await process.communicate()
    if process.returncode not in (EXIT_READY, EXIT_CATALOGUE, EXIT_UNSAVED):
        log.error("preparing the practice index failed (exit %s): %s", process.returncode,
                  err.decode(errors="replace")[-2000:])
    return process.returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.practices.index_file")
    parser.add_argument("cache_dir", type=Path)
    parser.add_argument("operator_dirs", type=Path, nargs="*")
    args = parser.parse_args(argv)
    return prepare_file(args.operator_dirs, args.cache_dir)


if __name__ == "__main__":
    sys.exit(main())
