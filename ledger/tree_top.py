"""The top levels of the state tree, dense in memory: every position's hash and kind down to a depth.

Why: with a million accounts a changed key's path crosses about twenty inner
nodes, and every one of them read from LevelDB is a cold read. The top levels
are shared by all paths and are few positions (2^(depth+1) - 1), so they are
kept here, in two preallocated arrays outside Python objects: `hashes`
(32 bytes per position) and `kinds` (one byte: empty, leaf or inner). An
update then reads only the records below `depth` on its paths, one per level
(each inner record holds both children's hashes, FORMAT.md §15), and the leaf.

The store stays the source of truth. The arrays are filled from the store's
records (`load`), and a block's update is applied to them (`apply`) only after
its batch is durably written; they are never written to disk, so a restart
rebuilds them from what the disk holds, and a crash between blocks cannot
leave the two disagreeing. Position (d, p) (depth d, the path's first d bits
as the integer p) is at index 2^d - 1 + p; its two children are adjacent.
"""

from __future__ import annotations

import hashlib
import mmap
import threading
from collections.abc import Callable, Iterable, Mapping

EMPTY_KIND, LEAF_KIND, INNER_KIND = 0, 1, 2

TopChange = tuple[int, int, bytes]
"""(index, kind, hash) of one position whose subtree an update changed."""

TOP_DEPTH = 20
"""The deepest level that may be kept in memory: 2^21 - 1 positions, 64 MB of hashes and 2 MB of kinds at
most, for a state of two million entries (a million funded accounts), where every level down to here is
more than half full. A smaller state keeps fewer levels (`TreeTop.depth`). The choice is measured in
docs/operations.md, "Memory"."""


def index(depth: int, prefix: int) -> int:
    return (1 << depth) - 1 + prefix


class TreeTop:
    """Hashes and kinds of the positions at depth <= `depth`, valid for every position reachable in the tree.

    A position below a leaf or an empty position holds stale bytes; nothing
    reads them, because an update writes the entries of both children of
    every node it makes inner (an empty side as EMPTY_KIND with a zero hash).

    `depth` is chosen at each load: the deepest level, down to `max_depth`,
    down to which every level holds records for at least half its positions
    (`max_depth` for an empty tree).
    Below that the positions that exist are few and far apart, and each would
    make a page of the arrays resident for 32 bytes (a state of ten thousand
    accounts touched 17 MB of them at a fixed depth 20, 2 MB this way); their
    records are read instead, as deeper ones are. A state that grows while the
    node runs keeps its depth until the next start.

    `generation` counts applied updates: an update's changes apply only to the
    generation it was computed on; anything else (changes computed on another
    tree, or a commit in between) empties the top, and the next update loads
    it again from the store.
    """

    __slots__ = ("depth", "max_depth", "hashes", "kinds", "loaded", "generation", "_scan", "_offset", "_lock")

    def __init__(self, max_depth: int, scan: Callable[[int], Iterable[tuple[bytes, bytes]]], key_offset: int = 0):
        """`scan(depth)` yields (key, record) of the stored records at depth <= `depth` in key order (so depth by
        depth); a key is `key_offset` bytes of store prefix, then the position (FORMAT.md §15)."""
        self.depth = self.max_depth = max_depth
        size = (2 << max_depth) - 1
        # anonymous mappings: zero pages that become resident only once written (a bytearray is zeroed,
        # and so resident, whole at once), so a small state costs a few pages, not 66 MB
        self.hashes = mmap.mmap(-1, 32 * size)
        self.kinds = mmap.mmap(-1, size)
        self.loaded = False
        self.generation = 0
        self._scan = scan
        self._offset = key_offset
        self._lock = threading.Lock()

    def ensure_loaded(self) -> None:
        if not self.loaded:
            with self._lock:
                if not self.loaded:
                    self._load()

    def _load(self) -> None:
        """Fill from the records: a node's kind from its own record, its hash from its parent's (the root's from
        its own). Nothing is cleared first: a reachable position gets its hash from its parent's record (zero for
        an empty side) and, unless empty, its kind from its own record; stale bytes elsewhere are never read.
        One pass over a million records or two at start-up, so the loop is written out."""
        hashes, kinds, top, offset = self.hashes, self.kinds, self.max_depth, self._offset
        align = tuple((d + 7) // 8 * 8 - d for d in range(top + 1))
        hashes[0:32] = bytes(32)  # the empty tree: no root record
        level = count = 0
        deepest = top
        records = iter(self._scan(top))
        for key, record in records:
            depth = key[offset] << 8 | key[offset + 1]
            if depth != level:  # `level` is complete (levels come in order, none skipped)
                if count < 1 << level >> 1:
                    deepest = level - 1
                    break
                level, count = depth, 0
            count += 1
            prefix = int.from_bytes(key[offset + 2:], "big") >> align[depth]
            if record[0]:
                kinds[(1 << depth) - 1 + prefix] = INNER_KIND
                if depth < top:
                    child = 32 * ((2 << depth) - 1 + 2 * prefix)
                    hashes[child:child + 64] = record[1:65]
            else:
                kinds[(1 << depth) - 1 + prefix] = LEAF_KIND
            if not depth:
                hashes[0:32] = hashlib.sha256(record).digest()
        else:
            if count == 0:  # the empty tree: nothing to size the top by, and nothing resident yet
                deepest = top
            elif count < 1 << level >> 1:
                deepest = level - 1
            elif level < top:  # the tree ends here: its last level holds leaves only
                deepest = level
        close = getattr(records, "close", None)
        if close is not None:
            close()
        self.depth = max(deepest, 0)
        self.loaded = True

    def root(self) -> bytes:
        return self.hashes[0:32]

    def apply(self, writes: Mapping[bytes, bytes | None]) -> None:
        """After a commit: an update's writes (ledger/merkle.py TreeWrites) and so its changes to the top.

        Writes that carry no changes for this top as it is (a plain dict, another
        tree's update, one computed before another commit) empty it instead.
        """
        changes = getattr(writes, "top_changes", None)
        with self._lock:
            if (changes is None or getattr(writes, "top", None) is not self
                    or getattr(writes, "generation", None) != self.generation or not self.loaded):
                self.loaded = False  # not computed on this top as it is: load again when next needed
            else:
                hashes, kinds = self.hashes, self.kinds
                for i, kind, digest in changes:
                    kinds[i] = kind
                    hashes[32 * i:32 * i + 32] = digest
            self.generation += 1

    def invalidate(self) -> None:
        """The store changed other than through `apply` (genesis, a layout upgrade): load again when needed."""
        with self._lock:
            self.loaded = False
            self.generation += 1
