"""Merkle commitments: the state root (a compact sparse Merkle tree) and list roots.

State tree (FORMAT.md, "State root"). Every state entry (key, value) is a leaf
at the 256-bit path kh = SHA-256(key). The root of a set S of leaves at depth d
is defined recursively:

    root(S, d) = ZERO                                   if S is empty
               = SHA-256(0x00 || kh || SHA-256(value))  if S holds one leaf
               = SHA-256(0x01 || root(S0, d+1) || root(S1, d+1))   otherwise

where S0/S1 are the leaves whose bit d of kh is 0/1 and ZERO is 32 zero bytes.
A subtree with a single leaf is that leaf, so the tree is about log2(N) deep
and an update costs a few dozen hashes per changed key, whatever N is.

Nodes are stored by position (depth, path prefix), each record being exactly
the bytes its hash is taken over (FORMAT.md §15): a leaf's 0x00 || kh || vh, an
inner node's 0x01 || left || right. An update rewrites only the positions on
the paths of the changed keys and reads one record per level of them (an inner
record names both children's hashes, so a sibling is never read to recompute
its parent), and none in the top levels that a `TreeTop` holds in memory.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import NamedTuple

from ledger.tree_top import EMPTY_KIND, INNER_KIND, LEAF_KIND, TopChange, TreeTop

ZERO = bytes(32)
_LEAF = b"\x00"
_INNER = b"\x01"
_sha256 = hashlib.sha256

NodeReader = Callable[[bytes], bytes | None]


def leaf_hash(kh: bytes, vh: bytes) -> bytes:
    return _sha256(_LEAF + kh + vh).digest()


def inner_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(_INNER + left + right).digest()


# node_key's pieces per depth, computed once: the 2-byte depth, the shift that
# left-aligns a prefix of `depth` bits, and the byte length of the aligned prefix.
_DEPTH_TAG = tuple(d.to_bytes(2, "big") for d in range(257))
_ALIGN = tuple((d + 7) // 8 * 8 - d for d in range(257))
_NBYTES = tuple((d + 7) // 8 for d in range(257))


def node_key(depth: int, prefix: int) -> bytes:
    """Storage key of a position: depth (2 bytes) and the path's first `depth` bits, left-aligned."""
    return _DEPTH_TAG[depth] + (prefix << _ALIGN[depth]).to_bytes(_NBYTES[depth], "big")


def position_of(key: bytes) -> tuple[int, int]:
    """(depth, prefix) of a storage key (the inverse of `node_key`)."""
    depth = int.from_bytes(key[:2], "big")
    return depth, int.from_bytes(key[2:], "big") >> _ALIGN[depth]


_ROOT_KEY = node_key(0, 0)


def _bit(kh_int: int, depth: int) -> int:
    return (kh_int >> (255 - depth)) & 1


class _Changes(NamedTuple):
    """A batch of changes sorted by path, as parallel lists.

    The leaves under a position (depth, prefix) are a contiguous run of a list
    sorted by path, and the run splits between the position's two children at
    the first path with bit `depth` set: `_split` finds that index by bisection
    on `ints`, instead of partitioning a list per level.
    """

    ints: list[int]  # the path kh as an integer, ascending
    khs: list[bytes]
    vhs: list[bytes | None]  # None deletes
    olds: list[bytes | None]  # the hash of the key's leaf before the change if known (None: absent or unknown)

    @classmethod
    def sorted_from(cls, entries: list[tuple[int, bytes, bytes | None, bytes | None]]) -> _Changes:
        """From (kh_int, kh, vh, old leaf hash) with distinct paths (so the sort never compares past kh_int)."""
        entries.sort(key=_first)
        return cls([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries],
                   [e[3] for e in entries])


def _first(entry: tuple) -> int:
    return entry[0]


