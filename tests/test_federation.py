"""The federation's own rules (FORMAT.md §6.8): proposals, approvals by more than two thirds of the current
validators, the change applied at its effective height, every refusal with its code.

A four-validator chain (tests/identity_chain.py VALIDATORS; blocks built by VALIDATOR and re-executed by a
follower): with four, three approvals are needed; with five, four.
"""

from __future__ import annotations

import pytest

from governance import federation_records as rec
from governance.federation_invariants import check_federation
from identity.records import get_attester, is_registrar
from ledger import chain, credits
from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.encoding import decode, encode
from ledger.errors import Code
from ledger.invariants import InvariantBroken
from market.records import is_arbiter
from tests.identity_chain import (
    KEYS,
    OTHER_VALIDATORS,
    VALIDATOR,
    VALIDATORS,
    Chain,
    genesis_document,
)

V0, V1, V2, V3 = VALIDATORS
NEW = SigningKey(bytes([0x58]) * 32)
NEWER = SigningKey(bytes([0x59]) * 32)
ADDR = "ws://127.0.0.1:26700"


def four_validators() -> dict:
    doc = genesis_document()
    doc["validators"] = [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(VALIDATORS)]
    return doc


def pid(n: int) -> bytes:
    return bytes([0xF0, n]) + bytes(14)


def _scan(c: Chain):
    def scan(prefix: bytes):
        return iter(sorted((k, v) for k, v in c.state.items.items() if k.startswith(prefix)))
    return scan


def check(c: Chain) -> None:
    check_federation(c.state, _scan(c))
    c.check_root()


@pytest.fixture
def c() -> Chain:
    return Chain(four_validators())


def propose(c: Chain, key: SigningKey, n: int, change: tuple, lead: int = 5) -> int:
    return c.send(key, "federation.propose", (pid(n), change, c.height + 1 + lead))


def approve(c: Chain, key: SigningKey, n: int) -> int:
    return c.send(key, "federation.approve", (pid(n),))


def approved(c: Chain, n: int, change: tuple, lead: int = 5, by=(V0, V1, V2)) -> int:
    """Proposed by the first of `by` and approved by the others in one block; the effective height."""
    effective = c.height + 1 + lead
    txs = [c.tx(by[0], "federation.propose", (pid(n), change, effective))]
    txs += [c.tx(k, "federation.approve", (pid(n),)) for k in by[1:]]
    assert c.block(txs).results == (0,) * len(txs)
    assert status(c, n) == rec.APPROVED
    return effective


def status(c: Chain, n: int) -> str:
    return rec.get_proposal(c.state, pid(n)).status


def run_to(c: Chain, height: int) -> None:
    while c.height < height:
        c.block([])


def test_a_validator_added_by_three_of_four_is_in_the_set_from_the_effective_height(c):
    assert propose(c, V0, 1, (rec.ADD, NEW.pubkey, ADDR)) == Code.OK
    effective = rec.get_proposal(c.state, pid(1)).effective_height
    assert approve(c, V1, 1) == Code.OK
    assert status(c, 1) == rec.PENDING  # two of four: not more than two thirds
    assert approve(c, V2, 1) == Code.OK
    assert status(c, 1) == rec.APPROVED  # three of four
    run_to(c, effective - 2)
    assert NEW.pubkey not in chain.get_validators(c.state)
    block = c.block([])  # block effective − 1: its end-of-block step applies the change
    assert block.header.height == effective - 1
    assert block.header.validators_hash == chain.validators_hash(tuple(k.pubkey for k in VALIDATORS))
    assert chain.get_validators(c.state) == (*(k.pubkey for k in VALIDATORS), NEW.pubkey)
    assert rec.get_peer(c.state, NEW.pubkey) == ADDR
    assert status(c, 1) == rec.APPLIED
    assert [(e.module, e.item, e.code) for e in block.effects] == [("federation", pid(1), 0)]
    first = c.block([])  # the effective block names the new set: the new set certifies it
    assert first.header.height == effective
    assert first.header.validators_hash == chain.validators_hash(chain.get_validators(c.state))
    check(c)


def test_with_five_validators_four_approvals_are_needed(c):
    propose(c, V0, 1, (rec.ADD, NEW.pubkey, ADDR))
    approve(c, V1, 1)
    approve(c, V2, 1)
    run_to(c, rec.get_proposal(c.state, pid(1)).effective_height)
    assert len(chain.get_validators(c.state)) == 5
    assert propose(c, V0, 2, (rec.REMOVE, V3.pubkey)) == Code.OK
    assert approve(c, V1, 2) == Code.OK
    assert approve(c, NEW, 2) == Code.OK
    assert status(c, 2) == rec.PENDING  # three of five
    assert approve(c, V2, 2) == Code.OK
    assert status(c, 2) == rec.APPROVED  # four of five
    run_to(c, rec.get_proposal(c.state, pid(2)).effective_height)
    assert V3.pubkey not in chain.get_validators(c.state)
    assert approve(c, V3, 2) == Code.NOT_VALIDATOR  # removed: it no longer counts
    check(c)


