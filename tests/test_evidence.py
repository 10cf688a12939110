"""Evidence of double signing on chain (FORMAT.md §6.3 `consensus.evidence`, §13.3).

Through build_block (the proposer) and apply_block (every validator), with
real signatures:
1. A validator's two prevotes for one (height, round) with different values,
   reported by anyone, are recorded under evidence/<validator, height, round,
   type>, with the inclusion height and the reporter; the offender's history
   names the transaction.
2. Pairs that prove nothing (two votes that agree, other heights, rounds,
   types or validators), a pair out of canonical order, a forged signature,
   a non-validator's votes and votes signed for another chain are included
   with EVIDENCE_INVALID: nothing recorded, the reporter's nonce consumed.
3. A second report of the same offence, by another reporter or with the
   other pair of votes, is EVIDENCE_EXISTS and changes no record.
4. A malformed body never reaches a block: admission says MALFORMED.
"""

from __future__ import annotations

import pytest

from genesis.rules import RULES
from ledger import accounts
from ledger.crypto import SigningKey
from ledger.encoding import decode, encode
from ledger.errors import Code, TxError
from ledger.evidence import (
    EVIDENCE,
    PREFIX_EVIDENCE,
    EvidenceRecord,
    build_evidence_body,
    evidence_key,
    get_evidence,
    offence_from_key,
)
from ledger.transition import check_envelope
from ledger.tx import sign_tx
from ledger.votes import PRECOMMIT, PREVOTE, Vote, make_evidence, sign_vote
from tests.test_transition import CHAIN_ID, HOLDERS, VALIDATOR, Node

REPORTER = HOLDERS[0]
OUTSIDER = SigningKey(bytes([0x55]) * 32)  # not a validator
HASH_A, HASH_B = bytes([0xA1]) * 32, bytes([0xB2]) * 32


def vote(value: bytes | None, *, key: SigningKey = VALIDATOR, vote_type: int = PREVOTE, height: int = 7, round_: int = 2, chain_id: str = CHAIN_ID) -> Vote:
    return sign_vote(key, chain_id, vote_type, height, round_, value)


def evidence_tx(node: Node, body: tuple, reporter: SigningKey = REPORTER):
    return sign_tx(reporter, CHAIN_ID, EVIDENCE.name, node.nonce(reporter), 10**6, body)


def include(node: Node, body: tuple, reporter: SigningKey = REPORTER) -> tuple[int, object]:
    """Propose a block holding one evidence tx and apply it (apply_block re-executes it); its result and outcome."""
    block, outcome, rejected = node.propose([evidence_tx(node, body, reporter)])
    assert rejected == []
    node.apply(block)
    return block.results[0], outcome


def evidence_records(node: Node) -> dict[bytes, bytes]:
    return {k: v for k, v in node.state.items.items() if k.startswith(PREFIX_EVIDENCE)}


# --- recorded ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vote_type", [PREVOTE, PRECOMMIT])
def test_a_double_vote_is_recorded_with_its_height_and_reporter(vote_type):
    node, follower = Node(), Node()
    a, b = vote(HASH_A, vote_type=vote_type), vote(None, vote_type=vote_type)  # a value and nil conflict too
    body = build_evidence_body(b, a)
    assert body == tuple(tuple(v) for v in make_evidence(a, b))
    assert encode(body[0]) < encode(body[1]), "canonical order: by the votes' canonical bytes"

    block, outcome, rejected = node.propose([evidence_tx(node, body)])
    assert rejected == [] and block.results == (Code.OK,)
    node.apply(block)
    follower.apply(block)  # an independent execution agrees on the state root
    assert follower.head == node.head

    key = evidence_key(VALIDATOR.pubkey, 7, 2, vote_type)
    assert key == b"evidence/" + VALIDATOR.pubkey + (7).to_bytes(8, "big") + (2).to_bytes(4, "big") + bytes([vote_type])
    assert len(key) == len(b"evidence/") + 45
    assert set(outcome.state_changes) == {key, accounts.account_key(REPORTER.pubkey)}
    record = get_evidence(node.state, VALIDATOR.pubkey, 7, 2, vote_type)
    first, second = make_evidence(a, b)
    assert record == EvidenceRecord(first, second, 1, REPORTER.pubkey)
    assert decode(node.state.items[key]) == (tuple(first), tuple(second), 1, REPORTER.pubkey)
    assert offence_from_key(key) == (VALIDATOR.pubkey, 7, 2, vote_type)
    assert outcome.parties == ((VALIDATOR.pubkey,),), "the offender's history shows the evidence"


