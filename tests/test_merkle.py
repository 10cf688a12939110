"""The state root and list roots (FORMAT.md §10, §11).

The node updates the state tree incrementally, a few positions per changed
key; an auditor computes the root from scratch. They must always agree, the
store must hold exactly the nodes of the compact tree (nothing stale left
behind by deletes or by leaves moving up), and proofs must verify when true
and fail when tampered with.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    ZERO,
    StateTree,
    full_root,
    inner_hash,
    leaf_hash,
    list_root,
    node_key,
    position_of,
    verify_proof,
)
from ledger.tree_top import INNER_KIND, TreeTop, index

KEY_POOL = [b"k/%d" % i for i in range(48)]  # small, so that batches update and delete existing keys

keys = st.sampled_from(KEY_POOL)
values = st.binary(min_size=1, max_size=8)
changes = st.lists(st.tuples(keys, st.one_of(st.none(), values)), max_size=12)
batches = st.lists(changes, min_size=1, max_size=8)


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


TOP_DEPTHS = [None, 0, 3]  # no top in memory; only the root; the top 4 levels (trees here are ~6-12 deep)


class MemoryTree:
    """A StateTree over a dict (with a top in memory down to `top_depth`), with a model of the state beside it."""

    def __init__(self, top_depth: int | None = None, previous: str | None = None):
        """`previous`: what the update is told of the old values: nothing, the state's ("state") or lies ("wrong")."""
        self.previous = previous
        self.nodes: dict[bytes, bytes] = {}
        self.top = None if top_depth is None else TreeTop(top_depth, self.scan)
        self.tree = StateTree(self.nodes.get, self.top)
        self.state: dict[bytes, bytes] = {}

    def scan(self, depth: int):
        """What the store's scan gives a TreeTop: the records down to `depth`, in key order."""
        for key in sorted(self.nodes):
            if position_of(key)[0] <= depth:
                yield key, self.nodes[key]

    def apply(self, batch: list[tuple[bytes, bytes | None]]) -> bytes:
        last = dict(batch)  # as an overlay would hold them: the last write per key wins
        previous = {None: None, "state": self.state.get, "wrong": lambda key: b"not %s" % key}[self.previous]
        root, writes = self.tree.update(sorted(last.items()), previous)
        for position, record in writes.items():
            if record is None:
                self.nodes.pop(position, None)
            else:
                self.nodes[position] = record
        if self.top is not None:  # as the store does once the batch is written
            self.top.apply(writes)
        for key, value in last.items():
            if value is None:
                self.state.pop(key, None)
            else:
                self.state[key] = value
        return root


