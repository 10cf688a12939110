"""What an update of the state tree reads (FORMAT.md §15, ledger/merkle.py, ledger/tree_top.py).

An inner record names both children's hashes, so recomputing a changed path
reads the records on that path and never a sibling's: one read per level. The
top levels held in memory are not read at all, and a changed key's own leaf
is recognised by its hash when the update is given the old values. The top in
memory follows the commits it is given and reloads itself from the records
when given anything else.
"""

from __future__ import annotations

import hashlib

from ledger.merkle import StateTree, full_root, node_key, position_of
from ledger.tree_top import TreeTop

KEYS = [b"acct/%d" % i for i in range(3000)]


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class Counted:
    """Tree records in a dict, counting the reads of each position."""

    def __init__(self) -> None:
        self.nodes: dict[bytes, bytes] = {}
        self.reads: list[bytes] = []

    def read(self, key: bytes) -> bytes | None:
        self.reads.append(key)
        return self.nodes.get(key)

    def scan(self, depth: int):
        for key in sorted(self.nodes):
            if position_of(key)[0] <= depth:
                yield key, self.nodes[key]

    def commit(self, writes: dict[bytes, bytes | None]) -> None:
        for key, record in writes.items():
            if record is None:
                self.nodes.pop(key, None)
            else:
                self.nodes[key] = record


def built(top_depth: int | None = None) -> tuple[Counted, StateTree, dict[bytes, bytes]]:
    store = Counted()
    top = None if top_depth is None else TreeTop(top_depth, store.scan)
    tree = StateTree(store.read, top)
    state = {key: b"1" for key in KEYS}
    _, writes = tree.update(sorted(state.items()))
    store.commit(writes)
    if top is not None:
        top.apply(writes)
    store.reads.clear()
    return store, tree, state


def leaf_depth(store: Counted, key: bytes) -> int:
    kh = int.from_bytes(h(key), "big")
    depth, prefix = 0, 0
    while store.nodes[node_key(depth, prefix)][:1] == b"\x01":
        depth += 1
        prefix = kh >> (256 - depth)
    return depth


def test_without_a_top_a_changed_path_reads_each_of_its_records_once_and_no_sibling() -> None:
    store, tree, state = built()
    key = KEYS[17]
    depth = leaf_depth(store, key)
    assert depth >= 8
    kh = int.from_bytes(h(key), "big")
    on_path = {node_key(d, kh >> (256 - d)) for d in range(depth + 1)}
    tree.update([(key, b"2")])
    assert set(store.reads) == on_path and len(store.reads) == len(on_path) + 1  # the root also for its hash
    store.reads.clear()
    tree.update([(key, b"3")], state.get)  # told the old value: its leaf is known by its hash, not read
    assert set(store.reads) == on_path - {node_key(depth, kh >> (256 - depth))}


def test_with_a_top_only_the_records_below_it_are_read() -> None:
    store, tree, state = built(top_depth=5)
    for key in KEYS[:50]:
        depth = leaf_depth(store, key)
        kh = int.from_bytes(h(key), "big")
        store.reads.clear()
        root, writes = tree.update([(key, b"new " + key)], state.get)
        assert set(store.reads) == {node_key(d, kh >> (256 - d)) for d in range(5, depth)}, key
        store.commit(writes)
        tree.top.apply(writes)
        state[key] = b"new " + key
        assert root == full_root(state.items()) == tree.top.root()


def test_a_top_covering_the_tree_reads_nothing_for_a_known_key_and_the_leaf_otherwise() -> None:
    store, tree, state = built(top_depth=20)
    tree.update([(KEYS[3], b"9")], state.get)
    assert store.reads == []
    tree.update([(KEYS[3], b"9")])
    assert len(store.reads) == 1 and store.nodes[store.reads[0]][:1] == b"\x00"


def test_a_top_given_writes_it_did_not_compute_reloads_from_the_records() -> None:
    store, tree, state = built(top_depth=6)
    first, writes = tree.update([(KEYS[1], b"a")], state.get)
    other = StateTree(store.read)  # the same records, another tree: its writes say nothing of this top
    _, foreign = other.update([(KEYS[1], b"a")], state.get)
    store.commit(foreign)
    tree.top.apply(foreign)
    assert not tree.top.loaded
    state[KEYS[1]] = b"a"
    root, writes = tree.update([(KEYS[2], b"b")], state.get)  # loads again from the records first
    state[KEYS[2]] = b"b"
    assert root == full_root(state.items())
    store.commit(writes)
    tree.top.apply(writes)
    stale_root, stale = tree.update([(KEYS[4], b"c")], state.get)
    _, newer = tree.update([(KEYS[5], b"d")], state.get)
    store.commit(newer)
    tree.top.apply(newer)
    assert tree.top.loaded
    tree.top.apply(stale)  # computed before that commit: refused, reloaded when next needed
    assert not tree.top.loaded


def test_a_top_loaded_from_records_keeps_the_levels_at_least_half_full() -> None:
    """Loaded from a tree of 3,000 keys with room for 20 levels, the top keeps those whose positions are at least
    half held by records, and an update then reads the records below it, one per level."""
    store, tree, state = built()  # no top: the records only
    top = TreeTop(20, store.scan)
    top.ensure_loaded()
    held = {}
    for key in store.nodes:
        depth = position_of(key)[0]
        held[depth] = held.get(depth, 0) + 1
    assert all(held[d] >= 2 ** d / 2 for d in range(top.depth + 1))
    assert held[top.depth + 1] < 2 ** (top.depth + 1) / 2
    assert 9 <= top.depth <= 13  # log2(3000) is 11.6
    loaded = StateTree(store.read, top)
    for key in KEYS[100:120]:
        depth = leaf_depth(store, key)
        kh = int.from_bytes(h(key), "big")
        store.reads.clear()
        root, writes = loaded.update([(key, b"other " + key)], state.get)
        assert set(store.reads) == {node_key(d, kh >> (256 - d)) for d in range(top.depth, depth)}, key
        store.commit(writes)
        top.apply(writes)
        state[key] = b"other " + key
        assert root == full_root(state.items()) == top.root()