def test_the_offender_may_be_reported_by_itself_and_by_a_validator_key():
    node = Node()
    result, _ = include(node, build_evidence_body(vote(HASH_A), vote(HASH_B)), reporter=VALIDATOR)
    assert result == Code.OK
    assert get_evidence(node.state, VALIDATOR.pubkey, 7, 2, PREVOTE).reporter == VALIDATOR.pubkey


# --- invalid: included, nothing recorded, nonce consumed ---------------------------------------------


def _forged(v: Vote) -> Vote:
    return v._replace(signature=v.signature[:-1] + bytes([v.signature[-1] ^ 1]))


def _wrong_order(a: Vote, b: Vote) -> tuple:
    first, second = make_evidence(a, b)
    return (tuple(second), tuple(first))


INVALID = {
    "the same value twice": lambda: build_evidence_body(vote(HASH_A), vote(HASH_A)),
    "the same vote twice": lambda: (tuple(vote(HASH_A)), tuple(vote(HASH_A))),
    "nil twice": lambda: build_evidence_body(vote(None), vote(None)),
    "other heights": lambda: build_evidence_body(vote(HASH_A), vote(HASH_B, height=8)),
    "other rounds": lambda: build_evidence_body(vote(HASH_A), vote(HASH_B, round_=3)),
    "other types": lambda: build_evidence_body(vote(HASH_A), vote(HASH_B, vote_type=PRECOMMIT)),
    "other validators": lambda: build_evidence_body(vote(HASH_A), vote(HASH_B, key=OUTSIDER)),
    "wrong order": lambda: _wrong_order(vote(HASH_A), vote(HASH_B)),
    "a forged signature": lambda: build_evidence_body(vote(HASH_A), _forged(vote(HASH_B))),
    "both signatures forged": lambda: build_evidence_body(_forged(vote(HASH_A)), _forged(vote(HASH_B))),
    "a signature of the other vote": lambda: build_evidence_body(vote(HASH_A), vote(HASH_B)._replace(signature=vote(HASH_A).signature)),
    "a non-validator": lambda: build_evidence_body(vote(HASH_A, key=OUTSIDER), vote(HASH_B, key=OUTSIDER)),
    "votes from another chain": lambda: build_evidence_body(vote(HASH_A, chain_id="other"), vote(HASH_B, chain_id="other")),
    "one vote from another chain": lambda: build_evidence_body(vote(HASH_A), vote(HASH_B, chain_id="other")),
    "a proposal signature under the vote": lambda: build_evidence_body(
        vote(HASH_A), vote(HASH_B)._replace(signature=VALIDATOR.sign_for("incoop/proposal/v1", CHAIN_ID, vote(HASH_B).payload()))
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_evidence_is_included_as_evidence_invalid_and_records_nothing(case):
    node = Node()
    body = INVALID[case]()
    result, outcome = include(node, body)
    assert result == Code.EVIDENCE_INVALID
    assert set(outcome.state_changes) == {accounts.account_key(REPORTER.pubkey)}, "only the nonce moved"
    assert node.nonce(REPORTER) == 1
    assert evidence_records(node) == {}


# --- the same offence twice ---------------------------------------------------------------------------


def test_a_second_report_of_the_same_offence_is_evidence_exists():
    node = Node()
    a, b, c = vote(HASH_A), vote(HASH_B), vote(None)
    assert include(node, build_evidence_body(a, b))[0] == Code.OK
    recorded = evidence_records(node)

    for body, reporter in [
        (build_evidence_body(a, b), REPORTER),  # the same pair again
        (build_evidence_body(a, b), HOLDERS[1]),  # by someone else
        (build_evidence_body(b, c), HOLDERS[1]),  # another pair proving the same offence
    ]:
        nonce = node.nonce(reporter)
        result, outcome = include(node, body, reporter)
        assert result == Code.EVIDENCE_EXISTS
        assert set(outcome.state_changes) == {accounts.account_key(reporter.pubkey)}
        assert node.nonce(reporter) == nonce + 1
    assert evidence_records(node) == recorded

    # another round, type or height of the same validator is another offence
    for other in [{"round_": 3}, {"vote_type": PRECOMMIT}, {"height": 8}]:
        assert include(node, build_evidence_body(vote(HASH_A, **other), vote(HASH_B, **other)))[0] == Code.OK
    assert len(evidence_records(node)) == 4


def test_two_reports_of_one_offence_in_one_block_record_it_once():
    node = Node()
    body = build_evidence_body(vote(HASH_A), vote(HASH_B))
    first = sign_tx(REPORTER, CHAIN_ID, EVIDENCE.name, 0, 10**6, body)
    second = sign_tx(HOLDERS[1], CHAIN_ID, EVIDENCE.name, 0, 10**6, body)
    block, _, rejected = node.propose([first, second])
    assert rejected == [] and block.results == (Code.OK, Code.EVIDENCE_EXISTS)
    node.apply(block)
    assert get_evidence(node.state, VALIDATOR.pubkey, 7, 2, PREVOTE).reporter == REPORTER.pubkey


# --- malformed bodies: refused at admission -------------------------------------------------------------


def _good() -> tuple:
    return build_evidence_body(vote(HASH_A), vote(HASH_B))


def _with_field(index: int, value) -> tuple:
    a, b = _good()
    return (a[:index] + (value,) + a[index + 1:], b)


MALFORMED = {
    "no votes": (),
    "one vote": lambda: _good()[:1],
    "three votes": lambda: (*_good(), _good()[0]),
    "a vote that is not an array": lambda: (b"vote", _good()[1]),
    "a vote of 5 fields": lambda: (_good()[0][:5], _good()[1]),
    "a vote of 7 fields": lambda: (_good()[0] + (0,), _good()[1]),
    "vote type 0": lambda: _with_field(0, 0),
    "vote type 3": lambda: _with_field(0, 3),
    "vote type true": lambda: _with_field(0, True),
    "negative height": lambda: _with_field(1, -1),
    "height 2^63": lambda: _with_field(1, 2**63),
    "text height": lambda: _with_field(1, "7"),
    "round 2^31": lambda: _with_field(2, 2**31),
    "short block hash": lambda: _with_field(3, b"\x01" * 31),
    "text block hash": lambda: _with_field(3, "00" * 32),
    "short validator": lambda: _with_field(4, b"\x01" * 31),
    "long signature": lambda: _with_field(5, b"\x01" * 65),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_body_is_refused_at_admission(case):
    node = Node()
    make = MALFORMED[case]
    body = make() if callable(make) else make
    tx = evidence_tx(node, body)
    with pytest.raises(TxError) as refused:
        check_envelope(RULES, node.state, tx, CHAIN_ID, 1)
    assert refused.value.code == Code.MALFORMED
    block, _, rejected = node.propose([tx])
    assert block.txs == () and [error.code for _, error in rejected] == [Code.MALFORMED]


def test_result_codes_are_execution_results():
    assert Code.EVIDENCE_INVALID < 100 and Code.EVIDENCE_EXISTS < 100
