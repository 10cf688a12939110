"""Light proofs of a balance (FORMAT.md §21): what a wallet accepts, and every lie it catches.

The chains here are built by hand: a state as a dict, its root from a
StateTree over that dict (and checked against merkle.full_root, the
definition), headers over that root, certificates signed with test keys.
"""

from __future__ import annotations

import pytest

from ledger.block import Certificate, Header, sign_precommit
from ledger.chain import KEY_VALIDATORS, quorum, validators_hash
from ledger.credits import CreditClass, balance_key, class_key
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.lightproof import (
    BalanceProof,
    ProofFormatError,
    ProofRejected,
    TrustedSet,
    ValidatorSetUpdate,
    build_balance_proof,
    decode_balance_proof,
    prove_entry,
    verify_balance_proof,
)
from ledger.merkle import ZERO, StateTree, full_root

CHAIN = "light-test"
CLASS = "demo-eur"
T0 = 1767225600000


def keys(first: int, count: int) -> list[SigningKey]:
    return sorted((SigningKey(bytes([i]) * 32) for i in range(first, first + count)), key=lambda k: k.pubkey)


GENESIS_KEYS = keys(1, 4)
GENESIS_SET = tuple(k.pubkey for k in GENESIS_KEYS)
TRUSTED = TrustedSet(GENESIS_SET)
ALICE = SigningKey(bytes([0x21]) * 32).pubkey
BOB = SigningKey(bytes([0x22]) * 32).pubkey
ISSUER = SigningKey(bytes([0x23]) * 32).pubkey
RECORD = CreditClass(ISSUER, "Demo euro credits", 2, issued=123_456).encode()


def state(validators: tuple[bytes, ...] = GENESIS_SET, alice: int = 1234) -> dict[bytes, bytes]:
    """Alice holds `alice`, Bob nothing; a few dozen other holders make the tree some levels deep."""
    entries = {class_key(CLASS): RECORD, KEY_VALIDATORS: encode(validators), balance_key(ALICE, CLASS): encode(alice)}
    for i in range(40):
        entries[balance_key(SigningKey(bytes([100 + i]) * 32).pubkey, CLASS)] = encode(1000 + i)
    return entries


def tree_of(entries: dict[bytes, bytes]) -> StateTree:
    _, writes = StateTree(lambda key: None).update(sorted(entries.items()))
    tree = StateTree(writes.get)
    assert tree.root() == full_root(entries.items())
    return tree


def header(height: int, root: bytes, validators: tuple[bytes, ...] = GENESIS_SET, chain: str = CHAIN) -> Header:
    return Header(1, chain, height, T0 + 1000 * height, bytes([height % 256]) * 32, ZERO, ZERO, root, validators[0],
                  validators_hash(validators))


def certify(head: Header, signers: list[SigningKey], round_: int = 0, chain: str = CHAIN,
            block_hash: bytes | None = None) -> Certificate:
    block_hash = head.hash() if block_hash is None else block_hash
    sigs = tuple((k.pubkey, sign_precommit(k, chain, head.height, round_, block_hash)) for k in signers)
    return Certificate(head.height, round_, block_hash, sigs)


def bundle(account: bytes = ALICE, height: int = 57, signers: list[SigningKey] = GENESIS_KEYS[:3],
           validators: tuple[bytes, ...] = GENESIS_SET, chain: str = CHAIN) -> BalanceProof:
    entries = state(validators)
    tree = tree_of(entries)
    head = header(height, tree.root(), validators, chain)
    built = build_balance_proof(tree, entries.get, head, certify(head, signers, chain=chain), account, CLASS)
    assert built is not None
    return built


def rejected(proof: BalanceProof, trusted: TrustedSet = TRUSTED, account: bytes = ALICE) -> str:
    with pytest.raises(ProofRejected) as caught:
        verify_balance_proof(proof, trusted, CHAIN, account, CLASS)
    return str(caught.value)


# --- what an honest node's answer proves -----------------------------------------------


def test_a_present_balance_is_proven_with_its_block_and_class():
    verified = verify_balance_proof(bundle(), TRUSTED, CHAIN, ALICE, CLASS)
    assert (verified.amount, verified.height, verified.time_ms) == (1234, 57, T0 + 57_000)
    assert (verified.decimals, verified.class_name) == (2, "Demo euro credits")
    assert (verified.signers, verified.validators) == (3, 4)


