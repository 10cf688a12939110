"""The mempool's admission rules, ordering, bounds and expiry, on an in-memory state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger import accounts, chain
from ledger.chain import ChainParams
from ledger.credits import TRANSFER
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.state import DictState
from ledger.tx import Tx, sign_tx
from node.mempool import Mempool

CHAIN = "test-chain"
GAP = 4
KEYS = [SigningKey(bytes([i]) * 32) for i in range(1, 5)]
A, B, C, D = KEYS


def transfer(key: SigningKey, nonce: int, expiry: int = 1000, amount: int = 1, chain_id: str = CHAIN) -> Tx:
    return sign_tx(key, chain_id, TRANSFER.name, nonce, expiry, ("demo-eur", D.pubkey, amount, ""))


@pytest.fixture
def state() -> DictState:
    return DictState({chain.KEY_PARAMS: ChainParams(max_nonce_gap=GAP).encode()})


@pytest.fixture
def pool(state: DictState) -> Mempool:
    return Mempool(state, CHAIN, max_txs=10)


def commit_nonce(state: DictState, key: SigningKey, next_nonce: int) -> None:
    state.items[accounts.account_key(key.pubkey)] = encode((next_nonce,))


def code_of(call) -> Code:
    with pytest.raises(TxError) as info:
        call()
    return info.value.code


def test_admits_and_orders_each_account_by_nonce(pool: Mempool) -> None:
    for nonce in (2, 0, 1):
        pool.admit(transfer(A, nonce), next_height=1)
    assert [tx.nonce for tx in pool.candidates()] == [0, 1, 2]
    assert len(pool) == 3


def test_candidates_round_robin_longest_waiting_account_first(pool: Mempool) -> None:
    for nonce in range(3):
        pool.admit(transfer(B, nonce), 1)
    for nonce in range(2):
        pool.admit(transfer(A, nonce), 1)
    pool.admit(transfer(C, 0), 1)
    order = [(tx.signer, tx.nonce) for tx in pool.candidates()]
    assert order == [
        (B.pubkey, 0), (A.pubkey, 0), (C.pubkey, 0),
        (B.pubkey, 1), (A.pubkey, 1),
        (B.pubkey, 2),
    ]


def test_candidates_stop_at_a_gap(pool: Mempool) -> None:
    pool.admit(transfer(A, 0), 1)
    pool.admit(transfer(A, 2), 1)
    assert [tx.nonce for tx in pool.candidates()] == [0]
    pool.admit(transfer(A, 1), 1)
    assert [tx.nonce for tx in pool.candidates()] == [0, 1, 2]


def test_duplicate_hash_and_duplicate_nonce(pool: Mempool) -> None:
    tx = transfer(A, 0)
    pool.admit(tx, 1)
    assert code_of(lambda: pool.admit(tx, 1)) == Code.DUPLICATE
    assert code_of(lambda: pool.admit(transfer(A, 0, amount=2), 1)) == Code.DUPLICATE
    assert len(pool) == 1


def test_nonce_window_follows_the_committed_nonce(pool: Mempool, state: DictState) -> None:
    commit_nonce(state, A, 5)
    assert code_of(lambda: pool.admit(transfer(A, 4), 1)) == Code.BAD_NONCE
    assert code_of(lambda: pool.admit(transfer(A, 5 + GAP), 1)) == Code.NONCE_TOO_FAR
    pool.admit(transfer(A, 5 + GAP - 1), 1)
    assert list(pool.candidates()) == []  # behind a gap: waits
    pool.admit(transfer(A, 5), 1)
    assert [tx.nonce for tx in pool.candidates()] == [5]


def test_bounded_size(state: DictState) -> None:
    pool = Mempool(state, CHAIN, max_txs=2)
    pool.admit(transfer(A, 0), 1)
    pool.admit(transfer(B, 0), 1)
    assert code_of(lambda: pool.admit(transfer(C, 0), 1)) == Code.MEMPOOL_FULL


def test_envelope_rejections(pool: Mempool) -> None:
    assert code_of(lambda: pool.admit(transfer(A, 0, chain_id="other"), 1)) == Code.WRONG_CHAIN
    assert code_of(lambda: pool.admit(transfer(A, 0, expiry=4), 5)) == Code.EXPIRED
    bad_sig = transfer(A, 0)
    forged = bad_sig._replace(signature=bytes(64), hash=b"\x01" * 32)
    assert code_of(lambda: pool.admit(forged, 1)) == Code.BAD_SIGNATURE
    unknown = sign_tx(A, CHAIN, "credits.steal", 0, 100, ())
    assert code_of(lambda: pool.admit(unknown, 1)) == Code.UNKNOWN_TYPE
    overflow = sign_tx(A, CHAIN, TRANSFER.name, 0, 100, ("demo-eur", D.pubkey, 2**63, ""))
    assert code_of(lambda: pool.admit(overflow, 1)) == Code.MALFORMED
    assert len(pool) == 0


def test_remove_committed_advances_and_drops_same_nonce_rivals(pool: Mempool, state: DictState) -> None:
    first, rival_hash_owner = transfer(A, 0), transfer(A, 1)
    pool.admit(first, 1)
    pool.admit(rival_hash_owner, 1)
    # a different tx with nonce 1 got committed (say, through another node)
    other = transfer(A, 1, amount=7)
    commit_nonce(state, A, 2)
    pool.remove_committed([first, other])
    assert len(pool) == 0
    assert pool.rejection(rival_hash_owner.hash).code == Code.BAD_NONCE
    pool.admit(transfer(A, 2), 2)
    assert [tx.nonce for tx in pool.candidates()] == [2]


def test_drop_remembers_a_bounded_number_of_rejections(state: DictState) -> None:
    pool = Mempool(state, CHAIN, max_txs=10, rejected_memory=2)
    txs = [transfer(A, n) for n in range(3)]
    for tx in txs:
        pool.admit(tx, 1)
    for tx in txs:
        pool.drop(tx, TxError(Code.EXPIRED))
    assert len(pool) == 0
    assert pool.rejection(txs[0].hash) is None
    assert pool.rejection(txs[2].hash).code == Code.EXPIRED


def test_evict_expired(pool: Mempool) -> None:
    soon, later = transfer(A, 0, expiry=3), transfer(B, 0, expiry=10)
    pool.admit(soon, 1)
    pool.admit(later, 1)
    assert pool.evict_expired(next_height=4) == 1
    assert soon.hash not in pool and later.hash in pool
    assert pool.rejection(soon.hash).code == Code.EXPIRED


def test_verified_lists_every_pending_hash(pool: Mempool) -> None:
    txs = [transfer(A, 0), transfer(B, 0)]
    for tx in txs:
        pool.admit(tx, 1)
    assert pool.verified() == {tx.hash for tx in txs}


def test_verified_is_a_live_view_not_a_copy_per_block(pool: Mempool) -> None:
    """Made once, it answers for what is pending at each lookup: admitted later, dropped later."""
    first, second = transfer(A, 0), transfer(B, 0)
    pool.admit(first, 1)
    verified = pool.verified()
    pool.admit(second, 1)
    assert first.hash in verified and second.hash in verified
    pool.drop(first, TxError(Code.EXPIRED))
    assert first.hash not in verified and second.hash in verified


def test_batch_verifies_in_parallel_and_admits_in_order(pool: Mempool) -> None:
    good = [transfer(A, n) for n in range(3)]
    forged = transfer(B, 0)
    forged_raw = forged.raw[:-1] + bytes([forged.raw[-1] ^ 1])
    raws = [good[0].raw, b"\xc1", forged_raw, good[1].raw, good[1].raw, good[2].raw, TxError(Code.MALFORMED)]
    with ThreadPoolExecutor(2) as executor:
        prepared = pool.prepare_batch(raws, executor)
    assert len(pool) == 0  # preparing admits nothing
    results = pool.admit_prepared(prepared, 1)
    codes = [item.error.code if item.error else None for item in results]
    assert codes == [None, Code.MALFORMED, Code.BAD_SIGNATURE, None, Code.DUPLICATE, None, Code.MALFORMED]
    assert results[1].tx is None and results[2].tx is not None
    assert [tx.nonce for tx in pool.candidates()] == [0, 1, 2]


def test_next_free_nonce_steps_over_the_contiguous_pending_run(pool: Mempool, state: DictState) -> None:
    commit_nonce(state, A, 3)
    assert pool.next_free_nonce(A.pubkey) == 3
    pool.admit(transfer(A, 3), 1)
    pool.admit(transfer(A, 4), 1)
    pool.admit(transfer(A, 6), 1)  # behind a gap: a wallet must still fill nonce 5
    assert pool.next_free_nonce(A.pubkey) == 5
    assert pool.next_free_nonce(B.pubkey) == 0
