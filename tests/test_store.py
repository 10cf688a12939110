"""The node's store (FORMAT.md §15): a committed block survives a close and reopen, whole.

commit_block writes a block, its certificate, its state and tree changes and
its indexes in one batch; after reopening the database the head, the state,
the raw blocks, the transaction index and the per-account history must all
be there, and the state read back must hash to the head's state root (an
auditor's check of a data directory).
"""

from __future__ import annotations

import pytest

from ledger import credits
from ledger.block import decode_raw_block
from ledger.crypto import SigningKey
from ledger.merkle import StateTree, full_root
from ledger.store import P_TREE, Store, StoreError
from ledger.transition import ChainHead
from ledger.tx import sign_tx
from tests.chain_source import commit_to_store, one_class_genesis

CHAIN_ID = "test-store"
T0 = 1_700_000_000_000
VALIDATOR = SigningKey(bytes([0x50]) * 32)
ALICE = SigningKey(bytes([0x51]) * 32)
BOB = SigningKey(bytes([0x52]) * 32)
CAROL = SigningKey(bytes([0x53]) * 32)


def genesis():
    return one_class_genesis(CHAIN_ID, VALIDATOR, ALICE, time_ms=T0)


def commit(store: Store, txs, time_ms: int):
    """A block of `txs` built by the validator, re-executed on the store's state, certified and committed."""
    return commit_to_store(store, CHAIN_ID, VALIDATOR, txs, time_ms, reexecute=True)


def transfer(key, nonce, to, amount):
    return sign_tx(key, CHAIN_ID, "credits.transfer", nonce, 10**6, ("eur", to.pubkey, amount, ""))


@pytest.fixture
def written(tmp_path):
    """A store with genesis and three blocks, closed again; returns its path and what was written."""
    g = genesis()
    store = Store(tmp_path / "db")
    store.init_genesis(g.hash(), g.initial_state(), T0)
    blocks = []
    txs = [[transfer(ALICE, 0, BOB, 100), transfer(ALICE, 1, CAROL, 50)],
           [transfer(BOB, 0, CAROL, 30), transfer(ALICE, 2, BOB, 10**9)],  # the second fails: too little
           []]
    for i, batch in enumerate(txs):
        blocks.append((*commit(store, batch, T0 + 1000 * (i + 1))[:2], batch))
    head = store.head()
    store.close()
    return tmp_path / "db", g, blocks, head


def test_head_and_genesis_survive_reopen(written):
    path, g, blocks, head = written
    with Store(path, create=False) as store:
        assert store.head() == head == ChainHead(3, blocks[-1][0].hash(), blocks[-1][0].header.state_root, T0 + 3000)
        genesis_hash, genesis_root, genesis_time = store.genesis()
        assert genesis_hash == g.hash() and genesis_time == T0
        assert genesis_root == full_root(g.initial_state().items())


def test_raw_blocks_and_block_hash_index_survive_reopen(written):
    path, _, blocks, _ = written
    with Store(path, create=False) as store:
        for height, (block, cert, _) in enumerate(blocks, start=1):
            assert decode_raw_block(store.raw_block(height)) == (block, cert)
            assert store.height_of(block.hash()) == height
        assert store.raw_block(4) is None and store.height_of(bytes(32)) is None


def test_tx_index_and_per_account_history_survive_reopen(written):
    path, _, blocks, _ = written
    with Store(path, create=False) as store:
        for height, (_, _, txs) in enumerate(blocks, start=1):
            for index, tx in enumerate(txs):
                assert store.tx_location(tx.hash) == (height, index)  # failed txs are indexed too
        b1, b2 = blocks[0][2], blocks[1][2]
        assert store.history(ALICE.pubkey) == [(2, 1, b2[1].hash), (1, 1, b1[1].hash), (1, 0, b1[0].hash)]
        assert store.history(CAROL.pubkey) == [(2, 0, b2[0].hash), (1, 1, b1[1].hash)]
        assert store.history(BOB.pubkey, limit=2) == [(2, 1, b2[1].hash), (2, 0, b2[0].hash)]
        assert store.history(BOB.pubkey, before=(2, 0)) == [(1, 0, b1[0].hash)]
        assert store.history(VALIDATOR.pubkey) == []


def test_state_read_back_hashes_to_the_heads_state_root(written):
    path, _, _, head = written
    with Store(path, create=False) as store:
        items = list(store.state_items(b""))
        assert full_root(items) == head.state_root == store.tree.root()
        balances = {k: v for k, v in store.state_items(credits.PREFIX_BALANCE)}
        assert credits.get_balance(store.state, ALICE.pubkey, "eur") == 10_000 - 150
        assert credits.get_balance(store.state, BOB.pubkey, "eur") == 70
        assert credits.get_balance(store.state, CAROL.pubkey, "eur") == 80
        assert len(balances) == 3


def test_the_stored_tree_is_exactly_the_compact_tree_of_the_stored_state(written):
    """No stale tree records in the data directory: rebuilding from the state gives the same set."""
    path, _, _, _ = written
    with Store(path, create=False) as store:
        stored = {k[len(P_TREE):]: v for k, v in store.db.iterator(prefix=P_TREE)}
        _, rebuilt = StateTree(lambda k: None).update(sorted(store.state_items(b"")))
        assert stored == {k: v for k, v in rebuilt.items() if v is not None}


