"""What follows the validator set across a change voted by the federation (FORMAT.md §6.8), on a real
LevelDB store: the audit's replay and certificate checks, and the light-client bundle.

1. A one-validator chain (V) whose issuer pays 1 cent to BOB per block; V proposes adding W with effective
   height E: one of one approves, so it is approved at once.
2. Blocks up to E − 1 are certified by V alone; from E, by V and W (two of two: the quorum of 2).
3. `verify_chain` on the data directory crosses the change (each certificate against the set before its
   block); a block after E certified by V alone is refused there.
4. A balance bundle taken at the head, verified with the genesis set only, follows the one update (block
   E − 1 certified by V, its state holding [V, W]); the store's `v` record is the one the replay writes.
"""

from __future__ import annotations

import pytest

from genesis.rules import RULES
from governance import federation_records as rec
from ledger import chain
from ledger.crypto import SigningKey
from ledger.lightproof import ProofRejected, TrustedSet, verify_balance_proof
from ledger.store import P_VSET, Store
from ledger.transition import build_block
from ledger.tx import sign_tx
from node.audit.verify import AuditFailure
from node.balance_proofs import balance_proof_at_head
from tests.chain_source import audit_home, certificate, one_class_genesis

CHAIN_ID = "test-federation"
T0 = 1_700_000_000_000
V = SigningKey(bytes([0x50]) * 32)
W = SigningKey(bytes([0x53]) * 32)
ALICE = SigningKey(bytes([0x51]) * 32)
BOB = SigningKey(bytes([0x52]) * 32)
EFFECTIVE = 5


def commit(store: Store, txs: list, signers: list[SigningKey]) -> None:
    head = store.head()
    block, outcome, rejected = build_block(RULES, store.state, store.tree, head, CHAIN_ID, V.pubkey,
                                           head.time_ms + 1000, txs)
    assert not rejected, rejected
    store.commit_block(block, certificate(block, CHAIN_ID, signers), outcome)


def cent(store: Store, nonce: int):
    return sign_tx(ALICE, CHAIN_ID, "credits.transfer", nonce, 10**6, ("eur", BOB.pubkey, 1, ""))


def build(home, blocks: int, after_change: list[SigningKey] = (V, W)) -> None:
    g = one_class_genesis(CHAIN_ID, V, ALICE, time_ms=T0)
    with Store(home / "data") as store:
        store.init_genesis(g.hash(), g.initial_state(), T0)
        propose = sign_tx(V, CHAIN_ID, "federation.propose", 0, 10**6,
                          (bytes(16), (rec.ADD, W.pubkey, "ws://127.0.0.1:26999"), EFFECTIVE))
        commit(store, [propose, cent(store, 0)], [V])
        for h in range(2, blocks + 1):
            commit(store, [cent(store, h - 1)], [V] if h < EFFECTIVE else list(after_change))
        assert chain.get_validators(store.state) == (V.pubkey, W.pubkey)
    (home / "genesis.json").write_text(g.to_json())
    return g


def test_the_audit_and_a_light_proof_from_genesis_cross_the_change(tmp_path):
    g = build(tmp_path, 8)
    report = audit_home(tmp_path, g, workers=2)
    assert report.height == 8 and report.stored_state_compared and report.invariants["federation"] >= 1
    with Store(tmp_path / "data") as store:
        assert [h for h, _ in store.validator_set_changes(100)] == [EFFECTIVE - 1]
        proof = balance_proof_at_head(store, BOB.pubkey, "eur")
    assert [u.header.height for u in proof.updates] == [EFFECTIVE - 1]
    verified = verify_balance_proof(proof, TrustedSet((V.pubkey,)), CHAIN_ID, BOB.pubkey, "eur")
    assert (verified.amount, verified.height, verified.validators, verified.signers) == (8, 8, 2, 2)
    with pytest.raises(ProofRejected, match="no certified validator-set update"):
        verify_balance_proof(proof._replace(updates=()), TrustedSet((V.pubkey,)), CHAIN_ID, BOB.pubkey, "eur")


def test_a_block_after_the_change_certified_by_the_old_set_alone_fails_the_audit(tmp_path):
    g = build(tmp_path, 6, after_change=[V])
    with pytest.raises(AuditFailure) as caught:
        audit_home(tmp_path, g, workers=2)
    assert caught.value.check == "certificate" and caught.value.height == EFFECTIVE


def test_the_head_block_that_changed_the_set_sends_no_update_yet(tmp_path):
    """At head E − 1 the bundle's header is the one that wrote the set: certified by the old set, no update."""
    build_to = EFFECTIVE - 1
    g = one_class_genesis(CHAIN_ID, V, ALICE, time_ms=T0)
    with Store(tmp_path / "data") as store:
        store.init_genesis(g.hash(), g.initial_state(), T0)
        propose = sign_tx(V, CHAIN_ID, "federation.propose", 0, 10**6,
                          (bytes(16), (rec.ADD, W.pubkey, "ws://127.0.0.1:26999"), EFFECTIVE))
        commit(store, [propose], [V])
        for _ in range(2, build_to + 1):
            commit(store, [], [V])
        assert [h for h, _ in store.validator_set_changes(build_to)] == [build_to]
        assert dict(store.entries(P_VSET)).keys() == {build_to.to_bytes(8, "big")}
        proof = balance_proof_at_head(store, ALICE.pubkey, "eur")
    assert proof.updates == ()
    assert verify_balance_proof(proof, TrustedSet((V.pubkey,)), CHAIN_ID, ALICE.pubkey, "eur").height == build_to