def test_an_absent_balance_is_proven_zero():
    proof = bundle(account=BOB)
    assert proof.amount == 0
    assert verify_balance_proof(proof, TRUSTED, CHAIN, BOB, CLASS).amount == 0


def test_the_canonical_bundle_round_trips_and_rejects_anything_else():
    proof = bundle()
    raw = proof.encode()
    assert decode_balance_proof(raw) == proof
    with pytest.raises(ProofFormatError, match="trailing"):
        decode_balance_proof(raw + b"\x00")
    with pytest.raises(ProofFormatError, match="version"):
        decode_balance_proof(encode((2, *proof.as_tuple()[1:])))
    with pytest.raises(ProofFormatError, match="amount"):
        decode_balance_proof(encode(proof._replace(amount=-1).as_tuple()))


def test_the_node_finds_no_proof_for_an_unknown_class():
    entries = state()
    tree = tree_of(entries)
    head = header(57, tree.root())
    assert build_balance_proof(tree, entries.get, head, certify(head, GENESIS_KEYS), ALICE, "no-such") is None


# --- lies about the balance ---------------------------------------------------------------


def test_a_changed_amount_does_not_match_the_state_root():
    assert rejected(bundle()._replace(amount=999_999)) == "balance proof does not match the state root of block 57"


def test_a_hidden_balance_claimed_zero_or_an_absent_one_claimed_present_is_caught():
    assert "balance proof does not match" in rejected(bundle()._replace(amount=0))
    assert "balance proof does not match" in rejected(bundle(account=BOB)._replace(amount=500), account=BOB)


def test_a_tampered_sibling_is_caught():
    proof = bundle()
    siblings = list(proof.balance_proof.siblings)
    siblings[-1] = bytes(32) if siblings[-1] != bytes(32) else b"\x01" * 32
    tampered = proof._replace(balance_proof=proof.balance_proof._replace(siblings=tuple(siblings)))
    assert "balance proof does not match the state root of block 57" in rejected(tampered)


def test_a_consistent_proof_to_another_root_is_caught():
    """The leaf rewritten and the path rehashed: the proof holds together, but not under the certified root."""
    lying_state = state(alice=999_999)
    lying = prove_entry(tree_of(lying_state), balance_key(ALICE, CLASS))
    proof = bundle()._replace(amount=999_999, balance_proof=lying)
    assert rejected(proof) == "balance proof does not match the state root of block 57"


def test_a_forged_header_with_the_lying_root_fails_its_certificate():
    lying_state = state(alice=999_999)
    tree = tree_of(lying_state)
    honest = bundle()
    forged = honest.header._replace(state_root=tree.root())
    proof = honest._replace(amount=999_999, header=forged, balance_proof=prove_entry(tree, balance_key(ALICE, CLASS)),
                            class_proof=prove_entry(tree, class_key(CLASS)))
    assert "the certificate is for block 57" in rejected(proof)
    assert "not for the header of block 57" in rejected(proof)


def test_a_changed_class_record_is_caught():
    record = CreditClass(ISSUER, "Demo euro credits", 0, issued=123_456).encode()  # 1234 cents shown as 1234 euro
    assert rejected(bundle()._replace(class_record=record)) == (
        "the class record proof does not match the state root of block 57")


def test_a_proof_for_another_account_or_class_is_refused():
    assert "the proof is for account" in rejected(bundle(account=BOB))
    with pytest.raises(ProofRejected, match="the proof is for class 'demo-eur', not 'other'"):
        verify_balance_proof(bundle(), TRUSTED, CHAIN, ALICE, "other")


# --- lies about the block -------------------------------------------------------------------


def test_a_header_from_another_chain_is_refused():
    assert rejected(bundle(chain="other-chain")) == "block 57 is of chain 'other-chain', not 'light-test'"


def test_a_certificate_below_quorum_is_refused():
    assert rejected(bundle(signers=GENESIS_KEYS[:2])) == "certificate of block 57 has 2 of 4 trusted signatures, quorum is 3"


def test_a_duplicate_signer_is_refused():
    proof = bundle()
    sigs = proof.certificate.signatures
    doubled = proof.certificate._replace(signatures=(sigs[0], sigs[0], sigs[1]))
    assert "names signer" in rejected(proof._replace(certificate=doubled))
    assert "twice" in rejected(proof._replace(certificate=doubled))