def expected_nodes(state: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """The stored records of the compact tree, built from the definition (FORMAT.md §15)."""
    out: dict[bytes, bytes] = {}

    def build(depth: int, prefix: int, entries: list[tuple[int, bytes, bytes]]) -> bytes:
        if not entries:
            return ZERO
        if len(entries) == 1:
            _, kh, vh = entries[0]
            out[node_key(depth, prefix)] = b"\x00" + kh + vh
            return leaf_hash(kh, vh)
        bit = lambda e: (e[0] >> (255 - depth)) & 1  # noqa: E731
        left = build(depth + 1, prefix * 2, [e for e in entries if not bit(e)])
        right = build(depth + 1, prefix * 2 + 1, [e for e in entries if bit(e)])
        out[node_key(depth, prefix)] = b"\x01" + left + right  # both children's hashes
        return inner_hash(left, right)

    build(0, 0, [(int.from_bytes(h(k), "big"), h(k), h(v)) for k, v in state.items()])
    return out


# --- incremental = from scratch -------------------------------------------------------------


def top_entries(top: TreeTop, nodes: dict[bytes, bytes]) -> dict[tuple[int, int], tuple[int, bytes]]:
    """(kind, hash) of every position the stored tree reaches down to the top's depth, as the top holds them."""
    out = {}

    def walk(depth: int, prefix: int, digest: bytes) -> None:
        if depth > top.depth or digest == ZERO:
            return
        i = index(depth, prefix)
        out[depth, prefix] = top.kinds[i], bytes(top.hashes[32 * i:32 * i + 32])
        record = nodes[node_key(depth, prefix)]
        if record[:1] == b"\x01":
            walk(depth + 1, 2 * prefix, record[1:33])
            walk(depth + 1, 2 * prefix + 1, record[33:65])

    root = nodes.get(node_key(0, 0))
    walk(0, 0, ZERO if root is None else h(root))
    return out


def stored_entries(top_depth: int, nodes: dict[bytes, bytes]) -> dict[tuple[int, int], tuple[int, bytes]]:
    """The same positions' (kind, hash) as the records say."""
    out = {}
    for key, record in nodes.items():
        depth, prefix = position_of(key)
        if depth <= top_depth:
            out[depth, prefix] = (INNER_KIND if record[:1] == b"\x01" else 1), h(record)
    return out


def test_the_empty_state_has_root_zero():
    assert StateTree(lambda k: None).root() == ZERO
    assert full_root([]) == ZERO


def test_a_single_entry_root_is_its_leaf_hash():
    t = MemoryTree()
    root = t.apply([(b"a", b"1")])
    assert root == leaf_hash(h(b"a"), h(b"1")) == full_root([(b"a", b"1")])


@pytest.mark.parametrize("previous", [None, "state", "wrong"])
@pytest.mark.parametrize("top_depth", TOP_DEPTHS)
@settings(max_examples=150, deadline=None)
@given(batches)
def test_incremental_root_equals_full_root_after_every_batch(top_depth, previous, batch_list):
    t = MemoryTree(top_depth, previous)
    for batch in batch_list:
        root = t.apply(batch)
        assert root == full_root(t.state.items())
        assert t.tree.root() == root
        if t.top is not None:  # memory and disk agree at every position the tree reaches
            assert t.top.root() == root
            assert top_entries(t.top, t.nodes) == stored_entries(t.top.depth, t.nodes)


@pytest.mark.parametrize("top_depth", [3, 8])
@settings(max_examples=100, deadline=None)
@given(batches)
def test_a_top_loaded_from_the_records_between_batches_gives_the_same_roots(top_depth, batch_list):
    """As at every start: the top is filled from the stored records (keeping only its half-full levels)."""
    t = MemoryTree(top_depth, "state")
    for batch in batch_list:
        t.top.invalidate()
        root = t.apply(batch)
        assert root == full_root(t.state.items()) == t.top.root()
        assert t.top.depth <= top_depth
        assert top_entries(t.top, t.nodes) == stored_entries(t.top.depth, t.nodes)


@pytest.mark.parametrize("top_depth", TOP_DEPTHS)
@settings(max_examples=150, deadline=None)
@given(batches)
def test_the_store_holds_exactly_the_nodes_of_the_compact_tree_nothing_stale(top_depth, batch_list):
    t = MemoryTree(top_depth)
    for batch in batch_list:
        t.apply(batch)
        assert t.nodes == expected_nodes(t.state)


@pytest.mark.parametrize("top_depth", TOP_DEPTHS)
@settings(max_examples=60, deadline=None)
@given(batches)
def test_deleting_everything_leaves_root_zero_and_no_node_records(top_depth, batch_list):
    t = MemoryTree(top_depth)
    for batch in batch_list:
        t.apply(batch)
    assert t.apply([(k, None) for k in list(t.state)] or [(KEY_POOL[0], None)]) == ZERO
    assert t.nodes == {}


@pytest.mark.parametrize("top_depth", TOP_DEPTHS)
@settings(max_examples=60, deadline=None)
@given(batches)
def test_one_batch_or_one_key_at_a_time_gives_the_same_tree(top_depth, batch_list):
    together, one_by_one = MemoryTree(top_depth), MemoryTree(top_depth)
    for batch in batch_list:
        together.apply(batch)
        for change in dict(batch).items():
            one_by_one.apply([change])
    assert together.tree.root() == one_by_one.tree.root()
    assert together.nodes == one_by_one.nodes


@pytest.mark.parametrize("previous", [None, "state"])
@pytest.mark.parametrize("top_depth", [*TOP_DEPTHS, 8])
@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 400))
def test_a_block_sized_batch_on_a_large_tree_matches_the_definition(top_depth, previous, seed, batch_size):
    """Thousands of leaves, then one batch that inserts, updates and deletes at once.

    The small key pool above keeps trees shallow; this one reaches the deep
    positions, long runs of changes under one node and leaves that must split.
    """
    pool = [b"big/%d/%d" % (seed, i) for i in range(3000)]
    t = MemoryTree(top_depth, previous)
    t.apply([(k, b"v") for k in pool[:2000]])
    batch = [(k, None) for k in pool[seed % 1000: seed % 1000 + batch_size]]  # deletes
    batch += [(k, b"w%d" % i) for i, k in enumerate(pool[1000 + seed % 900: 1000 + seed % 900 + batch_size])]
    batch += [(k, b"new") for k in pool[2000: 2000 + batch_size]]  # inserts
    root = t.apply(batch)
    assert root == full_root(t.state.items())
    assert t.nodes == expected_nodes(t.state)
    if t.top is not None:
        assert top_entries(t.top, t.nodes) == stored_entries(t.top.depth, t.nodes)


