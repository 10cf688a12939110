"""The node's balance proofs (node/balance_proofs.py) read from a real LevelDB store.

A proof is read from one snapshot, so it matches its own header even while
another thread commits blocks: here a committer thread moves 1 cent to bob
in every block while proofs are taken, and every proof must verify and show
bob holding exactly as many cents as the height of the block it is against.
"""

from __future__ import annotations

import json
import threading

import pytest

from genesis.document import modules_json, parse_genesis
from genesis.rules import RULES
from ledger.address import to_address
from ledger.block import Certificate, sign_precommit
from ledger.crypto import SigningKey
from ledger.lightproof import TrustedSet, verify_balance_proof
from ledger.store import Store
from ledger.transition import build_block
from ledger.tx import sign_tx
from node.balance_proofs import NoCommittedBlock, balance_proof_at_head

CHAIN_ID = "test-proofs"
T0 = 1_700_000_000_000
VALIDATOR = SigningKey(bytes([0x50]) * 32)
ALICE = SigningKey(bytes([0x51]) * 32)
BOB = SigningKey(bytes([0x52]) * 32)
TRUSTED = TrustedSet((VALIDATOR.pubkey,))
BLOCKS = 40


@pytest.fixture
def store(tmp_path):
    g = parse_genesis(json.dumps({
        "chain_id": CHAIN_ID,
        "genesis_time_ms": T0,
        "modules": modules_json(),
        "validators": [{"name": "v", "pubkey": to_address(VALIDATOR.pubkey)}],
        "credits": {
            "issuers": [{"name": "alice", "account": to_address(ALICE.pubkey)}],
            "classes": [{"id": "eur", "name": "Euro", "issuer": to_address(ALICE.pubkey), "decimals": 2}],
            "balances": [{"account": to_address(ALICE.pubkey), "class": "eur", "amount": 10_000}],
        },
    }))
    with Store(tmp_path / "db") as opened:
        opened.init_genesis(g.hash(), g.initial_state(), T0)
        yield opened


def commit_cent_to_bob(store: Store) -> None:
    head = store.head()
    tx = sign_tx(ALICE, CHAIN_ID, "credits.transfer", head.height, 10**6, ("eur", BOB.pubkey, 1, ""))
    block, outcome, rejected = build_block(RULES, store.state, store.tree, head, CHAIN_ID, VALIDATOR.pubkey,
                                           head.time_ms + 1000, [tx])
    assert not rejected
    height, block_hash = block.header.height, block.hash()
    signature = sign_precommit(VALIDATOR, CHAIN_ID, height, 0, block_hash)
    store.commit_block(block, Certificate(height, 0, block_hash, ((VALIDATOR.pubkey, signature),)), outcome)


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