def _split(ints: list[int], depth: int, prefix: int, lo: int, hi: int) -> int:
    """Index in ints[lo:hi] (all under position (depth, prefix)) of the first path with bit `depth` = 1."""
    return bisect_left(ints, ((prefix << 1) | 1) << (255 - depth), lo, hi)


def _leaves_after(record: bytes | None, batch: _Changes, lo: int, hi: int) -> _Changes:
    """What a position holding `record` (one leaf, or nothing) holds after the changes batch[lo:hi].

    That is the changes that write a value, plus the old leaf unless one of the
    changes has its path (and so replaces or deletes it).
    """
    ints, khs, vhs, _ = batch
    entries = [(ints[i], khs[i], vhs[i], None) for i in range(lo, hi) if vhs[i] is not None]
    if record is not None:
        old_kh = record[1:33]
        old_int = int.from_bytes(old_kh, "big")
        at = bisect_left(ints, old_int, lo, hi)
        if at == hi or ints[at] != old_int:
            entries.append((old_int, old_kh, record[33:65], None))
    return _Changes.sorted_from(entries)


# A subtree as an update sees it: (hash, record if it is a single leaf else None).
# A leaf's record 0x00 || kh || vh is exactly what its hash is taken over, so a
# leaf that moves up a level is rewritten as is, and an empty subtree is (ZERO, None).
# An unchanged subtree is (hash, _UNREAD): whether it is a lone leaf is looked up
# only if a leaf beside it disappears (then a lone leaf moves up).
_Subtree = tuple[bytes, bytes | None]
_NOTHING: _Subtree = (ZERO, None)
_UNREAD = b""
_MINE = b"\x00"  # stands for the changed key's own leaf, recognised by its hash without reading it


class TreeInconsistent(RuntimeError):
    """The stored records do not form a tree (a record missing where its parent names a hash, or of a
    layout this program does not read): damage, never a state to compute on."""


class TreeWrites(dict):
    """{position key: record or None (delete)}: what an update writes, in the store's batch.

    With a `TreeTop`, also the changes to it (`top_changes`, in order) and the
    top and generation they were computed on: the store applies them after
    the batch is written (`TreeTop.apply`).
    """

    __slots__ = ("top", "generation", "top_changes")

    def __init__(self) -> None:
        super().__init__()
        self.top: TreeTop | None = None
        self.generation = 0
        self.top_changes: list[TopChange] | None = None


def _inner_children(record: bytes) -> tuple[bytes, bytes]:
    if len(record) != 65:
        raise TreeInconsistent(f"an inner record of {len(record)} bytes (FORMAT.md §15: 0x01 || left || right)")
    return record[1:33], record[33:65]


