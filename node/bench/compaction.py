"""A whole-store compaction, for the benchmarks that measure or keep a store as LevelDB settles it."""

from __future__ import annotations

from ledger.store import Store

WHOLE_RANGE = {"start": b"", "stop": b"\xff" * 64}
"""Every key of a store (all start below 0xff, FORMAT.md §15). Explicit bounds: plyvel passes an omitted bound
as an empty key, so a bare `compact_range()` only flushes the memtable and merges nothing (identity/vault.py)."""


def compact_all(store: Store) -> None:
    """Rewrite every table of the store into its last level: what LevelDB keeps, without overwritten entries."""
    store.db.compact_range(**WHOLE_RANGE)
