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

Nodes are stored by position (depth, path prefix) so that an update reads and
rewrites only the positions on the paths of the changed keys.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import NamedTuple

ZERO = bytes(32)
_LEAF = b"\x00"
_INNER = b"\x01"
_sha256 = hashlib.sha256

NodeReader = Callable[[bytes], bytes | None]


def leaf_hash(kh: bytes, vh: bytes) -> bytes:
    return _sha256(_LEAF + kh + vh).digest()


def inner_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(_INNER + left + right).digest()


class Node(NamedTuple):
    hash: bytes
    kh: bytes | None = None  # set for a leaf
    vh: bytes | None = None


EMPTY = Node(ZERO)

# node_key's pieces per depth, computed once: the 2-byte depth, the shift that
# left-aligns a prefix of `depth` bits, and the byte length of the aligned prefix.
_DEPTH_TAG = tuple(d.to_bytes(2, "big") for d in range(257))
_ALIGN = tuple((d + 7) // 8 * 8 - d for d in range(257))
_NBYTES = tuple((d + 7) // 8 for d in range(257))


def node_key(depth: int, prefix: int) -> bytes:
    """Storage key of a position: depth (2 bytes) and the path's first `depth` bits, left-aligned."""
    return _DEPTH_TAG[depth] + (prefix << _ALIGN[depth]).to_bytes(_NBYTES[depth], "big")


_ROOT_KEY = node_key(0, 0)


def _decode_node(record: bytes | None) -> Node:
    if record is None:
        return EMPTY
    if record[:1] == _LEAF:
        kh, vh = record[1:33], record[33:65]
        return Node(leaf_hash(kh, vh), kh, vh)
    return Node(record[1:33])


def _bit(kh_int: int, depth: int) -> int:
    return (kh_int >> (255 - depth)) & 1


class _Changes(NamedTuple):
    """A batch of changes sorted by path, as three parallel lists.

    The leaves under a position (depth, prefix) are a contiguous run of a list
    sorted by path, and the run splits between the position's two children at
    the first path with bit `depth` set: `_split` finds that index by bisection
    on `ints`, instead of partitioning a list per level.
    """

    ints: list[int]  # the path kh as an integer, ascending
    khs: list[bytes]
    vhs: list[bytes | None]  # None deletes

    @classmethod
    def sorted_from(cls, entries: list[tuple[int, bytes, bytes | None]]) -> _Changes:
        """From (kh_int, kh, vh) triples with distinct paths (so the sort never compares vh)."""
        entries.sort()
        return cls([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries])


def _split(ints: list[int], depth: int, prefix: int, lo: int, hi: int) -> int:
    """Index in ints[lo:hi] (all under position (depth, prefix)) of the first path with bit `depth` = 1."""
    return bisect_left(ints, ((prefix << 1) | 1) << (255 - depth), lo, hi)


def _leaves_after(record: bytes | None, batch: _Changes, lo: int, hi: int) -> _Changes:
    """What a position holding `record` (one leaf, or nothing) holds after the changes batch[lo:hi].

    That is the changes that write a value, plus the old leaf unless one of the
    changes has its path (and so replaces or deletes it).
    """
    ints, khs, vhs = batch
    entries = [(ints[i], khs[i], vhs[i]) for i in range(lo, hi) if vhs[i] is not None]
    if record is not None:
        old_kh = record[1:33]
        old_int = int.from_bytes(old_kh, "big")
        at = bisect_left(ints, old_int, lo, hi)
        if at == hi or ints[at] != old_int:
            entries.append((old_int, old_kh, record[33:65]))
    return _Changes.sorted_from(entries)


# A subtree as an update sees it: (hash, record if it is a single leaf else None).
# A leaf's record 0x00 || kh || vh is exactly what its hash is taken over, so a
# leaf that moves up a level is rewritten as is, and an empty subtree is (ZERO, None).
_Subtree = tuple[bytes, bytes | None]
_NOTHING: _Subtree = (ZERO, None)


def _subtree(record: bytes | None) -> _Subtree:
    """The subtree an unchanged position holds."""
    if record is None:
        return _NOTHING
    if record[:1] == _LEAF:
        return _sha256(record).digest(), record
    return record[1:33], None


class _Update:
    """One batch applied to the tree: walks the positions on the changed paths only.

    Positions are (depth, prefix); changes are index ranges [lo, hi) of the
    sorted batch. Subtrees are plain tuples and keys are built inline because
    this runs once per changed position, several thousand times per block.
    """

    __slots__ = ("read", "writes")

    def __init__(self, read: NodeReader, writes: dict[bytes, bytes | None]):
        self.read = read
        self.writes = writes

    def position(self, depth: int, prefix: int, key: bytes, batch: _Changes, lo: int, hi: int) -> _Subtree:
        """The new subtree at (depth, prefix), stored under `key`, after batch[lo:hi] (all under it)."""
        record = self.read(key)
        if record is not None and record[:1] == _INNER:
            return self._descend(depth, prefix, key, batch, lo, hi)
        if hi - lo == 1 and (record is None or record[1:33] == batch.khs[lo]):
            return self._replace(key, record, batch.khs[lo], batch.vhs[lo])
        # empty or a single leaf: rebuild this small subtree from its leaves
        leaves = _leaves_after(record, batch, lo, hi)
        if not leaves.ints:
            if record is not None:
                self.writes[key] = None
            return _NOTHING
        return self.build(depth, prefix, key, leaves, 0, len(leaves.ints))

    def _replace(self, key: bytes, record: bytes | None, kh: bytes, vh: bytes | None) -> _Subtree:
        """The commonest case, one change where nothing or that very key's leaf is: no rebuild.

        The same as `_leaves_after` then `build`, which would find one leaf or none.
        """
        if vh is None:
            if record is not None:
                self.writes[key] = None
            return _NOTHING
        record = _LEAF + kh + vh
        self.writes[key] = record
        return _sha256(record).digest(), record

    def _descend(self, depth: int, prefix: int, key: bytes, batch: _Changes, lo: int, hi: int) -> _Subtree:
        """Update the children of an inner node, then the node itself."""
        mid = _split(batch.ints, depth, prefix, lo, hi)
        child = depth + 1
        left_prefix, right_prefix = prefix << 1, (prefix << 1) | 1
        left_key = _DEPTH_TAG[child] + (left_prefix << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
        right_key = _DEPTH_TAG[child] + (right_prefix << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
        if lo < mid:
            left = self.position(child, left_prefix, left_key, batch, lo, mid)
        else:
            left = _subtree(self.read(left_key))
        if mid < hi:
            right = self.position(child, right_prefix, right_key, batch, mid, hi)
        else:
            right = _subtree(self.read(right_key))
        return self._combine(key, left_key, right_key, left, right)

    def _combine(self, key: bytes, left_key: bytes, right_key: bytes, left: _Subtree, right: _Subtree) -> _Subtree:
        """An inner node over two updated children; a lone leaf left beside nothing moves up."""
        writes = self.writes
        if left[0] == ZERO:
            if right[0] == ZERO:
                writes[key] = None
                return _NOTHING
            if right[1] is not None:
                writes[right_key] = None
                writes[key] = right[1]
                return right
        elif right[0] == ZERO and left[1] is not None:
            writes[left_key] = None
            writes[key] = left[1]
            return left
        digest = _sha256(_INNER + left[0] + right[0]).digest()
        writes[key] = _INNER + digest
        return digest, None

    def build(self, depth: int, prefix: int, key: bytes, leaves: _Changes, lo: int, hi: int) -> _Subtree:
        """A fresh subtree at (depth, prefix) holding leaves[lo:hi]: at least one, none a delete."""
        if hi - lo == 1:
            record = _LEAF + leaves.khs[lo] + leaves.vhs[lo]  # type: ignore[operator]
            self.writes[key] = record
            return _sha256(record).digest(), record
        if depth >= 256:
            raise AssertionError("two distinct keys with the same SHA-256")
        mid = _split(leaves.ints, depth, prefix, lo, hi)
        child = depth + 1
        left, right = _NOTHING, _NOTHING
        if lo < mid:
            left_prefix = prefix << 1
            left_key = _DEPTH_TAG[child] + (left_prefix << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
            left = self.build(child, left_prefix, left_key, leaves, lo, mid)
        if mid < hi:
            right_prefix = (prefix << 1) | 1
            right_key = _DEPTH_TAG[child] + (right_prefix << _ALIGN[child]).to_bytes(_NBYTES[child], "big")
            right = self.build(child, right_prefix, right_key, leaves, mid, hi)
        digest = _sha256(_INNER + left[0] + right[0]).digest()
        self.writes[key] = _INNER + digest
        return digest, None


class StateTree:
    """Reads tree positions through `read`; `update` returns the new root and the position writes."""

    def __init__(self, read: NodeReader):
        self.read = read

    def root(self) -> bytes:
        return _subtree(self.read(_ROOT_KEY))[0]

    def update(self, changes: Iterable[tuple[bytes, bytes | None]]) -> tuple[bytes, dict[bytes, bytes | None]]:
        """Apply (key, value-or-None) changes; returns (new root, {position key: record or None}).

        Each key must appear once (the changes of an overlay are a dict).
        """
        entries = []
        for key, value in changes:
            kh = _sha256(key).digest()
            entries.append((int.from_bytes(kh, "big"), kh, None if value is None else _sha256(value).digest()))
        writes: dict[bytes, bytes | None] = {}
        if not entries:
            return self.root(), writes
        batch = _Changes.sorted_from(entries)
        root, _ = _Update(self.read, writes).position(0, 0, _ROOT_KEY, batch, 0, len(entries))
        return root, writes

    def prove(self, key: bytes) -> tuple[tuple[bytes, ...], tuple[bytes, bytes] | None]:
        """(siblings from the root down, the leaf reached as (kh, vh) or None if empty)."""
        kh = hashlib.sha256(key).digest()
        kh_int = int.from_bytes(kh, "big")
        siblings = []
        depth, prefix = 0, 0
        node = _decode_node(self.read(node_key(0, 0)))
        while node.kh is None and node.hash != ZERO:
            bit = _bit(kh_int, depth)
            sibling = _decode_node(self.read(node_key(depth + 1, prefix * 2 + (1 - bit))))
            siblings.append(sibling.hash)
            depth, prefix = depth + 1, prefix * 2 + bit
            node = _decode_node(self.read(node_key(depth, prefix)))
        terminal = (node.kh, node.vh) if node.kh is not None else None
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
