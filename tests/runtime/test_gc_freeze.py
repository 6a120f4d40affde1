"""Once started, the process moves what it built at start out of the garbage collector's reach."""

from __future__ import annotations

import gc


def test_what_start_built_is_frozen_out_of_the_collector():
    from bot.app import freeze_after_start

    gc.unfreeze()
    try:
        freeze_after_start()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