class _Update:
    """One batch applied to the tree: walks the positions on the changed paths only.

    Positions are (depth, prefix); changes are index ranges [lo, hi) of the
    sorted batch. A position's current hash comes from its parent (the
    parent's record holds both children's hashes, FORMAT.md §15) or from the
    top in memory, so the only records read are those of the nodes on the
    changed paths below the top, and of the leaves reached. Subtrees are plain
    tuples and keys are built inline because this runs once per changed
    position, several thousand times per block.
    """

    __slots__ = ("read", "writes", "top_depth", "hashes", "kinds", "changes")

    def __init__(self, read: NodeReader, writes: TreeWrites, top: TreeTop | None):
        self.read = read
        self.writes = writes
        if top is None:
            self.top_depth = -1
            self.hashes = self.kinds = b""  # type: ignore[assignment]
            self.changes: list[TopChange] | None = None
        else:
            self.top_depth = top.depth
            self.hashes, self.kinds = top.hashes, top.kinds
            self.changes = []

    # --- writes (the store's batch, and the top's entries) ---------------------------------------

    def _put(self, depth: int, prefix: int, key: bytes, record: bytes, digest: bytes, kind: int) -> None:
        self.writes[key] = record
        if depth <= self.top_depth:
            self.changes.append(((1 << depth) - 1 + prefix, kind, digest))  # type: ignore[union-attr]

    def _delete(self, depth: int, prefix: int, key: bytes) -> None:
        self.writes[key] = None
        if depth <= self.top_depth:
            self.changes.append(((1 << depth) - 1 + prefix, EMPTY_KIND, ZERO))  # type: ignore[union-attr]

    def _empty_side(self, depth: int, prefix: int) -> None:
        """A new inner node's empty child: no record was there (the subtree held one leaf at most), but the top's
        entry may be stale."""
        if depth <= self.top_depth:
            self.changes.append(((1 << depth) - 1 + prefix, EMPTY_KIND, ZERO))  # type: ignore[union-attr]

    # --- the walk -------------------------------------------------------------------------------

    def position(self, depth: int, prefix: int, key: bytes, known: bytes, batch: _Changes, lo: int,
                 hi: int) -> _Subtree:
        """The new subtree at (depth, prefix), stored under `key`, whose hash is now `known`, after batch[lo:hi]."""
        if hi - lo == 1:
            return self._one(depth, prefix, key, known, batch, lo)
        if known == ZERO:
            record = None
        elif depth <= self.top_depth and self.kinds[(1 << depth) - 1 + prefix] == INNER_KIND:
            if depth < self.top_depth:
                child = 32 * ((2 << depth) - 1 + 2 * prefix)
                both = self.hashes[child:child + 64]
                return self._descend(depth, prefix, key, both[:32], both[32:], batch, lo, hi)
            left, right = _inner_children(self._must_read(key))
            return self._descend(depth, prefix, key, left, right, batch, lo, hi)
        else:
            record = self._must_read(key)
            if record[:1] == _INNER:
                left, right = _inner_children(record)
                return self._descend(depth, prefix, key, left, right, batch, lo, hi)
        return self._rebuild(depth, prefix, key, record, batch, lo, hi)

    def _rebuild(self, depth: int, prefix: int, key: bytes, record: bytes | None, batch: _Changes, lo: int,
                 hi: int) -> _Subtree:
        """A position holding nothing or one leaf (`record`): rebuild this small subtree from its leaves."""
        leaves = _leaves_after(record, batch, lo, hi)
        if not leaves.ints:
            if record is not None:
                self._delete(depth, prefix, key)
            return _NOTHING
        return self.build(depth, prefix, key, leaves, 0, len(leaves.ints))

    def _one(self, depth: int, prefix: int, key: bytes, known: bytes, batch: _Changes, i: int) -> _Subtree:
        """`position` for a single change, the case of nearly every position below the first levels: a loop
        down the path collecting the siblings' hashes, then one up it, instead of a recursion.

        The key's own leaf is recognised by its hash when the caller gave the old value (`batch.olds`), so
        only the inner records below the top are read; any other leaf is read.
        """
        kh_int, kh, mine = batch.ints[i], batch.khs[i], batch.olds[i]
        hashes, kinds, top = self.hashes, self.kinds, self.top_depth
        path = []
        record: bytes | None = None
        while known != ZERO:
            if known == mine:
                record = _MINE
                break
            if depth <= top and kinds[(1 << depth) - 1 + prefix] == INNER_KIND:
                if depth < top:
                    child = 32 * ((2 << depth) - 1 + 2 * prefix)
                    left, right = hashes[child:child + 32], hashes[child + 32:child + 64]
                else:
                    left, right = _inner_children(self._must_read(key))
            else:
                record = self._must_read(key)
                if record[:1] != _INNER:
                    break
                left, right = _inner_children(record)
                record = None
            path.append((depth, prefix, key, left, right))
            depth += 1
            if (kh_int >> (256 - depth)) & 1:
                prefix, known = (prefix << 1) | 1, right
            else:
                prefix, known = prefix << 1, left
            key = _DEPTH_TAG[depth] + (prefix << _ALIGN[depth]).to_bytes(_NBYTES[depth], "big")
        if record is None or record is _MINE or record[1:33] == kh:
            digest, leaf = self._replace(depth, prefix, key, record, kh, batch.vhs[i])
        else:  # another key's leaf: they split, or a delete of an absent key leaves it
            digest, leaf = self._rebuild(depth, prefix, key, record, batch, i, i + 1)
        writes, changes = self.writes, self.changes
        for depth, prefix, key, left, right in reversed(path):
            right_side = (kh_int >> (255 - depth)) & 1
            if digest == ZERO or (left if right_side else right) == ZERO:  # a leaf may move up: the general way
                child = depth + 1
                left_key = _DEPTH_TAG[child] + ((prefix << 1) << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
                right_key = _DEPTH_TAG[child] + (((prefix << 1) | 1) << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
                mine_now = (digest, leaf)
                if right_side:
                    digest, leaf = self._combine(depth, prefix, key, left_key, right_key, (left, _UNREAD), mine_now)
                else:
                    digest, leaf = self._combine(depth, prefix, key, left_key, right_key, mine_now, (right, _UNREAD))
                continue
            record = _INNER + left + digest if right_side else _INNER + digest + right
            digest = _sha256(record).digest()
            leaf = None
            writes[key] = record
            if depth <= top:
                changes.append(((1 << depth) - 1 + prefix, INNER_KIND, digest))  # type: ignore[union-attr]
        return digest, leaf

    def _must_read(self, key: bytes) -> bytes:
        record = self.read(key)
        if record is None:
            raise TreeInconsistent(f"no record at tree position {key.hex()}, which its parent names")
        return record

    def _replace(self, depth: int, prefix: int, key: bytes, record: bytes | None, kh: bytes,
                 vh: bytes | None) -> _Subtree:
        """The commonest case, one change where nothing or that very key's leaf is: no rebuild.

        The same as `_leaves_after` then `build`, which would find one leaf or none.
        """
        if vh is None:
            if record is not None:
                self._delete(depth, prefix, key)
            return _NOTHING
        record = _LEAF + kh + vh
        digest = _sha256(record).digest()
        self._put(depth, prefix, key, record, digest, LEAF_KIND)
        return digest, record

    def _descend(self, depth: int, prefix: int, key: bytes, left_hash: bytes, right_hash: bytes, batch: _Changes,
                 lo: int, hi: int) -> _Subtree:
        """Update the children of an inner node whose children hash `left_hash` and `right_hash`, then the node."""
        mid = _split(batch.ints, depth, prefix, lo, hi)
        child = depth + 1
        left_prefix, right_prefix = prefix << 1, (prefix << 1) | 1
        left_key = _DEPTH_TAG[child] + (left_prefix << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
        right_key = _DEPTH_TAG[child] + (right_prefix << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
        if lo < mid:
            left = self.position(child, left_prefix, left_key, left_hash, batch, lo, mid)
        else:
            left = (left_hash, _UNREAD)
        if mid < hi:
            right = self.position(child, right_prefix, right_key, right_hash, batch, mid, hi)
        else:
            right = (right_hash, _UNREAD)
        return self._combine(depth, prefix, key, left_key, right_key, left, right)

    def _combine(self, depth: int, prefix: int, key: bytes, left_key: bytes, right_key: bytes, left: _Subtree,
                 right: _Subtree) -> _Subtree:
        """An inner node over two updated children; a lone leaf left beside nothing moves up."""
        if left[0] == ZERO:
            if right[0] == ZERO:
                self._delete(depth, prefix, key)
                return _NOTHING
            if right[1] is _UNREAD:
                right = self._unchanged(depth + 1, (prefix << 1) | 1, right_key, right[0])
            if right[1] is not None:
                self._delete(depth + 1, (prefix << 1) | 1, right_key)
                self._put(depth, prefix, key, right[1], right[0], LEAF_KIND)
                return right
        elif right[0] == ZERO:
            if left[1] is _UNREAD:
                left = self._unchanged(depth + 1, prefix << 1, left_key, left[0])
            if left[1] is not None:
                self._delete(depth + 1, prefix << 1, left_key)
                self._put(depth, prefix, key, left[1], left[0], LEAF_KIND)
                return left
        record = _INNER + left[0] + right[0]
        digest = _sha256(record).digest()
        self._put(depth, prefix, key, record, digest, INNER_KIND)
        return digest, None

    def _unchanged(self, depth: int, prefix: int, key: bytes, digest: bytes) -> _Subtree:
        """An unchanged non-empty subtree, with its record if it is a lone leaf (which then moves up)."""
        if depth <= self.top_depth and self.kinds[(1 << depth) - 1 + prefix] == INNER_KIND:
            return digest, None
        record = self._must_read(key)
        return digest, record if record[:1] == _LEAF else None

    def build(self, depth: int, prefix: int, key: bytes, leaves: _Changes, lo: int, hi: int) -> _Subtree:
        """A fresh subtree at (depth, prefix) holding leaves[lo:hi]: at least one, none a delete."""
        if hi - lo == 1:
            record = _LEAF + leaves.khs[lo] + leaves.vhs[lo]  # type: ignore[operator]
            digest = _sha256(record).digest()
            self._put(depth, prefix, key, record, digest, LEAF_KIND)
            return digest, record
        if depth >= 256:
            raise AssertionError("two distinct keys with the same SHA-256")
        mid = _split(leaves.ints, depth, prefix, lo, hi)
        child = depth + 1
        left_prefix, right_prefix = prefix << 1, (prefix << 1) | 1
        if lo < mid:
            left_key = _DEPTH_TAG[child] + (left_prefix << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
            left = self.build(child, left_prefix, left_key, leaves, lo, mid)
        else:
            left = _NOTHING
            self._empty_side(child, left_prefix)
        if mid < hi:
            right_key = _DEPTH_TAG[child] + (right_prefix << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
            right = self.build(child, right_prefix, right_key, leaves, mid, hi)
        else:
            right = _NOTHING
            self._empty_side(child, right_prefix)
        record = _INNER + left[0] + right[0]
        digest = _sha256(record).digest()
        self._put(depth, prefix, key, record, digest, INNER_KIND)
        return digest, None


class StateTree:
    """Reads tree positions through `read`; `update` returns the new root and the position writes.

    With a `top` (ledger/tree_top.py), the hashes of the top levels come from
    memory; the store applies an update's changes to it when it commits them.
    """

    def __init__(self, read: NodeReader, top: TreeTop | None = None):
        self.read = read
        self.top = top

    def root(self) -> bytes:
        record = self.read(_ROOT_KEY)
        return ZERO if record is None else _sha256(record).digest()

    def update(self, changes: Iterable[tuple[bytes, bytes | None]],
               previous: Callable[[bytes], bytes | None] | None = None) -> tuple[bytes, TreeWrites]:
        """Apply (key, value-or-None) changes; returns (new root, {position key: record or None}).

        Each key must appear once (the changes of an overlay are a dict).
        `previous(key)` may give each key's value in the state the tree holds
        (the transition's committed state): a changed key's leaf is then known
        by its hash and not read. What it returns only spares reads; a wrong
        value is a hash that matches nothing, and the leaf is read.
        """
        entries = []
        for key, value in changes:
            kh = _sha256(key).digest()
            old = None if previous is None else previous(key)
            entries.append((int.from_bytes(kh, "big"), kh, None if value is None else _sha256(value).digest(),
                            None if old is None else _sha256(_LEAF + kh + _sha256(old).digest()).digest()))
        writes = TreeWrites()
        top = self.top
        if top is not None:
            top.ensure_loaded()
            writes.top, writes.generation = top, top.generation
        if not entries:
            writes.top_changes = []
            return self.root(), writes
        batch = _Changes.sorted_from(entries)
        update = _Update(self.read, writes, top)
        known = self.root() if top is None else top.root()
        root, _ = update.position(0, 0, _ROOT_KEY, known, batch, 0, len(entries))
        writes.top_changes = update.changes
        return root, writes

    def prove(self, key: bytes) -> tuple[tuple[bytes, ...], tuple[bytes, bytes] | None]:
        """(siblings from the root down, the leaf reached as (kh, vh) or None if empty): one record per level."""
        kh = hashlib.sha256(key).digest()
        kh_int = int.from_bytes(kh, "big")
        siblings = []
        depth, prefix = 0, 0
        record = self.read(_ROOT_KEY)
        while record is not None and record[:1] == _INNER:
            left, right = _inner_children(record)
            bit = _bit(kh_int, depth)
            on_path, sibling = (right, left) if bit else (left, right)
            siblings.append(sibling)
            depth, prefix = depth + 1, prefix * 2 + bit
            if on_path == ZERO:
                return tuple(siblings), None
            record = self.read(node_key(depth, prefix))
            if record is None:
                raise TreeInconsistent(f"no record at tree position {node_key(depth, prefix).hex()}, which its "
                                       "parent names")
        terminal = (record[1:33], record[33:65]) if record is not None else None
        return tuple(siblings), terminal


def verify_proof(
    root: bytes, key: bytes, value: bytes | None, siblings: tuple[bytes, ...], terminal: tuple[bytes, bytes] | None
) -> bool:
    """True if the proof shows `key` holds `value` (or, with value None, is absent) under `root`."""
    kh = hashlib.sha256(key).digest()
    kh_int = int.from_bytes(kh, "big")
    if len(siblings) > 256:
        return False
    if value is not None:
        if terminal is None or terminal[0] != kh or terminal[1] != hashlib.sha256(value).digest():
            return False
        h = leaf_hash(kh, terminal[1])
    elif terminal is None:
        h = ZERO
    else:
        other_kh, other_vh = terminal
        if other_kh == kh:
            return False
        depth = len(siblings)
        if depth and int.from_bytes(other_kh, "big") >> (256 - depth) != kh_int >> (256 - depth):
            return False
        h = leaf_hash(other_kh, other_vh)
    for depth in range(len(siblings) - 1, -1, -1):
        sibling = siblings[depth]
        h = inner_hash(sibling, h) if _bit(kh_int, depth) else inner_hash(h, sibling)
    return h == root


def full_root(entries: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The state root computed from scratch: the definition, for tests and auditors."""
    leaves = sorted(
        (int.from_bytes(hashlib.sha256(k).digest(), "big"), hashlib.sha256(k).digest(), hashlib.sha256(v).digest())
        for k, v in entries
    )

    def root(items: list, depth: int) -> bytes:
        if not items:
            return ZERO
        if len(items) == 1:
            return leaf_hash(items[0][1], items[0][2])
        left = [c for c in items if not _bit(c[0], depth)]
        right = [c for c in items if _bit(c[0], depth)]
        return inner_hash(root(left, depth + 1), root(right, depth + 1))

    return root(leaves, 0)


def list_root(items: list[bytes]) -> bytes:
    """Binary Merkle root of a list of 32-byte hashes (RFC 6962 shape; ZERO for an empty list).

    Used for the transaction and result roots of a block header.

    RFC 6962 splits a list at the largest power of two below its length. Built
    bottom up instead (pair neighbours level by level, an odd last node rises
    unpaired), the tree is the same: each left part is a complete tree of a
    power-of-two size that the pairing closes first, and the unpaired last node
    is the right part that is smaller. Same hashes, no recursion nor slicing.
    """
    if not items:
        return ZERO
    level = [_sha256(_LEAF + h).digest() for h in items]
    while len(level) > 1:
        paired = [_sha256(_INNER + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]
