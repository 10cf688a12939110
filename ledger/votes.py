"""Signed consensus messages as the ledger sees them: votes, proposals, evidence (FORMAT.md §13).

    vote         = [type, height, round, block_hash or nil]         signed under incoop/vote/v1
    signed vote  = [type, height, round, block_hash or nil, validator, signature]
    proposal     = [height, round, pol_round, block_hash]           signed under incoop/proposal/v1
    evidence     = [signed vote, signed vote]   one validator, same (type, height, round),
                                                different values, ordered by canonical bytes

They live in the ledger, not in the node, because a certificate is a set of
precommit signatures and evidence is checked by the state transition: an
auditor verifies both with FORMAT.md alone.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ledger.crypto import (
    DOMAIN_PROPOSAL,
    DOMAIN_VOTE,
    HASH_LEN,
    PUBKEY_LEN,
    SIGNATURE_LEN,
    SigningKey,
    signing_message,
    verify,
)
from ledger.encoding import encode

PREVOTE = 1
PRECOMMIT = 2
MAX_ROUND = 2**31  # far beyond any real round; keeps every field a small integer


class MessageFormatError(ValueError):
    """The value is not a well-formed vote, proposal or evidence."""


class Vote(NamedTuple):
    type: int
    height: int
    round: int
    block_hash: bytes | None  # None is a vote for nil
    validator: bytes
    signature: bytes

    def payload(self) -> bytes:
        return vote_payload(self.type, self.height, self.round, self.block_hash)

    def verify(self, chain_id: str) -> bool:
        return verify(self.validator, signing_message(DOMAIN_VOTE, chain_id, self.payload()), self.signature)

    def as_tuple(self) -> tuple:
        return tuple(self)

    def encode(self) -> bytes:
        return encode(tuple(self))


class Proposal(NamedTuple):
    height: int
    round: int
    pol_round: int  # -1, or the round of the prevote quorum that made this block the valid value (L28)
    block_hash: bytes
    proposer: bytes
    signature: bytes

    def payload(self) -> bytes:
        return proposal_payload(self.height, self.round, self.pol_round, self.block_hash)

    def verify(self, chain_id: str) -> bool:
        return verify(self.proposer, signing_message(DOMAIN_PROPOSAL, chain_id, self.payload()), self.signature)


def vote_payload(vote_type: int, height: int, round_: int, block_hash: bytes | None) -> bytes:
    return encode((vote_type, height, round_, block_hash))


def proposal_payload(height: int, round_: int, pol_round: int, block_hash: bytes) -> bytes:
    return encode((height, round_, pol_round, block_hash))


def sign_vote(key: SigningKey, chain_id: str, vote_type: int, height: int, round_: int, block_hash: bytes | None) -> Vote:
    signature = key.sign_for(DOMAIN_VOTE, chain_id, vote_payload(vote_type, height, round_, block_hash))
    return Vote(vote_type, height, round_, block_hash, key.pubkey, signature)


def sign_proposal(key: SigningKey, chain_id: str, height: int, round_: int, pol_round: int, block_hash: bytes) -> Proposal:
    signature = key.sign_for(DOMAIN_PROPOSAL, chain_id, proposal_payload(height, round_, pol_round, block_hash))
    return Proposal(height, round_, pol_round, block_hash, key.pubkey, signature)


# --- decoding from untrusted values -------------------------------------------------


def _uint(value: Any, what: str, limit: int = 2**63) -> int:
    if type(value) is not int or not 0 <= value < limit:
        raise MessageFormatError(f"{what} must be an integer in 0..{limit - 1}")
    return value


def _bytes(value: Any, length: int, what: str) -> bytes:
    if type(value) is not bytes or len(value) != length:
        raise MessageFormatError(f"{what} must be {length} bytes")
    return value


def vote_from_tuple(value: Any) -> Vote:
    if type(value) is not tuple or len(value) != 6:
        raise MessageFormatError("a signed vote is an array of 6 fields")
    vote_type, height, round_, block_hash, validator, signature = value
    if vote_type not in (PREVOTE, PRECOMMIT) or type(vote_type) is not int:
        raise MessageFormatError("vote type must be 1 (prevote) or 2 (precommit)")
    return Vote(
        vote_type,
        _uint(height, "height"),
        _uint(round_, "round", MAX_ROUND),
        None if block_hash is None else _bytes(block_hash, HASH_LEN, "block hash"),
        _bytes(validator, PUBKEY_LEN, "validator"),
        _bytes(signature, SIGNATURE_LEN, "signature"),
    )


def proposal_from_tuple(value: Any) -> Proposal:
    if type(value) is not tuple or len(value) != 6:
        raise MessageFormatError("a signed proposal is an array of 6 fields")
    height, round_, pol_round, block_hash, proposer, signature = value
    round_ = _uint(round_, "round", MAX_ROUND)
    if type(pol_round) is not int or not -1 <= pol_round < round_:
        raise MessageFormatError("pol_round must be -1 or a round before the proposal's round")
    return Proposal(
        _uint(height, "height"),
        round_,
        pol_round,
        _bytes(block_hash, HASH_LEN, "block hash"),
        _bytes(proposer, PUBKEY_LEN, "proposer"),
        _bytes(signature, SIGNATURE_LEN, "signature"),
    )


# --- evidence ---------------------------------------------------------------------------


class EvidenceInvalid(ValueError):
    """The two votes do not prove that a validator signed conflicting votes."""


def conflicting(a: Vote, b: Vote) -> bool:
    """Same validator, same (type, height, round), different values: equivocation."""
    return (
        a.validator == b.validator
        and (a.type, a.height, a.round) == (b.type, b.height, b.round)
        and a.block_hash != b.block_hash
    )


def make_evidence(a: Vote, b: Vote) -> tuple[Vote, Vote]:
    """The canonical order of an evidence pair: by the votes' canonical bytes."""
    return (a, b) if a.encode() < b.encode() else (b, a)


def check_evidence(a: Vote, b: Vote, chain_id: str, validators: tuple[bytes, ...]) -> None:
    """FORMAT.md §13.3: raises EvidenceInvalid unless (a, b) is a valid, canonically ordered pair."""
    if not conflicting(a, b):
        raise EvidenceInvalid("the votes are not by one validator for one (type, height, round) with different values")
    if a.encode() >= b.encode():
        raise EvidenceInvalid("the votes of an evidence pair are not in canonical order")
    if a.validator not in validators:
        raise EvidenceInvalid("the signer is not a validator")
    if not a.verify(chain_id) or not b.verify(chain_id):
        raise EvidenceInvalid("a vote signature does not verify")
