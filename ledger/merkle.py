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
from collections.abc import Callable, Iterable
from typing import NamedTuple

ZERO = bytes(32)
_LEAF = b"\x00"
_INNER = b"\x01"

NodeReader = Callable[[bytes], bytes | None]


def leaf_hash(kh: bytes, vh: bytes) -> bytes:
    return hashlib.sha256(_LEAF + kh + vh).digest()


def inner_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_INNER + left + right).digest()


class Node(NamedTuple):
    hash: bytes
    kh: bytes | None = None  # set for a leaf
    vh: bytes | None = None


EMPTY = Node(ZERO)


def node_key(depth: int, prefix: int) -> bytes:
    """Storage key of a position: depth (2 bytes) and the path's first `depth` bits, left-aligned."""
    nbytes = (depth + 7) // 8
    return depth.to_bytes(2, "big") + (prefix << (nbytes * 8 - depth)).to_bytes(nbytes, "big")


def _decode_node(record: bytes | None) -> Node:
    if record is None:
        return EMPTY
    if record[:1] == _LEAF:
        kh, vh = record[1:33], record[33:65]
        return Node(leaf_hash(kh, vh), kh, vh)
    return Node(record[1:33])


def _encode_node(node: Node) -> bytes:
    if node.kh is not None:
        return _LEAF + node.kh + node.vh
    return _INNER + node.hash


def _bit(kh_int: int, depth: int) -> int:
    return (kh_int >> (255 - depth)) & 1


class _Change(NamedTuple):
    kh_int: int
    kh: bytes
    vh: bytes | None  # None deletes


class StateTree:
    """Reads tree positions through `read`; `update` returns the new root and the position writes."""

    def __init__(self, read: NodeReader):
        self.read = read

    def root(self) -> bytes:
        return _decode_node(self.read(node_key(0, 0))).hash

    def update(self, changes: Iterable[tuple[bytes, bytes | None]]) -> tuple[bytes, dict[bytes, bytes | None]]:
        """Apply (key, value-or-None) changes; returns (new root, {position key: record or None})."""
        items = []
        for key, value in changes:
            kh = hashlib.sha256(key).digest()
            vh = None if value is None else hashlib.sha256(value).digest()
            items.append(_Change(int.from_bytes(kh, "big"), kh, vh))
        items.sort()
        writes: dict[bytes, bytes | None] = {}
        if not items:
            return self.root(), writes
        root = self._update(0, 0, items, writes)
        return root.hash, writes

    def _update(self, depth: int, prefix: int, items: list[_Change], writes: dict) -> Node:
        key = node_key(depth, prefix)
        record = self.read(key)
        current = _decode_node(record)
        if current.kh is None and current.hash != ZERO:  # an inner node: descend
            left_items = [c for c in items if not _bit(c.kh_int, depth)]
            right_items = [c for c in items if _bit(c.kh_int, depth)]
            children = []
            for bit, sub in ((0, left_items), (1, right_items)):
                child_prefix = prefix * 2 + bit
                if sub:
                    children.append(self._update(depth + 1, child_prefix, sub, writes))
                else:
                    children.append(_decode_node(self.read(node_key(depth + 1, child_prefix))))
            return self._combine(depth, prefix, children[0], children[1], writes)
        # empty or a single leaf: rebuild this small subtree from its leaves
        leaves: dict[bytes, _Change] = {}
        if current.kh is not None:
            leaves[current.kh] = _Change(int.from_bytes(current.kh, "big"), current.kh, current.vh)
        for change in items:
            if change.vh is None:
                leaves.pop(change.kh, None)
            else:
                leaves[change.kh] = change
        node = self._build(depth, prefix, sorted(leaves.values()), writes)
        if node is EMPTY and record is not None:
            writes[key] = None
        return node

    def _build(self, depth: int, prefix: int, leaves: list[_Change], writes: dict) -> Node:
        if not leaves:
            return EMPTY
        key = node_key(depth, prefix)
        if len(leaves) == 1:
            leaf = leaves[0]
            node = Node(leaf_hash(leaf.kh, leaf.vh), leaf.kh, leaf.vh)
            writes[key] = _encode_node(node)
            return node
        if depth >= 256:
            raise AssertionError("two distinct keys with the same SHA-256")
        left = self._build(depth + 1, prefix * 2, [c for c in leaves if not _bit(c.kh_int, depth)], writes)
        right = self._build(depth + 1, prefix * 2 + 1, [c for c in leaves if _bit(c.kh_int, depth)], writes)
        node = Node(inner_hash(left.hash, right.hash))
        writes[key] = _encode_node(node)
        return node

    def _combine(self, depth: int, prefix: int, left: Node, right: Node, writes: dict) -> Node:
        key = node_key(depth, prefix)
        if left is EMPTY or left.hash == ZERO:
            if right.hash == ZERO:
                writes[key] = None
                return EMPTY
            if right.kh is not None:  # a lone leaf moves up to this position
                writes[node_key(depth + 1, prefix * 2 + 1)] = None
                writes[key] = _encode_node(right)
                return right
        elif right.hash == ZERO and left.kh is not None:
            writes[node_key(depth + 1, prefix * 2)] = None
            writes[key] = _encode_node(left)
            return left
        node = Node(inner_hash(left.hash, right.hash))
        writes[key] = _encode_node(node)
        return node

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
    """
    if not items:
        return ZERO
    level = [hashlib.sha256(_LEAF + h).digest() for h in items]
    return _mth(level)


def _mth(level: list[bytes]) -> bytes:
    if len(level) == 1:
        return level[0]
    k = 1
    while k * 2 < len(level):
        k *= 2
    return inner_hash(_mth(level[:k]), _mth(level[k:]))