def test_an_unapproved_proposal_expires_and_changes_nothing(c):
    propose(c, V0, 1, (rec.ADD, NEW.pubkey, ADDR))
    approve(c, V1, 1)
    run_to(c, rec.get_proposal(c.state, pid(1)).effective_height)
    assert status(c, 1) == rec.EXPIRED
    assert NEW.pubkey not in chain.get_validators(c.state)
    assert rec.open_count(c.state, V0.pubkey) == 0
    check(c)


def test_approvals_close_the_block_before_the_change_is_applied(c):
    assert propose(c, V0, 1, (rec.ADD, NEW.pubkey, ADDR), lead=3) == Code.OK  # the least lead: proposal height + 3
    effective = rec.get_proposal(c.state, pid(1)).effective_height
    assert approve(c, V1, 1) == Code.OK  # at effective − 2: the last height that takes approvals
    assert c.height == effective - 2
    assert approve(c, V2, 1) == Code.PROPOSAL_CLOSED  # at effective − 1
    assert status(c, 1) == rec.EXPIRED


def test_a_change_that_no_longer_applies_fails_at_its_height_and_writes_nothing(c):
    effective = approved(c, 1, (rec.ADD, NEW.pubkey, ADDR), lead=8)
    approved(c, 2, (rec.ADD, NEW.pubkey, ADDR), lead=3)  # the same key, earlier
    run_to(c, effective)
    assert status(c, 2) == rec.APPLIED
    p1 = rec.get_proposal(c.state, pid(1))
    assert (p1.status, p1.outcome) == (rec.FAILED, Code.CHANGE_REFUSED)
    assert chain.get_validators(c.state).count(NEW.pubkey) == 1
    check(c)


def test_replace_keeps_the_position_and_moves_the_peer_address(c):
    propose(c, V0, 1, (rec.REPLACE, V2.pubkey, NEWER.pubkey, "wss://v2.example.org:26656"))
    approve(c, V1, 1)
    approve(c, V3, 1)
    run_to(c, rec.get_proposal(c.state, pid(1)).effective_height)
    assert chain.get_validators(c.state) == (V0.pubkey, V1.pubkey, NEWER.pubkey, V3.pubkey)
    assert rec.get_peer(c.state, NEWER.pubkey) == "wss://v2.example.org:26656"
    check(c)


def test_a_parameter_and_every_role_change_by_vote(c):
    changes = [
        (rec.SET_PARAM, "recovery_delay_blocks", 42),
        (rec.AUTHORISE, "registrar", KEYS[8].pubkey, "Registrar Three", ()),
        (rec.AUTHORISE, "issuer", KEYS[8].pubkey, "Issuer Two", ()),
        (rec.AUTHORISE, "attester", KEYS[9].pubkey, "Coop C", ("member:coop-c", "resident:*")),
        (rec.AUTHORISE, "arbiter", KEYS[9].pubkey, "Arbiter", ()),
    ]
    run_to(c, max(approved(c, n, change) for n, change in enumerate(changes)))
    assert chain.get_params(c.state).recovery_delay_blocks == 42
    assert is_registrar(c.state, KEYS[8].pubkey) and credits.is_issuer(c.state, KEYS[8].pubkey)
    assert get_attester(c.state, KEYS[9].pubkey).patterns == ("member:coop-c", "resident:*")
    assert is_arbiter(c.state, KEYS[9].pubkey)
    run_to(c, approved(c, 9, (rec.REVOKE, "registrar", KEYS[8].pubkey), by=(V0, V1, V3)))
    assert not is_registrar(c.state, KEYS[8].pubkey)
    check(c)