def test_keys_sharing_a_long_prefix_hang_under_a_chain_of_inner_nodes():
    """Find two keys whose hashes share their first 6 bits: the root is 6 inner levels above them."""
    first = b"p/0"
    kh0 = int.from_bytes(h(first), "big")
    second = next(b"p/%d" % i for i in range(1, 10**6) if int.from_bytes(h(b"p/%d" % i), "big") >> 250 == kh0 >> 250)
    t = MemoryTree()
    root = t.apply([(first, b"x"), (second, b"y")])
    assert root == full_root([(first, b"x"), (second, b"y")])
    siblings, terminal = t.tree.prove(first)
    assert len(siblings) >= 7 and all(s == ZERO for s in siblings[:6])
    assert verify_proof(root, first, b"x", siblings, terminal)
    # deleting one moves the other leaf up through every level to the root position
    assert t.apply([(second, None)]) == leaf_hash(h(first), h(b"x"))
    assert t.nodes == {node_key(0, 0): b"\x00" + h(first) + h(b"x")}


# --- proofs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("top_depth", TOP_DEPTHS)
@settings(max_examples=100, deadline=None)
@given(batches, st.binary(max_size=8))
def test_proofs_of_inclusion_and_non_inclusion_verify(top_depth, batch_list, stranger):
    t = MemoryTree(top_depth)
    for batch in batch_list:
        t.apply(batch)
    root = t.tree.root()
    for key in KEY_POOL + [stranger]:
        siblings, terminal = t.tree.prove(key)
        value = t.state.get(key)
        assert verify_proof(root, key, value, siblings, terminal)
        if value is not None:
            assert not verify_proof(root, key, None, siblings, terminal), "claimed absent while present"
            assert not verify_proof(root, key, value + b"!", siblings, terminal), "wrong value"
        else:
            assert not verify_proof(root, key, b"v", siblings, terminal), "claimed present while absent"


@settings(max_examples=100, deadline=None)
@given(batches, st.data())
def test_tampered_proofs_fail(batch_list, data):
    t = MemoryTree()
    for batch in batch_list:
        t.apply(batch)
    root = t.tree.root()
    key = data.draw(st.sampled_from(KEY_POOL))
    value = t.state.get(key)
    siblings, terminal = t.tree.prove(key)
    if siblings:
        i = data.draw(st.integers(0, len(siblings) - 1))
        bad = list(siblings)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert not verify_proof(root, key, value, tuple(bad), terminal)
        assert not verify_proof(root, key, value, siblings[:-1], terminal), "a sibling dropped"
    assert not verify_proof(root, key, value, siblings + (ZERO,), terminal), "a sibling added"
    assert not verify_proof(h(root), key, value, siblings, terminal), "another root"
    if terminal is not None:
        assert not verify_proof(root, key, value, siblings, (terminal[0], h(terminal[1]))), "terminal value"


def test_non_inclusion_through_a_leaf_with_another_prefix_fails():
    """The terminal leaf must share the absent key's path bits, or it proves nothing about that key."""
    t = MemoryTree()
    root = t.apply([(b"a", b"1"), (b"b", b"2"), (b"c", b"3")])
    for absent in (b"zz", b"yy", b"xx"):
        siblings, terminal = t.tree.prove(absent)
        assert verify_proof(root, absent, None, siblings, terminal)
        for present in (b"a", b"b", b"c"):
            other_siblings, other_terminal = t.tree.prove(present)
            if other_terminal != terminal:
                assert not verify_proof(root, absent, None, other_siblings, other_terminal)


# --- list roots -----------------------------------------------------------------------------------


def reference_list_root(items: list[bytes]) -> bytes:
    """FORMAT.md §11 written out: RFC 6962's shape, ZERO for the empty list."""
    if not items:
        return ZERO
    if len(items) == 1:
        return h(b"\x00" + items[0])
    k = 1
    while k * 2 < len(items):
        k *= 2
    return h(b"\x01" + reference_list_root(items[:k]) + reference_list_root(items[k:]))


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=40))
def test_list_root_follows_the_rfc_6962_shape(items):
    assert list_root(items) == reference_list_root(items)


def test_list_root_follows_the_rfc_6962_shape_at_block_sizes():
    """Around powers of two and at a full block, where an odd last node rises several levels."""
    for n in (63, 64, 65, 127, 1023, 1025, 5000):
        items = [h(b"%d" % i) for i in range(n)]
        assert list_root(items) == reference_list_root(items), n


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=2, max_size=10, unique=True))
def test_list_root_commits_to_order(items):
    assert list_root(items) != list_root(items[::-1])


def test_a_list_root_is_never_a_state_leaf_or_the_empty_marker():
    assert list_root([ZERO]) != ZERO
    assert list_root([ZERO]) == h(b"\x00" + ZERO)
