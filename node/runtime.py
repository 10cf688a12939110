"""Process-wide settings for the long-running commands (a node, an audit)."""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 20_000


def tune_gc() -> None:
    """Fewer young-generation collections, and none of what is already loaded.

    Executing a block allocates hundreds of thousands of short-lived tuples;
    with the default threshold of 700 allocations the collector ran thousands
    of times per block and took 5-10% of execution, scanning objects that
    live for the whole process (modules, the genesis, caches). Raising the
    threshold keeps the same collections, less often; `gc.freeze` moves what
    start-up loaded out of the collector's sight. Reference counting still
    frees nearly everything at once: this changes only when cycles are found.
    """
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
