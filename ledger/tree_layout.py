"""Upgrade a store's state-tree records from the first layout to the current one (FORMAT.md §15), in place.

The first layout stored an inner node as `0x01 ‖ hash` (33 bytes); the
current one stores `0x01 ‖ left ‖ right` (65 bytes), the hashes of its two
children, so that an update reads one record per level instead of the node
and its sibling. Leaf records (`0x00 ‖ kh ‖ vh`) are the same in both.

Why in place rather than a refusal: every new record is computed from records
the store already holds (a child's hash is `SHA256(record)` for a leaf or a
new inner record, the stored hash for an old one), so nothing needs fetching,
and a node alone in its federation, or one with a long chain, would otherwise
have to replay or sync it all. Each converted record is checked: the hash of
the new record must be the hash the old one held, so damage stops the upgrade
instead of being copied into the new layout.

Crash safety: records are converted deepest level first, in batches, each
written with sync; the root is last. A crash leaves some inner records in each
layout, every one of them still naming the same hash, and the root record
still in the old layout, which is how a store is known to need the upgrade
(`outdated`); the next start converts the rest. Both layouts' children give
their hash, so converting again is idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from ledger.merkle import ZERO, node_key, position_of

OLD_INNER_LEN = 33
BATCH_RECORDS = 20_000

Scan = Callable[..., Any]  # a generator of (key, value) in key order, as Store._scan


class TreeLayoutError(RuntimeError):
    """The old records do not form the tree they name: a damaged store, not something to convert."""


def outdated(root_record: bytes | None) -> bool:
    """Whether a store whose root record is this holds (some of) its tree in the first layout."""
    return root_record is not None and len(root_record) == OLD_INNER_LEN and root_record[:1] == b"\x01"


def old_root(root_record: bytes) -> bytes:
    """The state root an outdated store's root record names."""
    return root_record[1:33]


def _child_hash(record: bytes) -> bytes:
    if record[:1] == b"\x01" and len(record) == OLD_INNER_LEN:
        return record[1:33]
    return hashlib.sha256(record).digest()


def upgrade(scan: Scan, write_batch: Callable[[dict[bytes, bytes]], None], tree_prefix: bytes,
            progress: Callable[[int], None] | None = None) -> int:
    """Rewrite every old inner record, deepest level first; returns how many were rewritten.

    `scan(start=…, stop=…)` iterates store entries in key order (a level's
    positions ascending), `write_batch` writes a dict of puts durably in one batch.
    """
    deepest = 0
    while _first(scan, tree_prefix, deepest + 1):  # a level holds records only if the one above does
        deepest += 1
    if not _first(scan, tree_prefix, 0):
        return 0
    converted = 0
    pending: dict[bytes, bytes] = {}
    for depth in range(deepest, -1, -1):
        children = _level(scan, tree_prefix, depth + 1)
        child = next(children, None)
        for key, record in _level(scan, tree_prefix, depth):
            if not (record[:1] == b"\x01" and len(record) == OLD_INNER_LEN):
                continue
            _, prefix = position_of(key)
            left_key, right_key = node_key(depth + 1, 2 * prefix), node_key(depth + 1, 2 * prefix + 1)
            hashes = {}
            while child is not None and child[0] <= right_key:  # ascending: skip children of nodes left alone
                if child[0] >= left_key:
                    hashes[child[0]] = _child_hash(child[1])
                child = next(children, None)
            new = b"\x01" + hashes.get(left_key, ZERO) + hashes.get(right_key, ZERO)
            if hashlib.sha256(new).digest() != record[1:33]:
                raise TreeLayoutError(f"the tree record at position {key.hex()} names a hash its children do not have")
            pending[tree_prefix + key] = new
            converted += 1
            if len(pending) >= BATCH_RECORDS:
                _write(write_batch, pending, converted, progress)
                pending = {}
        children.close()
        if pending:  # a level is written before the next one up reads it
            _write(write_batch, pending, converted, progress)
            pending = {}
    return converted


def _write(write_batch: Callable[[dict[bytes, bytes]], None], records: dict[bytes, bytes], converted: int,
           progress: Callable[[int], None] | None) -> None:
    """One durable batch; `progress` then hears how many records are converted on disk."""
    write_batch(records)
    if progress is not None:
        progress(converted)


def _first(scan: Scan, tree_prefix: bytes, depth: int) -> bool:
    """Whether a level holds any record."""
    records = _level(scan, tree_prefix, depth)
    found = next(records, None) is not None
    records.close()
    return found


def _level(scan: Scan, tree_prefix: bytes, depth: int) -> Iterator[Any]:
    """(position key without the store prefix, record) of one level, ascending."""
    start, stop = tree_prefix + depth.to_bytes(2, "big"), tree_prefix + (depth + 1).to_bytes(2, "big")
    for key, record in scan(start=start, stop=stop):
        yield key[len(tree_prefix):], record
