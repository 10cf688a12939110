"""The commit certificate rule (FORMAT.md section 13): a quorum of distinct validators, all signatures valid."""

from __future__ import annotations

import pytest

from ledger.block import Certificate, CertificateInvalid, sign_precommit, verify_certificate
from ledger.crypto import SigningKey

CHAIN = "cert-test"
KEYS = sorted((SigningKey(bytes([i]) * 32) for i in range(1, 5)), key=lambda k: k.pubkey)
VALIDATORS = tuple(k.pubkey for k in KEYS)
BLOCK = bytes(range(32))


def certificate(signers, height=7, round_=1, block_hash=BLOCK) -> Certificate:
    sigs = tuple((k.pubkey, sign_precommit(k, CHAIN, height, round_, block_hash)) for k in signers)
    return Certificate(height, round_, block_hash, sigs)


def test_three_of_four_validators_make_a_valid_certificate():
    verify_certificate(certificate(KEYS[:3]), CHAIN, VALIDATORS, 7, BLOCK)
    verify_certificate(certificate(KEYS), CHAIN, VALIDATORS, 7, BLOCK)


@pytest.mark.parametrize(
    "cert, message",
    [
        (certificate(KEYS[:2]), "quorum is 3"),
        (certificate([KEYS[0], KEYS[0], KEYS[1]]), "ascending"),
        (certificate([KEYS[2], KEYS[1], KEYS[0]]), "ascending"),
        (certificate(KEYS[:3], height=8), "another block"),
        (certificate(KEYS[:3], block_hash=bytes(32)), "another block"),
        (certificate(sorted([*KEYS[:2], SigningKey(bytes([9]) * 32)], key=lambda k: k.pubkey)), "not a validator"),
    ],
)
def test_a_certificate_short_of_a_quorum_or_with_a_bad_signer_is_refused(cert, message):
    with pytest.raises(CertificateInvalid, match=message):
        verify_certificate(cert, CHAIN, VALIDATORS, 7, BLOCK)


def test_a_signature_for_another_round_or_chain_does_not_count():
    good = certificate(KEYS[:3])
    other_round = Certificate(good.height, 2, good.block_hash, good.signatures)
    with pytest.raises(CertificateInvalid, match="does not verify"):
        verify_certificate(other_round, CHAIN, VALIDATORS, 7, BLOCK)
    with pytest.raises(CertificateInvalid, match="does not verify"):
        verify_certificate(good, "another-chain", VALIDATORS, 7, BLOCK)


@pytest.mark.parametrize("round_", [2**31, 2**63 - 1, -1, True])
def test_a_certificate_round_is_bounded_like_a_vote_round(round_):
    """A certificate is a quorum of precommits, and a precommit's round is below 2^31 (FORMAT.md §13.1)."""
    from ledger.block import BlockFormatError, certificate_from_tuple
    from ledger.encoding import decode
    from ledger.votes import MessageFormatError, vote_from_tuple

    good = certificate(KEYS[:3], round_=2**31 - 1)
    assert certificate_from_tuple(decode(good.encode())) == good
    with pytest.raises(BlockFormatError, match="round"):
        certificate_from_tuple((7, round_, BLOCK, good.signatures))
    with pytest.raises(MessageFormatError, match="round"):  # the vote's own bound, which the certificate follows
        vote_from_tuple((2, 7, round_, BLOCK, KEYS[0].pubkey, bytes(64)))