def test_a_reopened_store_goes_on_committing(written):
    path, _, _, head = written
    with Store(path, create=False) as store:
        _, _, new_head = commit(store, [transfer(CAROL, 0, ALICE, 80)], T0 + 4000)
        assert new_head.height == head.height + 1 and store.head() == new_head
        assert credits.get_balance(store.state, CAROL.pubkey, "eur") == 0
        assert store.state.get(credits.balance_key(CAROL.pubkey, "eur")) is None  # zero balances are deleted


def test_a_store_holds_one_chain_and_a_missing_one_is_an_error(written, tmp_path):
    path, g, _, _ = written
    with Store(path, create=False) as store:
        with pytest.raises(StoreError):
            store.init_genesis(g.hash(), g.initial_state(), T0)
    with pytest.raises(StoreError):
        Store(tmp_path / "nothing-here", create=False)
    empty = Store(tmp_path / "empty")
    try:
        assert not empty.is_initialised()
        with pytest.raises(StoreError):
            empty.head()
    finally:
        empty.close()


def test_reads_after_a_commit_see_its_values_even_if_read_before_it(tmp_path):
    """The store's read cache must never serve a value older than the committed one."""
    g = genesis()
    store = Store(tmp_path / "db")
    store.init_genesis(g.hash(), g.initial_state(), T0)
    alice_balance = credits.balance_key(ALICE.pubkey, "eur")
    carol_balance = credits.balance_key(CAROL.pubkey, "eur")
    before = (store.state.get(alice_balance), store.state.get(carol_balance), store.tree.root())
    assert before[1] is None  # absent, and now cached as absent
    commit(store, [transfer(ALICE, 0, CAROL, 25)], T0 + 1000)
    after = (store.state.get(alice_balance), store.state.get(carol_balance), store.tree.root())
    assert after != before and after[1] is not None
    assert after[2] == store.head().state_root
    store.close()
    with Store(tmp_path / "db", create=False) as reopened:  # the uncached truth
        assert (reopened.state.get(alice_balance), reopened.state.get(carol_balance), reopened.tree.root()) == after


def test_a_full_read_cache_is_emptied_not_grown(tmp_path, monkeypatch):
    monkeypatch.setattr("ledger.store.READ_CACHE_ENTRIES", 3)
    g = genesis()
    store = Store(tmp_path / "db")
    store.init_genesis(g.hash(), g.initial_state(), T0)
    for i in range(10):
        assert store.state.get(b"absent/%d" % i) is None
        assert len(store._cache._values) <= 3
    head, _ = store.head(), commit(store, [transfer(ALICE, 0, CAROL, 25)], T0 + 1000)
    assert store.state.get(credits.balance_key(CAROL.pubkey, "eur")) is not None
    assert store.head().height == head.height + 1
    store.close()


@pytest.mark.parametrize("top_depth", [0, 3, 20])
def test_the_depth_of_the_tree_top_in_memory_changes_no_root(written, tmp_path, top_depth):
    """`state_tree_memory_depth` (docs/operations.md, "Memory") trades memory for reads, never a state root."""
    import shutil

    path, _, _, head = written
    copy = tmp_path / f"copy-{top_depth}"
    shutil.copytree(path, copy)
    with Store(copy, create=False, tree_top_depth=top_depth) as store:
        store.load_tree_top()
        _, _, new_head = commit(store, [transfer(CAROL, 0, ALICE, 80), transfer(BOB, 1, CAROL, 5)], T0 + 4000)
        _, _, newer = commit(store, [transfer(ALICE, 3, CAROL, 1)], T0 + 5000)
        items = list(store.state_items(b""))
        assert full_root(items) == newer.state_root == store.tree.root()
    with Store(path, create=False) as reference:
        _, _, same = commit(reference, [transfer(CAROL, 0, ALICE, 80), transfer(BOB, 1, CAROL, 5)], T0 + 4000)
        assert same == new_head


def test_tree_records_read_before_a_commit_are_never_served_stale_after_it(tmp_path):
    """Tree records above the top in memory bypass the read cache at commit; any of them read before must go."""
    g = genesis()
    store = Store(tmp_path / "db", tree_top_depth=1)
    try:
        store.init_genesis(g.hash(), g.initial_state(), T0)
        before = {k[len(P_TREE):]: v for k, v in store.db.iterator(prefix=P_TREE)}
        assert any(len(k) == 2 + 0 for k in before) and all(store.tree.read(k) == v for k, v in before.items())
        for i in range(3):
            commit(store, [transfer(ALICE, i, BOB if i % 2 else CAROL, 10 + i)], T0 + 1000 * (i + 1))
            after = {k[len(P_TREE):]: v for k, v in store.db.iterator(prefix=P_TREE)}
            assert after != before
            for key in before.keys() | after.keys():
                assert store.tree.read(key) == after.get(key), key.hex()
            before = after
    finally:
        store.close()