def test_a_round_timeout_set_by_vote_is_the_chains_from_its_height_and_back_to_its_six_fields(c):
    """A timeout is a chain parameter (FORMAT.md §6.8): applied by block E − 1's end-of-block step, so the
    state before block E — which the consensus reads for height E — has it; `sys/params` writes the five
    timeouts only while one differs from its default (§9), so setting it back restores the old bytes."""
    before = c.state.get(chain.KEY_PARAMS)
    assert len(decode(before)) == 6
    effective = approved(c, 1, (rec.SET_PARAM, "timeout_propose_ms", 2500))
    run_to(c, effective - 2)
    assert chain.get_params(c.state).timeout_ms(0, 0) == 1000  # the state before block E − 1
    run_to(c, effective - 1)
    params = chain.get_params(c.state)  # the state before block E
    assert (params.timeout_ms(0, 0), params.timeout_ms(0, 2), params.timeout_ms(1, 0)) == (2500, 3500, 500)
    assert decode(c.state.get(chain.KEY_PARAMS)) == (*decode(before), 2500, 500, 500, 500, 10_000)
    check(c)
    run_to(c, approved(c, 2, (rec.SET_PARAM, "timeout_propose_ms", 1000)))
    assert c.state.get(chain.KEY_PARAMS) == before
    check(c)


def test_a_timeout_above_the_cap_is_refused_and_a_lower_cap_below_a_base_too(c):
    assert propose(c, V0, 1, (rec.SET_PARAM, "timeout_propose_ms", 10_001)) == Code.CHANGE_REFUSED  # cap 10000
    assert propose(c, V0, 1, (rec.SET_PARAM, "timeout_propose_ms", 10_000)) == Code.OK  # equal to the cap
    # a change approved first can make a later one fail at its height, writing nothing
    first = approved(c, 2, (rec.SET_PARAM, "timeout_propose_ms", 5000), lead=4)
    late = approved(c, 3, (rec.SET_PARAM, "timeout_max_ms", 2000), lead=8)  # applies to the state it was proposed on
    run_to(c, late)
    assert first < late and chain.get_params(c.state).timeout_propose_ms == 5000
    assert (rec.get_proposal(c.state, pid(3)).status, rec.get_proposal(c.state, pid(3)).outcome) == \
        (rec.FAILED, Code.CHANGE_REFUSED)
    assert chain.get_params(c.state).timeout_max_ms == 10_000
    assert propose(c, V0, 4, (rec.SET_PARAM, "timeout_max_ms", 4999)) == Code.CHANGE_REFUSED  # below propose now
    check(c)


def test_sys_params_written_out_at_default_timeouts_breaks_an_invariant(c):
    """One value, one encoding: the timeouts at their defaults are never stored (FORMAT.md §9)."""
    c.state.items[chain.KEY_PARAMS] = encode((*chain.ChainParams(),))
    with pytest.raises(InvariantBroken, match="canonical"):
        check_federation(c.state, _scan(c))
    c.state.items[chain.KEY_PARAMS] = encode((*chain.ChainParams(timeout_delta_ms=0),))
    with pytest.raises(InvariantBroken, match="timeout_delta_ms"):
        check_federation(c.state, _scan(c))


def test_every_refusal_with_its_code(c):
    assert propose(c, KEYS[0], 1, (rec.ADD, NEW.pubkey, ADDR)) == Code.NOT_VALIDATOR
    assert approve(c, V1, 1) == Code.UNKNOWN_PROPOSAL
    assert c.send(V0, "federation.propose", (pid(1), (rec.ADD, NEW.pubkey, ADDR), c.height + 3)) == \
        Code.EFFECTIVE_HEIGHT_OUT_OF_RANGE  # proposed at c.height + 1: the least is c.height + 4
    assert c.send(V0, "federation.propose", (pid(1), (rec.ADD, NEW.pubkey, ADDR), c.height + 2 + rec.MAX_LEAD_BLOCKS)) \
        == Code.EFFECTIVE_HEIGHT_OUT_OF_RANGE
    assert propose(c, V0, 1, (rec.ADD, V1.pubkey, ADDR)) == Code.CHANGE_REFUSED  # a validator already
    assert propose(c, V0, 1, (rec.REMOVE, NEW.pubkey)) == Code.CHANGE_REFUSED  # not a validator
    assert propose(c, V0, 1, (rec.REPLACE, NEW.pubkey, NEWER.pubkey, ADDR)) == Code.CHANGE_REFUSED
    assert propose(c, V0, 1, (rec.REPLACE, V1.pubkey, V2.pubkey, ADDR)) == Code.CHANGE_REFUSED
    assert propose(c, V0, 1, (rec.SET_PARAM, "max_block_bytes", 1024)) == Code.CHANGE_REFUSED  # below max_tx_bytes
    assert propose(c, V0, 1, (rec.AUTHORISE, "issuer", KEYS[0].pubkey, "x", ()), lead=50) == Code.OK
    assert propose(c, V0, 1, (rec.ADD, NEW.pubkey, ADDR)) == Code.PROPOSAL_EXISTS
    assert approve(c, V0, 1) == Code.ALREADY_APPROVED  # the proposer's proposal is its approval
    approve(c, V1, 1)
    approve(c, V2, 1)
    assert approve(c, V3, 1) == Code.PROPOSAL_CLOSED  # approved already
    for n in range(2, 2 + rec.MAX_OPEN_PER_VALIDATOR - 1):
        assert propose(c, V0, n, (rec.ADD, NEW.pubkey, ADDR), lead=50) == Code.OK
    assert propose(c, V0, 99, (rec.ADD, NEW.pubkey, ADDR), lead=50) == Code.TOO_MANY_OPEN_PROPOSALS
    assert propose(c, V1, 99, (rec.ADD, NEW.pubkey, ADDR), lead=50) == Code.OK  # the limit is per validator
    check(c)


