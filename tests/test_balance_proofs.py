"""The node's balance proofs (node/balance_proofs.py) read from a real LevelDB store.

A proof is read from one snapshot, so it matches its own header even while
another thread commits blocks: here a committer thread moves 1 cent to bob
in every block while proofs are taken, and every proof must verify and show
bob holding exactly as many cents as the height of the block it is against.
"""

from __future__ import annotations

import threading

import pytest

from ledger.crypto import SigningKey
from ledger.lightproof import TrustedSet, verify_balance_proof
from ledger.store import Store
from ledger.tx import sign_tx
from node.balance_proofs import NoCommittedBlock, balance_proof_at_head
from tests.chain_source import commit_to_store, one_class_genesis

CHAIN_ID = "test-proofs"
T0 = 1_700_000_000_000
VALIDATOR = SigningKey(bytes([0x50]) * 32)
ALICE = SigningKey(bytes([0x51]) * 32)
BOB = SigningKey(bytes([0x52]) * 32)
TRUSTED = TrustedSet((VALIDATOR.pubkey,))
BLOCKS = 40


@pytest.fixture
def store(tmp_path):
    g = one_class_genesis(CHAIN_ID, VALIDATOR, ALICE, time_ms=T0)
    with Store(tmp_path / "db") as opened:
        opened.init_genesis(g.hash(), g.initial_state(), T0)
        yield opened


def commit_cent_to_bob(store: Store) -> None:
    tx = sign_tx(ALICE, CHAIN_ID, "credits.transfer", store.head().height, 10**6, ("eur", BOB.pubkey, 1, ""))
    commit_to_store(store, CHAIN_ID, VALIDATOR, [tx])


def test_at_genesis_there_is_no_certificate_to_prove_with(store):
    with pytest.raises(NoCommittedBlock):
        balance_proof_at_head(store, ALICE.pubkey, "eur")


def test_a_proof_from_the_store_verifies_and_an_unknown_class_has_none(store):
    for _ in range(3):
        commit_cent_to_bob(store)
    proof = balance_proof_at_head(store, ALICE.pubkey, "eur")
    verified = verify_balance_proof(proof, TRUSTED, CHAIN_ID, ALICE.pubkey, "eur")
    assert (verified.amount, verified.height, verified.decimals) == (10_000 - 3, 3, 2)
    assert balance_proof_at_head(store, ALICE.pubkey, "usd") is None


def test_proofs_taken_while_blocks_commit_match_their_own_block(store):
    commit_cent_to_bob(store)
    done = threading.Event()

    def committer() -> None:
        try:
            for _ in range(BLOCKS - 1):
                commit_cent_to_bob(store)
        finally:
            done.set()

    thread = threading.Thread(target=committer)
    thread.start()
    seen = []
    try:
        while not done.is_set() or not seen:
            proof = balance_proof_at_head(store, BOB.pubkey, "eur")
            verified = verify_balance_proof(proof, TRUSTED, CHAIN_ID, BOB.pubkey, "eur")
            assert verified.amount == verified.height
            seen.append(verified.height)
    finally:
        thread.join()  # before the fixture closes the store under the committer
    assert seen == sorted(seen)
    assert balance_proof_at_head(store, BOB.pubkey, "eur").amount == BLOCKS