def test_a_signer_outside_the_trusted_set_is_refused():
    stranger = SigningKey(bytes([0x77]) * 32)
    signers = sorted([*GENESIS_KEYS[:2], stranger], key=lambda k: k.pubkey)
    assert "not a trusted validator" in rejected(bundle(signers=signers))


def test_a_certificate_for_another_block_hash_is_refused():
    proof = bundle()
    other = certify(proof.header, GENESIS_KEYS[:3], block_hash=bytes(32))
    message = rejected(proof._replace(certificate=other))
    assert message.startswith("the certificate is for block 57 (0000000000000000), not for the header of block 57")


def test_a_signature_for_another_round_does_not_verify():
    proof = bundle()
    moved = proof.certificate._replace(round=1)
    assert "does not verify for block 57" in rejected(proof._replace(certificate=moved))


def test_a_block_of_an_unknown_validator_set_without_an_update_is_refused():
    others = keys(30, 4)
    proof = bundle(signers=others[:3], validators=tuple(k.pubkey for k in others))
    message = rejected(proof)
    assert message.startswith("block 57 names validator set ")
    assert "not the trusted set" in message and "no certified validator-set update" in message


# --- validator-set updates (forward-looking: no transaction changes the set yet) ----------------


def update_at(height: int, old_keys: list[SigningKey], new_set: tuple[bytes, ...]) -> ValidatorSetUpdate:
    """Block `height`, certified by the old set, whose post-state holds `new_set`."""
    old_set = tuple(k.pubkey for k in old_keys)
    tree = tree_of(state(new_set))
    head = header(height, tree.root(), old_set)
    return ValidatorSetUpdate(head, certify(head, old_keys[:quorum(len(old_keys))]), new_set, prove_entry(tree, KEY_VALIDATORS))


NEW_KEYS = sorted([*GENESIS_KEYS[2:], *keys(40, 3)], key=lambda k: k.pubkey)  # two stay, three join
NEW_SET = tuple(k.pubkey for k in NEW_KEYS)
LATER_KEYS = keys(50, 4)
LATER_SET = tuple(k.pubkey for k in LATER_KEYS)


def test_a_chain_of_certified_set_updates_leads_to_the_current_set():
    updates = (update_at(10, GENESIS_KEYS, NEW_SET), update_at(20, NEW_KEYS, LATER_SET))
    proof = bundle(signers=LATER_KEYS[:3], validators=LATER_SET)._replace(updates=updates)
    verified = verify_balance_proof(proof, TRUSTED, CHAIN, ALICE, CLASS)
    assert (verified.amount, verified.signers, verified.validators) == (1234, 3, 4)
    assert decode_balance_proof(proof.encode()) == proof


def test_an_update_signed_by_the_new_set_alone_is_refused():
    forged = update_at(10, LATER_KEYS, LATER_SET)._replace(header=header(10, ZERO, GENESIS_SET))
    forged = forged._replace(certificate=certify(forged.header, LATER_KEYS[:3]))
    proof = bundle(signers=LATER_KEYS[:3], validators=LATER_SET)._replace(updates=(forged,))
    assert "not a trusted validator" in rejected(proof)


def test_an_update_claiming_a_set_its_state_does_not_hold_is_refused():
    honest = update_at(10, GENESIS_KEYS, GENESIS_SET)  # the state still holds the genesis set
    forged = honest._replace(validators=LATER_SET)
    proof = bundle(signers=LATER_KEYS[:3], validators=LATER_SET)._replace(updates=(forged,))
    assert rejected(proof) == "the validator-set proof does not match the state root of update block 10"


def test_updates_go_forward_in_height():
    updates = (update_at(20, GENESIS_KEYS, NEW_SET), update_at(20, NEW_KEYS, LATER_SET))
    proof = bundle(signers=LATER_KEYS[:3], validators=LATER_SET)._replace(updates=updates)
    assert "validator-set update block 20 is not above height 20" in rejected(proof)
    stale = bundle(height=5, signers=NEW_KEYS[:3], validators=NEW_SET)._replace(updates=updates[:1])
    assert "block 5 is not above height 20" in rejected(stale)

