"""Evidence of double signing, recorded on chain: the `consensus.evidence` transaction.

Two signed votes of one validator for the same (type, height, round) with
different values prove that it equivocated (FORMAT.md §13.3). Anyone may
report the pair (the consensus driver does, signed by its node key); the
transition checks it against the current validator set and records the
offence once, under a key that names it:

    evidence/ || validator(32) || BE8(height) || BE4(round) || type(1)
        -> [vote_a, vote_b, included_height, reporter]

A record is a fact for governance to act on; nothing here punishes.
"""

from __future__ import annotations

from typing import NamedTuple

from ledger import chain, fields
from ledger.address import to_address
from ledger.encoding import EncodingError, decode, encode
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType
from ledger.invariants import InvariantBroken
from ledger.rules import Module, StateScan
from ledger.state import StateReader
from ledger.votes import (
    PRECOMMIT,
    PREVOTE,
    EvidenceInvalid,
    MessageFormatError,
    Vote,
    check_evidence,
    make_evidence,
    vote_from_tuple,
)

PREFIX_EVIDENCE = b"evidence/"
VOTE_TYPE_NAMES = {PREVOTE: "prevote", PRECOMMIT: "precommit"}
OFFENCE_LEN = 32 + 8 + 4 + 1  # the key after its prefix: validator, height, round, type


class Offence(NamedTuple):
    """What an evidence record is about; its fields in this order make the key."""

    validator: bytes
    height: int
    round: int
    type: int


def evidence_key(validator: bytes, height: int, round_: int, vote_type: int) -> bytes:
    return PREFIX_EVIDENCE + validator + height.to_bytes(8, "big") + round_.to_bytes(4, "big") + bytes([vote_type])


def offence_from_key(key: bytes) -> Offence:
    """The inverse of `evidence_key` (for listings)."""
    rest = key[len(PREFIX_EVIDENCE):]
    if not key.startswith(PREFIX_EVIDENCE) or len(rest) != OFFENCE_LEN:
        raise ValueError("not an evidence key")
    return Offence(rest[:32], int.from_bytes(rest[32:40], "big"), int.from_bytes(rest[40:44], "big"), rest[44])


class EvidenceRecord(NamedTuple):
    vote_a: Vote
    vote_b: Vote
    included_height: int  # the height of the block that recorded it
    reporter: bytes  # the signer of the evidence transaction

    def encode(self) -> bytes:
        return encode((tuple(self.vote_a), tuple(self.vote_b), self.included_height, self.reporter))


def decode_record(raw: bytes) -> EvidenceRecord:
    vote_a, vote_b, included_height, reporter = decode(raw)
    return EvidenceRecord(Vote(*vote_a), Vote(*vote_b), included_height, reporter)


def get_evidence(state: StateReader, validator: bytes, height: int, round_: int, vote_type: int) -> EvidenceRecord | None:
    raw = state.get(evidence_key(validator, height, round_, vote_type))
    return None if raw is None else decode_record(raw)


def build_evidence_body(a: Vote, b: Vote) -> tuple:
    """The body of a `consensus.evidence` transaction for two conflicting votes, in canonical order."""
    first, second = make_evidence(a, b)
    return (tuple(first), tuple(second))


# --- the transaction type ---------------------------------------------------------------


class EvidenceBody(NamedTuple):
    vote_a: Vote
    vote_b: Vote


def _vote(value: object, field: str) -> Vote:
    try:
        return vote_from_tuple(value)
    except MessageFormatError as exc:
        raise TxError(Code.MALFORMED, f"{field}: {exc}") from None


def _parse(body: tuple) -> EvidenceBody:
    vote_a, vote_b = fields.expect_fields(body, EvidenceBody._fields)
    return EvidenceBody(_vote(vote_a, "vote_a"), _vote(vote_b, "vote_b"))


def _execute(ctx: ExecContext, body: EvidenceBody) -> None:
    a, b = body
    try:
        check_evidence(a, b, ctx.chain_id, chain.get_validators(ctx.state))
    except EvidenceInvalid as exc:
        raise TxError(Code.EVIDENCE_INVALID, str(exc)) from None
    key = evidence_key(a.validator, a.height, a.round, a.type)
    if ctx.state.get(key) is not None:
        raise TxError(Code.EVIDENCE_EXISTS)
    ctx.state.put(key, EvidenceRecord(a, b, ctx.height, ctx.signer).encode())


def check_evidence_records(state: StateReader, scan: StateScan, chain_id: str, height: int) -> int:
    """The evidence invariant (FORMAT.md §13.3): each record proves the offence its key names; returns the
    number of records."""
    count = 0
    for key, raw in scan(PREFIX_EVIDENCE):
        try:
            record = decode_record(raw)
        except (EncodingError, TypeError, ValueError) as exc:
            raise InvariantBroken("evidence", f"evidence record {key.hex()} does not decode: {exc}") from None
        a, b = record.vote_a, record.vote_b
        if key != evidence_key(a.validator, a.height, a.round, a.type):
            raise InvariantBroken("evidence", f"evidence record {key.hex()} is filed under another offence than its votes")
        if not 0 < record.included_height <= height:
            raise InvariantBroken("evidence", f"evidence record {key.hex()} names inclusion height {record.included_height}")
        try:
            # Membership in the validator set was checked when the block that included it was re-executed.
            check_evidence(a, b, chain_id, (a.validator,))
        except EvidenceInvalid as exc:
            raise InvariantBroken("evidence", f"evidence against {to_address(a.validator)} does not prove an offence: "
                                              f"{exc}", a.validator) from None
        count += 1
    return count


EVIDENCE = TxType("consensus.evidence", _parse, _execute, lambda body: (body.vote_a.validator,))

MODULE = Module(
    name="evidence",
    version=1,
    doc="double signing by a validator, proved by its two votes and recorded once",
    tx_types=(EVIDENCE,),
    codes=(Code.EVIDENCE_INVALID, Code.EVIDENCE_EXISTS),
    prefixes=(PREFIX_EVIDENCE,),
    invariants=check_evidence_records,
)