def test_the_set_is_never_emptied():
    c = Chain()  # one validator
    assert propose(c, VALIDATOR, 1, (rec.REMOVE, VALIDATOR.pubkey)) == Code.CHANGE_REFUSED
    assert propose(c, VALIDATOR, 2, (rec.ADD, NEW.pubkey, ADDR)) == Code.OK
    assert status(c, 2) == rec.APPROVED  # one of one is more than two thirds
    run_to(c, rec.get_proposal(c.state, pid(2)).effective_height)
    assert chain.get_validators(c.state) == (VALIDATOR.pubkey, NEW.pubkey)


def test_a_removed_validators_approval_stops_counting(c):
    propose(c, V0, 1, (rec.REMOVE, V3.pubkey), lead=6)
    approve(c, V1, 1)
    approve(c, V2, 1)
    propose(c, V3, 2, (rec.ADD, NEW.pubkey, ADDR), lead=30)  # V3 proposes before it is removed
    run_to(c, rec.get_proposal(c.state, pid(1)).effective_height)
    assert V3.pubkey not in chain.get_validators(c.state)
    assert approve(c, V0, 2) == Code.OK
    assert status(c, 2) == rec.PENDING  # V3 and V0: one of three counts
    assert approve(c, V1, 2) == Code.OK
    assert status(c, 2) == rec.PENDING  # two of three: not more than two thirds
    assert approve(c, V2, 2) == Code.OK
    assert status(c, 2) == rec.APPROVED
    check(c)


MALFORMED = [
    ((pid(1), ("grow", NEW.pubkey), 10), "change"),
    ((pid(1), (rec.ADD, NEW.pubkey), 10), "argument"),
    ((pid(1), (rec.ADD, NEW.pubkey, "http://x:1"), 10), "address"),
    ((pid(1), (rec.ADD, b"short", ADDR), 10), "pubkey"),
    ((pid(1), (rec.REPLACE, NEW.pubkey, NEW.pubkey, ADDR), 10), "two different"),
    ((pid(1), (rec.SET_PARAM, "block_time", 5), 10), "param"),
    ((pid(1), (rec.SET_PARAM, "max_block_txs", 0), 10), "max_block_txs"),
    ((pid(1), (rec.SET_PARAM, "timeout_delta_ms", 0), 10), "timeout_delta_ms"),
    ((pid(1), (rec.SET_PARAM, "timeout_max_ms", 999), 10), "timeout_max_ms"),
    ((pid(1), (rec.SET_PARAM, "timeout_prevote_ms", 600_001), 10), "timeout_prevote_ms"),
    ((pid(1), (rec.SET_PARAM, "timeout_prevote_ms", "500"), 10), "timeout_prevote_ms"),
    ((pid(1), (rec.AUTHORISE, "king", NEW.pubkey, "x", ()), 10), "role"),
    ((pid(1), (rec.AUTHORISE, "issuer", NEW.pubkey, "x", ("member:a",)), 10), "only an attester"),
    ((pid(1), (rec.AUTHORISE, "attester", NEW.pubkey, "x", ()), 10), "attester"),
    ((b"short", (rec.REMOVE, NEW.pubkey), 10), "proposal_id"),
]


@pytest.mark.parametrize(("body", "words"), MALFORMED)
def test_a_malformed_proposal_never_enters_a_block(c, body, words):
    assert c.refused(V0, "federation.propose", body) == Code.MALFORMED


def test_a_forged_set_or_stray_peer_is_caught_by_the_invariants(c):
    c.state.items[rec.peer_key(NEW.pubkey)] = b"\x80"
    with pytest.raises(InvariantBroken):
        check_federation(c.state, _scan(c))


def test_other_validators_are_the_tests_set():
    assert [k.pubkey for k in OTHER_VALIDATORS] == [V1.pubkey, V2.pubkey, V3.pubkey]
